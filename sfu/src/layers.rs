//! Simulcast layers: what each layer of a published track measures, and which one fits a
//! subscriber's link.

use std::time::{Duration, Instant};

use str0m::media::Rid;

/// How far back a layer's bitrate is measured.
const WINDOW: Duration = Duration::from_secs(2);
/// A layer not heard from for this long is treated as paused by its publisher.
const STALE: Duration = Duration::from_millis(1_500);

#[derive(Debug)]
struct Layer {
    rid: Option<Rid>,
    /// Bytes in the current and the previous window.
    bytes: u64,
    prev_bytes: u64,
    window_start: Instant,
    last_seen: Instant,
    /// The bitrate last measured while the layer was flowing, kept for when it is paused.
    last_rate: f64,
}

impl Layer {
    fn roll(&mut self, now: Instant) {
        if now.saturating_duration_since(self.window_start) >= WINDOW {
            let rate = self.bitrate(now);
            if rate > 0.0 {
                self.last_rate = rate;
            }
        }
        while now.saturating_duration_since(self.window_start) >= WINDOW {
            self.prev_bytes = self.bytes;
            self.bytes = 0;
            self.window_start += WINDOW;
            if now.saturating_duration_since(self.window_start) >= WINDOW * 2 {
                self.prev_bytes = 0;
                self.window_start = now;
            }
        }
    }

    fn bitrate(&self, now: Instant) -> f64 {
        let into = now.saturating_duration_since(self.window_start).min(WINDOW);
        // The previous window weighs in for the part of it still inside the last WINDOW.
        let prev_share = 1.0 - into.as_secs_f64() / WINDOW.as_secs_f64();
        let bytes = self.bytes as f64 + self.prev_bytes as f64 * prev_share;
        bytes * 8.0 / WINDOW.as_secs_f64()
    }
}

/// Measures the layers of one published track.
#[derive(Debug, Default)]
pub struct LayerMeter {
    layers: Vec<Layer>,
    /// Layers the publisher was asked to stop sending because nobody watches them. They remain
    /// choices, at the bitrate they last had, so a subscriber can ask for them back.
    paused: Vec<Rid>,
}

impl LayerMeter {
    /// Counts a frame; true when the frame is the first of a layer not seen before.
    pub fn record(&mut self, rid: Option<Rid>, bytes: usize, now: Instant) -> bool {
        if let Some(l) = self.layers.iter_mut().find(|l| l.rid == rid) {
            l.roll(now);
            l.bytes += bytes as u64;
            l.last_seen = now;
            return false;
        }
        self.layers.push(Layer {
            rid,
            bytes: bytes as u64,
            prev_bytes: 0,
            window_start: now,
            last_seen: now,
            last_rate: 0.0,
        });
        true
    }

    /// The simulcast layers seen, in no particular order; empty without simulcast.
    pub fn rids(&self) -> Vec<Rid> {
        self.layers.iter().filter_map(|l| l.rid).collect()
    }

    /// A layer's bitrate in bits per second, if it has been seen.
    pub fn bitrate(&self, rid: Option<Rid>, now: Instant) -> Option<f64> {
        self.layers.iter().find(|l| l.rid == rid).map(|l| l.bitrate(now))
    }

    /// The lowest layer that can be chosen: its rid, `None` without simulcast.
    pub fn lowest(&self, now: Instant) -> Option<Rid> {
        self.live(now).last().and_then(|(rid, _)| *rid)
    }

    /// The best layer being sent: its rid, `None` without simulcast or when nothing is live.
    pub fn best(&self, now: Instant) -> Option<Rid> {
        self.live(now).first().and_then(|(rid, _)| *rid)
    }

    /// The rate of the next layer above `rate` that the subscriber's preference allows, if any.
    pub fn next_above(&self, preferred: Option<Rid>, rate: f64, now: Instant) -> Option<f64> {
        let live = self.live(now);
        let cap = preferred.and_then(|p| live.iter().find(|(r, _)| *r == Some(p)).map(|(_, r)| *r));
        live.iter().rev().map(|(_, r)| *r).find(|r| *r > rate && cap.is_none_or(|c| *r <= c))
    }

    /// Sets the layers paused at the engine's request.
    pub fn set_paused(&mut self, paused: Vec<Rid>) {
        self.paused = paused;
    }

    pub fn paused(&self) -> &[Rid] {
        &self.paused
    }

    /// Layers that can be chosen, with their bitrates, highest first: those heard from recently,
    /// and those paused by request (at the bitrate they last had).
    fn live(&self, now: Instant) -> Vec<(Option<Rid>, f64)> {
        let mut v: Vec<_> = self
            .layers
            .iter()
            .filter_map(|l| {
                let paused = l.rid.is_some_and(|r| self.paused.contains(&r));
                if now.saturating_duration_since(l.last_seen) < STALE {
                    Some((l.rid, l.bitrate(now).max(if paused { l.last_rate } else { 0.0 })))
                } else if paused && l.last_rate > 0.0 {
                    Some((l.rid, l.last_rate))
                } else {
                    None
                }
            })
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v
    }
}

/// The best live layer within `budget` (bits per second) and no better than `preferred`; the
/// lowest live layer when none fits, since a frozen picture is worse than a soft one. `None` when
/// nothing is being sent.
pub fn choose_layer(
    meter: &LayerMeter,
    preferred: Option<Rid>,
    budget: f64,
    now: Instant,
) -> Option<(Option<Rid>, f64)> {
    let live = meter.live(now);
    let cap = preferred.and_then(|p| live.iter().find(|(r, _)| *r == Some(p)).map(|(_, rate)| *rate));
    let allowed: Vec<_> = live.iter().filter(|(_, rate)| cap.is_none_or(|c| *rate <= c)).copied().collect();
    allowed
        .iter()
        .find(|(_, rate)| *rate <= budget)
        .copied()
        .or_else(|| allowed.last().copied())
        .or(live.last().copied())
}

