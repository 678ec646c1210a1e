//! Following objects from one analysed frame to the next, so an object seen on several frames is
//! counted once, in the manner of ByteTrack: each track predicts where its object will be from the
//! way it was moving; the confident detections are paired with the tracks of their kind first,
//! all at once so that the pairs are as close as they can be together (the Hungarian method), the
//! doubtful ones (down to half the confidence that counts) may then only carry on a track left
//! unpaired (a person half hidden by a passing bus stays the same person) and never start one;
//! tracks unseen for a few frames end. Pairs are judged by centres, within a distance relative to
//! the object's size, rather than by overlapping boxes: at the low analysis rates used here (one
//! frame every second or two) a walking person's boxes do not overlap from one frame to the next.
//! A track that moves across a counting line is counted once in each direction
//! ([`Step::crossed`]).
//!
//! And the motion gate: a small grey thumbnail of each analysed frame, compared with the last, so
//! an unchanged scene skips the detector.

use geo::Coord;
use image::{GrayImage, RgbImage, imageops};
use pathfinding::prelude::{Matrix, kuhn_munkres};

use super::area::{Area, standing};
use super::detect::{Detection, Kind};

/// How far an object may be from where its track expected it, in multiples of its box's
/// diagonal.
const REACH: f32 = 1.5;
/// Frames a track survives unseen.
const MAX_MISSES: u32 = 2;
/// How much of a new step a track's velocity takes in (the rest is the velocity it had).
const SMOOTHING: f32 = 0.6;

/// The least confidence a detection needs to carry on a track, given the least that counts.
pub fn doubtful(min_score: f32) -> f32 {
    min_score / 2.0
}

#[derive(Debug, Clone)]
struct Track {
    kind: Kind,
    centre: (f32, f32),
    /// How far it moved per analysed frame, in pixels.
    velocity: (f32, f32),
    size: f32,
    misses: u32,
    /// Where it stood, as a fraction of the picture.
    at: Coord<f64>,
    /// The lines it has crossed, and which way (`true` forward): each counted once.
    crossed: Vec<(usize, bool)>,
}

impl Track {
    /// Where the object should be now.
    fn expected(&self) -> (f32, f32) {
        let frames = (self.misses + 1) as f32;
        (self.centre.0 + self.velocity.0 * frames, self.centre.1 + self.velocity.1 * frames)
    }

    /// How far `d` is from where this track expected its object, as a share of the reach allowed
    /// (within reach up to 1); `None` for another kind or beyond reach.
    fn distance(&self, d: &Detection) -> Option<f32> {
        if self.kind != d.kind {
            return None;
        }
        let (x, y) = self.expected();
        let c = d.centre();
        let gap = ((x - c.0).powi(2) + (y - c.1).powi(2)).sqrt();
        let reach = REACH * diagonal(d).max(self.size);
        (gap <= reach).then_some(gap / reach)
    }
}

fn diagonal(d: &Detection) -> f32 {
    ((d.bbox[2] - d.bbox[0]).powi(2) + (d.bbox[3] - d.bbox[1]).powi(2)).sqrt().max(1.0)
}

/// Pairs `tracks` (indices into `all`) with `found` (indices into `detections`) so that as many
/// pairs as can be are made, and of those the closest; returns (track, detection) pairs.
fn pair(all: &[Track], tracks: &[usize], detections: &[Detection], found: &[usize]) -> Vec<(usize, usize)> {
    if tracks.is_empty() || found.is_empty() {
        return Vec::new();
    }
    // Weights to maximise: every pair within reach outweighs any closeness, so the count of
    // pairs comes first; out of reach weighs nothing and is dropped afterwards.
    let weight = |t: usize, d: usize| match all[t].distance(&detections[d]) {
        Some(share) => 1_000_000 - (share * 1000.0).round() as i64,
        None => 0,
    };
    let mut pairs = Vec::new();
    if tracks.len() <= found.len() {
        let m = Matrix::from_fn(tracks.len(), found.len(), |(r, c)| weight(tracks[r], found[c]));
        let (_, to) = kuhn_munkres(&m);
        for (r, c) in to.into_iter().enumerate() {
            if m[(r, c)] > 0 {
                pairs.push((tracks[r], found[c]));
            }
        }
    } else {
        let m = Matrix::from_fn(found.len(), tracks.len(), |(r, c)| weight(tracks[c], found[r]));
        let (_, to) = kuhn_munkres(&m);
        for (r, c) in to.into_iter().enumerate() {
            if m[(r, c)] > 0 {
                pairs.push((tracks[c], found[r]));
            }
        }
    }
    pairs
}

#[derive(Debug, Default)]
pub struct Tracker {
    tracks: Vec<Track>,
}

/// What one frame added.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    /// The detections that stand for objects: the confident ones, and the doubtful ones that
    /// carried on a track.
    pub kept: Vec<Detection>,
    /// Objects that appeared for the first time, by [`Kind::index`].
    pub appeared: [u32; 6],
    /// Lines crossed for the first time by an object in that direction: (area, kind, forward).
    pub crossed: Vec<(usize, Kind, bool)>,
}

