//! Following objects from one analysed frame to the next, so an object seen on several frames is
//! counted once: each detection joins the nearest live track of its kind (by centre, within a
//! distance relative to its size) or starts a new one; tracks unseen for a few frames end. This
//! centroid matching holds at the low analysis rates used here (one frame every second or two),
//! where trackers that predict motion frame to frame lose their objects. A track that moves
//! across a counting line is counted once in each direction ([`Step::crossed`]).
//!
//! And the motion gate: a small grey thumbnail of each analysed frame, compared with the last, so
//! an unchanged scene skips the detector.

use geo::Coord;
use image::{GrayImage, RgbImage, imageops};

use super::area::{Area, standing};
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
    /// Where it stood, as a fraction of the picture.
    at: Coord<f64>,
    /// The lines it has crossed, and which way (`true` forward): each counted once.
    crossed: Vec<(usize, bool)>,
}

#[derive(Debug, Default)]
pub struct Tracker {
    tracks: Vec<Track>,
}

/// What one frame added.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    /// Objects that appeared for the first time, by [`Kind::index`].
    pub appeared: [u32; 6],
    /// Lines crossed for the first time by an object in that direction: (area, kind, forward).
    pub crossed: Vec<(usize, Kind, bool)>,
}

impl Tracker {
    /// Takes one frame's detections in a picture of `size` pixels, with the camera's `areas`.
    pub fn update(&mut self, detections: &[Detection], size: (u32, u32), areas: &[Area]) -> Step {
        let mut step = Step::default();
        let mut matched = vec![false; self.tracks.len()];
        // Most confident first, so a crowded scene pairs the clear cases before the doubtful.
        let mut order: Vec<&Detection> = detections.iter().collect();
        order.sort_by(|a, b| b.score.total_cmp(&a.score));
        for d in order {
            let c = d.centre();
            let diagonal = ((d.bbox[2] - d.bbox[0]).powi(2) + (d.bbox[3] - d.bbox[1]).powi(2)).sqrt().max(1.0);
            let best = self
                .tracks
                .iter()
                .enumerate()
                .filter(|(i, t)| !matched[*i] && t.kind == d.kind)
                .map(|(i, t)| (i, ((t.centre.0 - c.0).powi(2) + (t.centre.1 - c.1).powi(2)).sqrt(), t.size))
                .filter(|(_, dist, tsize)| *dist <= REACH * diagonal.max(*tsize))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let at = standing(d, size);
            match best {
                Some((i, _, _)) => {
                    matched[i] = true;
                    let t = &mut self.tracks[i];
                    for (a, area) in areas.iter().enumerate() {
                        if let Some(forward) = area.crossed(t.at, at)
                            && !t.crossed.contains(&(a, forward))
                        {
                            t.crossed.push((a, forward));
                            step.crossed.push((a, t.kind, forward));
                        }
                    }
                    t.centre = c;
                    t.size = diagonal;
                    t.misses = 0;
                    t.at = at;
                }
                None => {
                    step.appeared[d.kind.index()] += 1;
                    self.tracks.push(Track {
                        kind: d.kind,
                        centre: c,
                        size: diagonal,
                        misses: 0,
                        at,
                        crossed: Vec::new(),
                    });
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
        step
    }

    /// Forgets which lines were crossed, for when the camera's areas change.
    pub fn forget_crossings(&mut self) {
        for t in &mut self.tracks {
            t.crossed.clear();
        }
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

    const SIZE: (u32, u32) = (1000, 400);

    fn appeared(t: &mut Tracker, seen: &[Detection]) -> [u32; 6] {
        t.update(seen, SIZE, &[]).appeared
    }

    #[test]
    fn an_object_seen_again_nearby_is_counted_once() {
        let mut t = Tracker::default();
        assert_eq!(appeared(&mut t, &[person(100.0), person(400.0)])[0], 2);
        // Both walked a little; nothing new.
        assert_eq!(appeared(&mut t, &[person(130.0), person(420.0)])[0], 0);
        // A third one far from both.
        assert_eq!(appeared(&mut t, &[person(130.0), person(420.0), person(800.0)])[0], 1);
        // A car where a person was is a new object of another kind.
        let car = Detection { kind: Kind::Car, ..person(130.0) };
        assert_eq!(appeared(&mut t, &[car])[Kind::Car.index()], 1);
    }

    #[test]
    fn a_track_unseen_for_long_ends() {
        let mut t = Tracker::default();
        appeared(&mut t, &[person(100.0)]);
        for _ in 0..=MAX_MISSES {
            appeared(&mut t, &[]);
        }
        assert_eq!(appeared(&mut t, &[person(100.0)])[0], 1, "back after the track ended: counted again");
    }

    #[test]
    fn a_line_crossing_counts_once_per_object_and_direction() {
        // A line down the middle, drawn top to bottom: going left is forward.
        let areas = [Area::line("middle", &[[0.5, 0.0], [0.5, 1.0]]).unwrap()];
        let mut t = Tracker::default();
        // Two people, one above the other, each standing 20 px right of `x`.
        let walk = |t: &mut Tracker, (a, b): (f32, f32)| {
            let lower = Detection { bbox: [b, 250.0, b + 40.0, 350.0], ..person(0.0) };
            t.update(&[person(a), lower], SIZE, &areas).crossed
        };
        let crossed = |forward| vec![(0, Kind::Person, forward)];
        assert!(walk(&mut t, (400.0, 900.0)).is_empty());
        // The upper one walks right across it.
        assert_eq!(walk(&mut t, (520.0, 800.0)), crossed(false));
        assert!(walk(&mut t, (540.0, 700.0)).is_empty());
        assert!(walk(&mut t, (560.0, 600.0)).is_empty());
        // And back.
        assert_eq!(walk(&mut t, (460.0, 560.0)), crossed(true));
        // The lower one crosses going left; the upper dithers over the line, counted already.
        assert_eq!(walk(&mut t, (540.0, 440.0)), crossed(true));
        assert!(walk(&mut t, (460.0, 400.0)).is_empty());
        // When the lines change, crossings count afresh.
        t.forget_crossings();
        assert_eq!(walk(&mut t, (540.0, 360.0)), crossed(false));
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