/// How much more than a better layer's bitrate the budget must be before switching up to it, so
/// that a probe or a brief high estimate does not flip layers back and forth.
pub const UPGRADE_HEADROOM: f64 = 1.3;
/// After stepping down, how long before stepping up again.
pub const UPGRADE_HOLD: Duration = Duration::from_secs(8);

/// The layer a subscriber should get next, given the one it is being switched to (`current`) and
/// when it last stepped down: down at once when the budget no longer fits, up only with headroom
/// and not soon after a step down.
pub fn next_layer(
    meter: &LayerMeter,
    preferred: Option<Rid>,
    budget: f64,
    current: Option<Rid>,
    stepped_down_at: Option<Instant>,
    now: Instant,
) -> Option<(Option<Rid>, f64)> {
    let plain = choose_layer(meter, preferred, budget, now)?;
    let current_rate = meter.live(now).into_iter().find(|(r, _)| *r == current).map(|(_, rate)| rate);
    let Some(current_rate) = current_rate else { return Some(plain) };
    if plain.1 <= current_rate {
        return Some(plain);
    }
    if stepped_down_at.is_some_and(|t| now.saturating_duration_since(t) < UPGRADE_HOLD) {
        return Some((current, current_rate));
    }
    let cautious = choose_layer(meter, preferred, budget / UPGRADE_HEADROOM, now)?;
    if cautious.1 > current_rate { Some(cautious) } else { Some((current, current_rate)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three layers at roughly 1.2 Mbit/s, 400 kbit/s and 120 kbit/s, 30 frames a second.
    fn meter(start: Instant) -> (LayerMeter, Instant) {
        let mut m = LayerMeter::default();
        let mut now = start;
        for _ in 0..90 {
            m.record(Some(Rid::from("h")), 5_000, now);
            m.record(Some(Rid::from("m")), 1_667, now);
            m.record(Some(Rid::from("l")), 500, now);
            now += Duration::from_millis(33);
        }
        (m, now)
    }

    #[test]
    fn the_best_layer_that_fits_is_chosen() {
        let (m, now) = meter(Instant::now());
        let pick = |budget: f64, pref: Option<&str>| choose_layer(&m, pref.map(Rid::from), budget, now).unwrap().0;
        assert_eq!(pick(5_000_000.0, None), Some(Rid::from("h")));
        assert_eq!(pick(600_000.0, None), Some(Rid::from("m")));
        assert_eq!(pick(200_000.0, None), Some(Rid::from("l")));
        // Below the lowest layer, the lowest layer still flows.
        assert_eq!(pick(10_000.0, None), Some(Rid::from("l")));
        // A subscriber rendering small never gets more than it asked for.
        assert_eq!(pick(5_000_000.0, Some("m")), Some(Rid::from("m")));
        let rate = m.bitrate(Some(Rid::from("h")), now).unwrap();
        assert!((1_000_000.0..1_400_000.0).contains(&rate), "h measured at {rate}");
    }

    #[test]
    fn stepping_up_needs_headroom_and_waits_after_a_step_down() {
        let (m, now) = meter(Instant::now());
        let (h, md) = (Some(Rid::from("h")), Some(Rid::from("m")));
        let rate_h = m.bitrate(h, now).unwrap();
        let next = |budget: f64, down: Option<Instant>| next_layer(&m, None, budget, md, down, now).unwrap().0;
        // Down at once when the current layer no longer fits.
        assert_eq!(next_layer(&m, None, 200_000.0, md, None, now).unwrap().0, Some(Rid::from("l")));
        // Just enough for the top layer is not enough to switch up to it.
        assert_eq!(next(rate_h * 1.05, None), md);
        assert_eq!(next(rate_h * 1.5, None), h);
        // Not soon after stepping down, whatever the budget.
        assert_eq!(next(rate_h * 3.0, Some(now - Duration::from_secs(2))), md);
        assert_eq!(next(rate_h * 3.0, Some(now - UPGRADE_HOLD)), h);
        // With nothing chosen yet, the best that fits.
        assert_eq!(next_layer(&m, None, rate_h * 1.05, None, None, now).unwrap().0, h);
    }

    #[test]
    fn the_next_layer_up_respects_the_preference() {
        let (m, now) = meter(Instant::now());
        let rate = |rid: &str| m.bitrate(Some(Rid::from(rid)), now).unwrap();
        assert_eq!(m.next_above(None, rate("l"), now), Some(rate("m")));
        assert_eq!(m.next_above(None, rate("m"), now), Some(rate("h")));
        assert_eq!(m.next_above(None, rate("h"), now), None);
        assert_eq!(m.next_above(Some(Rid::from("m")), rate("m"), now), None);
    }

    #[test]
    fn a_layer_the_publisher_stopped_is_not_chosen() {
        let (mut m, mut now) = meter(Instant::now());
        for _ in 0..60 {
            m.record(Some(Rid::from("m")), 1_667, now);
            m.record(Some(Rid::from("l")), 500, now);
            now += Duration::from_millis(33);
        }
        assert_eq!(choose_layer(&m, None, 5_000_000.0, now).unwrap().0, Some(Rid::from("m")));
    }

    #[test]
    fn a_track_without_simulcast_has_one_layer() {
        let mut m = LayerMeter::default();
        let now = Instant::now();
        assert!(m.record(None, 1_000, now));
        assert!(!m.record(None, 1_000, now));
        assert!(m.rids().is_empty());
        assert_eq!(choose_layer(&m, None, 0.0, now).unwrap().0, None);
    }
}
