//! When a kiosk left alone wipes what the last person did: after `idle` without a touch it asks
//! "still there?" and counts down `warn`; a touch in that time carries on, the end of it resets
//! (forms, search, dossier codes, a call, language and text size). Time is an input, so the
//! controller and the tests drive it alike.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// Someone is using it, or it waits on its attract screen.
    Active,
    /// Asking whether anyone is still there: whole seconds left.
    Asking(u64),
    /// Time is up: wipe the session now.
    Reset,
}

#[derive(Debug, Clone)]
pub struct IdleTimer {
    idle: Duration,
    warn: Duration,
    last_touch: Instant,
    /// Whether there is a session to wipe (none on the attract screen).
    in_use: bool,
}

impl IdleTimer {
    pub fn new(idle: Duration, warn: Duration, now: Instant) -> IdleTimer {
        IdleTimer { idle, warn, last_touch: now, in_use: false }
    }

    /// A touch, a key or speech: someone is there.
    pub fn touched(&mut self, now: Instant) {
        self.last_touch = now;
        self.in_use = true;
    }

    /// Where things stand at `now`. After `Reset` the timer waits for the next touch.
    pub fn check(&mut self, now: Instant) -> Idle {
        if !self.in_use {
            return Idle::Active;
        }
        let quiet = now.saturating_duration_since(self.last_touch);
        if quiet < self.idle {
            return Idle::Active;
        }
        let asked = quiet - self.idle;
        if asked < self.warn {
            // Rounded up: "10" shows for the whole first second.
            let left = self.warn - asked;
            return Idle::Asking(left.as_secs() + u64::from(left.subsec_nanos() > 0));
        }
        self.in_use = false;
        Idle::Reset
    }

    pub fn set_times(&mut self, idle: Duration, warn: Duration) {
        self.idle = idle;
        self.warn = warn;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kiosk_left_alone_asks_then_resets_once() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut t = IdleTimer::new(s(60), s(10), t0);
        assert_eq!(t.check(t0 + s(600)), Idle::Active, "nothing to wipe before anyone touched it");
        t.touched(t0);
        assert_eq!(t.check(t0 + s(59)), Idle::Active);
        assert_eq!(t.check(t0 + s(60)), Idle::Asking(10));
        assert_eq!(t.check(t0 + s(65) + Duration::from_millis(500)), Idle::Asking(5));
        // A touch while asking carries on.
        t.touched(t0 + s(66));
        assert_eq!(t.check(t0 + s(70)), Idle::Active);
        assert_eq!(t.check(t0 + s(126)), Idle::Asking(10));
        assert_eq!(t.check(t0 + s(136)), Idle::Reset);
        assert_eq!(t.check(t0 + s(137)), Idle::Active, "reset once, then back to waiting");
    }
}
