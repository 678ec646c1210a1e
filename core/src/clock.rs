//! Time as an input: the code asks a clock, so tests can set the time.

use std::sync::Mutex;

use time::OffsetDateTime;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stays where it is set: for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    pub fn advance(&self, by: time::Duration) {
        let mut t = self.0.lock().expect("clock lock is never held across a panic");
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().expect("clock lock is never held across a panic")
    }
}
