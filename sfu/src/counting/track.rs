//! Following objects from one analysed frame to the next, so an object seen on several frames is
//! counted once: each detection joins the nearest live track of its kind (by centre, within a
//! distance relative to its size) or starts a new one; tracks unseen for a few frames end. This
//! centroid matching holds at the low analysis rates used here (one frame every second or two),
//! where trackers that predict motion frame to frame lose their objects.
//!
//! And the motion gate: a small grey thumbnail of each analysed frame, compared with the last, so
//! an unchanged scene skips the detector.

use image::{GrayImage, RgbImage, imageops};

use super::detect::{Detection, Kind};

/// How far an object may move between analysed frames, in multiples of its box's diagonal.
const REACH: f32 = 1.5;
/// Frames a track survives unseen.
const MAX_MISSES: u32 = 2;

#[derive(Debug, Clone)]
struct Track {
    kind: Kind,
    centre: (f32, f32),
    size: f32,
    misses: u32,
}

#[derive(Debug, Default)]
pub struct Tracker {
    tracks: Vec<Track>,
}

impl Tracker {
    /// Takes one frame's detections; returns how many objects of each kind appeared for the first
    /// time, by [`Kind::index`].
    pub fn update(&mut self, detections: &[Detection]) -> [u32; 6] {
        let mut new = [0u32; 6];
        let mut matched = vec![false; self.tracks.len()];
        // Most confident first, so a crowded scene pairs the clear cases before the doubtful.
        let mut order: Vec<&Detection> = detections.iter().collect();
        order.sort_by(|a, b| b.score.total_cmp(&a.score));
        for d in order {
            let c = d.centre();
            let size = ((d.bbox[2] - d.bbox[0]).powi(2) + (d.bbox[3] - d.bbox[1]).powi(2)).sqrt().max(1.0);
            let best = self
                .tracks
                .iter()
                .enumerate()
                .filter(|(i, t)| !matched[*i] && t.kind == d.kind)
                .map(|(i, t)| (i, ((t.centre.0 - c.0).powi(2) + (t.centre.1 - c.1).powi(2)).sqrt(), t.size))
                .filter(|(_, dist, tsize)| *dist <= REACH * size.max(*tsize))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            match best {
                Some((i, _, _)) => {
                    matched[i] = true;
                    let t = &mut self.tracks[i];
                    t.centre = c;
                    t.size = size;
                    t.misses = 0;
                }
                None => {
                    new[d.kind.index()] += 1;
                    self.tracks.push(Track { kind: d.kind, centre: c, size, misses: 0 });
                    matched.push(true);
                }
            }
        }
        for (t, seen) in self.tracks.iter_mut().zip(&matched) {
            if !seen {
                t.misses += 1;
            }
        }
        self.tracks.retain(|t| t.misses <= MAX_MISSES);
        new
    }
}

/// The side of the thumbnail compared for motion.
const THUMB: (u32, u32) = (64, 36);
/// A thumbnail pixel changed by more than this (of 255) counts as moved.
const PIXEL_CHANGE: u8 = 24;

/// A small grey copy of a frame, for telling whether anything moved.
pub fn thumbnail(picture: &RgbImage) -> GrayImage {
    let grey = imageops::grayscale(picture);
    imageops::resize(&grey, THUMB.0, THUMB.1, imageops::FilterType::Triangle)
}

/// The share of the picture that changed between two thumbnails (0 to 1).
pub fn motion(before: &GrayImage, now: &GrayImage) -> f32 {
    let changed = before.pixels().zip(now.pixels()).filter(|(a, b)| a[0].abs_diff(b[0]) > PIXEL_CHANGE).count();
    changed as f32 / (THUMB.0 * THUMB.1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(x: f32) -> Detection {
        Detection { kind: Kind::Person, score: 0.8, bbox: [x, 100.0, x + 40.0, 200.0] }
    }

    #[test]
    fn an_object_seen_again_nearby_is_counted_once() {
        let mut t = Tracker::default();
        assert_eq!(t.update(&[person(100.0), person(400.0)])[0], 2);
        // Both walked a little; nothing new.
        assert_eq!(t.update(&[person(130.0), person(420.0)])[0], 0);
        // A third one far from both.
        assert_eq!(t.update(&[person(130.0), person(420.0), person(800.0)])[0], 1);
        // A car where a person was is a new object of another kind.
        let car = Detection { kind: Kind::Car, ..person(130.0) };
        assert_eq!(t.update(&[car])[Kind::Car.index()], 1);
    }

    #[test]
    fn a_track_unseen_for_long_ends() {
        let mut t = Tracker::default();
        t.update(&[person(100.0)]);
        for _ in 0..=MAX_MISSES {
            t.update(&[]);
        }
        assert_eq!(t.update(&[person(100.0)])[0], 1, "back after the track ended: counted again");
    }

    #[test]
    fn the_motion_gate_sees_change_and_ignores_sameness() {
        let a = RgbImage::from_pixel(640, 360, image::Rgb([90, 90, 90]));
        let mut b = a.clone();
        assert_eq!(motion(&thumbnail(&a), &thumbnail(&b)), 0.0);
        for x in 0..320 {
            for y in 0..360 {
                b.put_pixel(x, y, image::Rgb([250, 250, 250]));
            }
        }
        let m = motion(&thumbnail(&a), &thumbnail(&b));
        assert!((0.45..0.55).contains(&m), "half the picture changed: {m}");
    }
}
