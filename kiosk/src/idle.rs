//! When a kiosk left alone wipes what the last person did: after the idle time without a touch
//! it asks "still there?" and counts the seconds down; a touch in that time carries on, the end of
//! the countdown resets (forms, search, dossier codes, a call, language and text size). The rule,
//! fed with what happened (a touch, the idle time passing, a second passing), so the interface's
//! timers and the tests drive it alike.

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
pub struct Session {
    /// Seconds the question waits.
    warn: u64,
    /// Seconds left while asking.
    left: Option<u64>,
    /// Whether there is a session to wipe (none on the attract screen).
    in_use: bool,
}

impl Session {
    pub fn new(warn_seconds: u64) -> Session {
        Session { warn: warn_seconds.max(1), left: None, in_use: false }
    }

    /// A touch, a key or speech: someone is there. The idle time starts again.
    pub fn touched(&mut self) {
        self.in_use = true;
        self.left = None;
    }

    /// The idle time passed without a touch.
    pub fn quiet(&mut self) -> Idle {
        if !self.in_use {
            return Idle::Active;
        }
        self.left = Some(self.warn);
        Idle::Asking(self.warn)
    }

    /// A second passed while asking.
    pub fn second(&mut self) -> Idle {
        match self.left {
            None => Idle::Active,
            Some(n) if n <= 1 => {
                self.left = None;
                self.in_use = false;
                Idle::Reset
            }
            Some(n) => {
                self.left = Some(n - 1);
                Idle::Asking(n - 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kiosk_left_alone_asks_then_resets_once() {
        let mut s = Session::new(3);
        assert_eq!(s.quiet(), Idle::Active, "nothing to wipe before anyone touched it");
        s.touched();
        assert_eq!(s.quiet(), Idle::Asking(3));
        assert_eq!(s.second(), Idle::Asking(2));
        // A touch while asking carries on.
        s.touched();
        assert_eq!(s.second(), Idle::Active);
        assert_eq!(s.quiet(), Idle::Asking(3));
        assert_eq!((s.second(), s.second(), s.second()), (Idle::Asking(2), Idle::Asking(1), Idle::Reset));
        assert_eq!(s.second(), Idle::Active, "reset once");
        assert_eq!(s.quiet(), Idle::Active, "then back to waiting for someone");
    }
}
