//! Where in a camera's picture counting looks closer: zones (polygons) whose occupancy is counted
//! kind by kind, and lines whose crossings are counted once per object and direction.
//!
//! Points are fractions of the picture (0 to 1, x to the right, y down), so an area holds whatever
//! size the camera sends. An object stands where the bottom middle of its box is: the feet of a
//! person, the wheels of a vehicle.
//!
//! A line from A to B counts an object crossing to the side B→A turned clockwise on the picture as
//! `forward`: a line drawn from left to right counts objects going down the picture as forward.

use geo::{Contains, Coord, Line, LineString, Point, Polygon, line_intersection::line_intersection};

use super::detect::Detection;

/// A zone or a line.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Zone(Polygon<f64>),
    Line(Line<f64>),
}

/// A named zone or line of a camera.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub name: String,
    pub shape: Shape,
    /// For a zone: how many people in it make a crowd. Counting carries it to whoever reads the
    /// observations.
    pub crowd_people: Option<u32>,
}

impl Area {
    /// A zone with corners in order around it; `None` with fewer than 3. (The core checks areas
    /// where people enter them: points within the picture, zones not flat, lines not points.)
    pub fn zone(name: &str, points: &[[f64; 2]], crowd_people: Option<u32>) -> Option<Area> {
        if points.len() < 3 {
            return None;
        }
        let ring: LineString<f64> = points.iter().map(|p| Coord { x: p[0], y: p[1] }).collect();
        Some(Area { name: name.to_string(), shape: Shape::Zone(Polygon::new(ring, vec![])), crowd_people })
    }

    /// A line from A to B; `None` unless two points are given.
    pub fn line(name: &str, points: &[[f64; 2]]) -> Option<Area> {
        let [a, b] = points else { return None };
        let line = Line::new(Coord { x: a[0], y: a[1] }, Coord { x: b[0], y: b[1] });
        Some(Area { name: name.to_string(), shape: Shape::Line(line), crowd_people: None })
    }

    /// Whether a point of the picture is in this zone (never in a line).
    pub fn holds(&self, at: Coord<f64>) -> bool {
        match &self.shape {
            Shape::Zone(p) => p.contains(&Point(at)),
            Shape::Line(_) => false,
        }
    }

    /// Whether a move from `from` to `to` crosses this line: `Some(true)` forward, `Some(false)`
    /// back.
    pub fn crossed(&self, from: Coord<f64>, to: Coord<f64>) -> Option<bool> {
        let Shape::Line(line) = &self.shape else { return None };
        let side = |p: Coord<f64>| {
            let (d, v) = (line.delta(), p - line.start);
            d.x * v.y - d.y * v.x
        };
        // The forward side, and the rest with the line itself: every move across is counted
        // once, also one that stops on the line on the way.
        let (before, after) = (side(from) > 0.0, side(to) > 0.0);
        if before == after {
            return None;
        }
        line_intersection(*line, Line::new(from, to))?;
        Some(after)
    }
}

/// Where an object stands in a picture of `size` pixels, as fractions of it.
pub fn standing(d: &Detection, size: (u32, u32)) -> Coord<f64> {
    let x = f64::from(d.bbox[0] + d.bbox[2]) / 2.0 / f64::from(size.0.max(1));
    let y = f64::from(d.bbox[3]) / f64::from(size.1.max(1));
    Coord { x: x.clamp(0.0, 1.0), y: y.clamp(0.0, 1.0) }
}

/// What one analysed frame showed in one area, by kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AreaCount {
    /// Objects standing in the zone.
    pub in_view: [u32; 6],
    /// Objects that crossed the line forward since the last analysed frame.
    pub forward: [u32; 6],
    /// And back.
    pub back: [u32; 6],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn zones_and_lines_need_their_points() {
        assert_eq!(Area::zone("z", &[[0.0, 0.0], [1.0, 0.0]], None), None);
        assert_eq!(Area::line("l", &[[0.2, 0.2]]), None);
        assert!(Area::line("l", &[[0.0, 0.5], [1.0, 0.5]]).is_some());
    }

    #[test]
    fn a_zone_holds_what_stands_in_it() {
        let left = Area::zone("left", &[[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]], None).unwrap();
        assert!(left.holds(at(0.25, 0.5)));
        assert!(!left.holds(at(0.75, 0.5)));
        let line = Area::line("l", &[[0.0, 0.5], [1.0, 0.5]]).unwrap();
        assert!(!line.holds(at(0.5, 0.5)));
    }

    #[test]
    fn a_line_drawn_left_to_right_counts_going_down_as_forward() {
        let line = Area::line("l", &[[0.2, 0.5], [0.8, 0.5]]).unwrap();
        assert_eq!(line.crossed(at(0.5, 0.3), at(0.5, 0.7)), Some(true));
        assert_eq!(line.crossed(at(0.5, 0.7), at(0.5, 0.3)), Some(false));
        // Beside the line's ends, or not across it: nothing.
        assert_eq!(line.crossed(at(0.1, 0.3), at(0.1, 0.7)), None);
        assert_eq!(line.crossed(at(0.5, 0.3), at(0.6, 0.4)), None);
        // Stopping on the line and going on crosses it once.
        assert_eq!(line.crossed(at(0.5, 0.3), at(0.5, 0.5)), None);
        assert_eq!(line.crossed(at(0.5, 0.5), at(0.5, 0.7)), Some(true));
        // A line drawn the other way counts the other way.
        let back = Area::line("l", &[[0.8, 0.5], [0.2, 0.5]]).unwrap();
        assert_eq!(back.crossed(at(0.5, 0.3), at(0.5, 0.7)), Some(false));
        // Top to bottom: going left is forward.
        let down = Area::line("l", &[[0.5, 0.0], [0.5, 1.0]]).unwrap();
        assert_eq!(down.crossed(at(0.7, 0.5), at(0.3, 0.5)), Some(true));
    }
}
