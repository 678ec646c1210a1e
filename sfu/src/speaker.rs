//! Active speaker: the participant whose audio, by the RTP audio-level extension (RFC 6464), has
//! been loudest over the last moment, with some stickiness so the view does not flicker.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::engine::PeerId;

/// How often the room's speaker is decided.
pub const DECISION_INTERVAL: Duration = Duration::from_millis(300);
/// How far back levels count.
const WINDOW: Duration = Duration::from_millis(1_000);
/// Quieter than this (dBov) is silence.
const SILENCE: f64 = -55.0;
/// A challenger must be this much louder (dB) to take over from a speaker still talking.
const MARGIN: f64 = 4.0;

#[derive(Debug, Default)]
pub struct SpeakerDetector {
    levels: HashMap<PeerId, Vec<(Instant, f64)>>,
    current: Option<PeerId>,
    last_decision: Option<Instant>,
}

impl SpeakerDetector {
    /// One audio packet's level, in negative dBov as str0m reports it (0 is loudest).
    pub fn record(&mut self, peer: PeerId, level: i8, now: Instant) {
        let db = -f64::from(level.unsigned_abs().min(127));
        let v = self.levels.entry(peer).or_default();
        v.push((now, db));
        if v.len() > 256 {
            v.drain(..128);
        }
    }

    fn loudness(&self, peer: PeerId, now: Instant) -> Option<f64> {
        let v = self.levels.get(&peer)?;
        let recent: Vec<f64> =
            v.iter().filter(|(t, _)| now.saturating_duration_since(*t) < WINDOW).map(|(_, d)| *d).collect();
        if recent.is_empty() {
            return None;
        }
        // Mean of the louder half: speech is bursty, and pauses between words should not count.
        let mut sorted = recent;
        sorted.sort_by(|a, b| b.total_cmp(a));
        let half = sorted.len().div_ceil(2);
        Some(sorted[..half].iter().sum::<f64>() / half as f64)
    }

    /// The new active speaker when it changed since the last decision (`Some(None)`: nobody).
    pub fn decide(&mut self, now: Instant) -> Option<Option<PeerId>> {
        if self.last_decision.is_some_and(|t| now.saturating_duration_since(t) < DECISION_INTERVAL) {
            return None;
        }
        self.last_decision = Some(now);
        self.levels.retain(|_, v| v.last().is_some_and(|(t, _)| now.saturating_duration_since(*t) < WINDOW * 5));
        let mut loudest: Option<(PeerId, f64)> = None;
        for &peer in self.levels.keys() {
            if let Some(l) = self.loudness(peer, now)
                && l > SILENCE
                && loudest.is_none_or(|(p, best)| l > best || (l == best && peer < p))
            {
                loudest = Some((peer, l));
            }
        }
        let current_level = self.current.and_then(|c| self.loudness(c, now)).filter(|l| *l > SILENCE);
        let next = match (loudest, current_level) {
            (None, None) => None,
            (None, Some(_)) => self.current,
            (Some((p, _)), None) => Some(p),
            (Some((p, l)), Some(c)) => {
                if l > c + MARGIN {
                    Some(p)
                } else {
                    self.current
                }
            }
        };
        if next != self.current {
            self.current = next;
            Some(next)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn talk(d: &mut SpeakerDetector, peer: u64, level: i8, from: Instant, ms: u64) {
        for i in 0..ms / 20 {
            d.record(PeerId(peer), level, from + Duration::from_millis(i * 20));
        }
    }

    #[test]
    fn the_loudest_participant_becomes_the_speaker_and_stays_while_talking() {
        let mut d = SpeakerDetector::default();
        let t0 = Instant::now();
        talk(&mut d, 1, 30, t0, 1_000);
        talk(&mut d, 2, 70, t0, 1_000);
        assert_eq!(d.decide(t0 + Duration::from_millis(1_000)), Some(Some(PeerId(1))));
        // A slightly louder second voice does not steal the floor...
        let t1 = t0 + Duration::from_millis(1_000);
        talk(&mut d, 1, 30, t1, 1_000);
        talk(&mut d, 2, 28, t1, 1_000);
        assert_eq!(d.decide(t1 + Duration::from_millis(1_000)), None);
        // ...but when the speaker falls silent, the other takes over.
        let t2 = t1 + Duration::from_millis(1_000);
        talk(&mut d, 1, 127, t2, 1_000);
        talk(&mut d, 2, 28, t2, 1_000);
        assert_eq!(d.decide(t2 + Duration::from_millis(1_000)), Some(Some(PeerId(2))));
        // Everybody silent: nobody.
        let t3 = t2 + Duration::from_millis(1_000);
        talk(&mut d, 1, 127, t3, 1_000);
        talk(&mut d, 2, 127, t3, 1_000);
        assert_eq!(d.decide(t3 + Duration::from_millis(1_000)), Some(None));
    }
}