impl Tracker {
    /// Takes one frame's detections in a picture of `size` pixels, with the camera's `areas`;
    /// detections under `min_score` only carry on tracks.
    pub fn update(&mut self, detections: &[Detection], min_score: f32, size: (u32, u32), areas: &[Area]) -> Step {
        let mut step = Step::default();
        let (sure, unsure): (Vec<usize>, Vec<usize>) =
            (0..detections.len()).partition(|&i| detections[i].score >= min_score);
        let live: Vec<usize> = (0..self.tracks.len()).collect();
        let mut pairs = pair(&self.tracks, &live, detections, &sure);
        let left: Vec<usize> = live.into_iter().filter(|t| !pairs.iter().any(|p| p.0 == *t)).collect();
        pairs.extend(pair(&self.tracks, &left, detections, &unsure));

        let mut seen = vec![false; self.tracks.len()];
        for &(i, d) in &pairs {
            seen[i] = true;
            let d = &detections[d];
            let at = standing(d, size);
            let t = &mut self.tracks[i];
            for (a, area) in areas.iter().enumerate() {
                if let Some(forward) = area.crossed(t.at, at)
                    && !t.crossed.contains(&(a, forward))
                {
                    t.crossed.push((a, forward));
                    step.crossed.push((a, t.kind, forward));
                }
            }
            let c = d.centre();
            let frames = (t.misses + 1) as f32;
            let moved = ((c.0 - t.centre.0) / frames, (c.1 - t.centre.1) / frames);
            t.velocity = (
                SMOOTHING * moved.0 + (1.0 - SMOOTHING) * t.velocity.0,
                SMOOTHING * moved.1 + (1.0 - SMOOTHING) * t.velocity.1,
            );
            t.centre = c;
            t.size = diagonal(d);
            t.misses = 0;
            t.at = at;
            step.kept.push(*d);
        }
        for (t, seen) in self.tracks.iter_mut().zip(&seen) {
            if !seen {
                t.misses += 1;
            }
        }
        self.tracks.retain(|t| t.misses <= MAX_MISSES);
        // Confident detections no track took are new objects.
        for &d in &sure {
            if pairs.iter().any(|p| p.1 == d) {
                continue;
            }
            let d = &detections[d];
            step.appeared[d.kind.index()] += 1;
            self.tracks.push(Track {
                kind: d.kind,
                centre: d.centre(),
                velocity: (0.0, 0.0),
                size: diagonal(d),
                misses: 0,
                at: standing(d, size),
                crossed: Vec::new(),
            });
            step.kept.push(*d);
        }
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
    const MIN: f32 = 0.35;

    fn appeared(t: &mut Tracker, seen: &[Detection]) -> [u32; 6] {
        t.update(seen, MIN, SIZE, &[]).appeared
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
            t.update(&[person(a), lower], MIN, SIZE, &areas).crossed
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
    fn a_walker_is_followed_where_it_was_heading() {
        // Faster each frame: the last step (170 px) is beyond reach of where it stood (161 px),
        // not of where it was heading.
        let mut t = Tracker::default();
        let seen: Vec<u32> =
            [0.0, 140.0, 290.0, 450.0, 620.0].iter().map(|&x| appeared(&mut t, &[person(x)])[0]).collect();
        assert_eq!(seen, [1, 0, 0, 0, 0]);
        // Standing still where the walk would have gone on: too far from where it was heading.
        let mut t = Tracker::default();
        for x in [0.0, 150.0, 300.0] {
            appeared(&mut t, &[person(x)]);
        }
        assert_eq!(appeared(&mut t, &[person(300.0), person(900.0)])[0], 1);
    }

    #[test]
    fn pairs_are_made_all_at_once() {
        // Two people at 100 and 220. The confident one now at 150 is nearer the first, but the
        // one at 0 can only be the first: taking the nearest first would count a newcomer.
        let mut t = Tracker::default();
        appeared(&mut t, &[person(100.0), person(220.0)]);
        let doubtful = Detection { score: 0.5, ..person(0.0) };
        assert_eq!(appeared(&mut t, &[person(150.0), doubtful])[0], 0);
    }

    #[test]
    fn doubtful_detections_carry_on_tracks_and_start_none() {
        let faint = |x| Detection { score: 0.2, ..person(x) };
        let mut t = Tracker::default();
        let step = t.update(&[faint(100.0)], MIN, SIZE, &[]);
        assert_eq!((step.appeared[0], step.kept.len()), (0, 0), "a faint box alone is nobody");
        assert_eq!(appeared(&mut t, &[person(100.0)])[0], 1);
        let step = t.update(&[faint(120.0)], MIN, SIZE, &[]);
        assert_eq!((step.appeared[0], step.kept.len()), (0, 1), "the same person, half hidden");
        // Still the same track afterwards, confident again.
        assert_eq!(appeared(&mut t, &[person(140.0)])[0], 0);
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
