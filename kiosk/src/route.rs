//! Walking directions on the kiosk's map, offline: both ends snapped to the nearest junction (an
//! R-tree of junctions, `rstar`), the shortest way between them by A* (`pathfinding`) with the
//! straight-line distance as its guide, then told as steps along named streets with the turn onto
//! each.

use pathfinding::directed::astar::astar;
use rstar::RTree;
use rstar::primitives::GeomWithData;

use crate::map::{Flat, MapData};

/// Walking pace: 4.5 km/h, a comfortable pace for everyone.
pub const METRES_PER_MINUTE: f64 = 75.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    Start,
    Straight,
    Left,
    Right,
}

/// One leg of the walk: along one street (or a nameless way) after a turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub turn: Turn,
    pub street: Option<String>,
    pub metres: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The line to draw (longitude, latitude), from the start to the destination.
    pub points: Vec<[f64; 2]>,
    pub metres: f64,
    pub minutes: u32,
    pub steps: Vec<Step>,
}

/// The map's streets, ready to route on.
pub struct Router {
    flat: Flat,
    /// For each junction: (next junction, edge, cost in decimetres).
    next: Vec<Vec<(u32, u32, u32)>>,
    tree: RTree<GeomWithData<[f64; 2], u32>>,
}

impl Router {
    pub fn new(map: &MapData) -> Router {
        let b = map.meta.bbox;
        let flat = Flat::at([(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0]);
        let mut next = vec![Vec::new(); map.junctions.len()];
        for (i, e) in map.edges.iter().enumerate() {
            let cost = (e.metres * 10.0).round().max(1.0) as u32;
            next[e.from as usize].push((e.to, i as u32, cost));
            next[e.to as usize].push((e.from, i as u32, cost));
        }
        let linked = map
            .junctions
            .iter()
            .enumerate()
            .filter(|(i, _)| !next[*i].is_empty())
            .map(|(i, p)| GeomWithData::new(flat.metres(*p), i as u32))
            .collect();
        Router { flat, next, tree: RTree::bulk_load(linked) }
    }

    /// The junction nearest a point, and how far it is, in metres.
    pub fn snap(&self, at: [f64; 2]) -> Option<(u32, f64)> {
        let p = self.flat.metres(at);
        let j = self.tree.nearest_neighbor(&p)?;
        let q = j.geom();
        Some((j.data, (p[0] - q[0]).hypot(p[1] - q[1])))
    }

    /// The walk from `from` to `to` (longitude, latitude), or `None` when no way joins them.
    pub fn route(&self, map: &MapData, from: [f64; 2], to: [f64; 2]) -> Option<Route> {
        let (start, lead_in) = self.snap(from)?;
        let (goal, lead_out) = self.snap(to)?;
        let goal_at = self.flat.metres(map.junctions[goal as usize]);
        let (path, cost) = astar(
            &start,
            |n| self.next[*n as usize].iter().map(|(m, _, c)| (*m, *c)),
            |n| {
                let p = self.flat.metres(map.junctions[*n as usize]);
                // Decimetres, rounded down so the guess never overestimates.
                ((p[0] - goal_at[0]).hypot(p[1] - goal_at[1]) * 10.0) as u32
            },
            |n| *n == goal,
        )?;
        let mut points = vec![from];
        let mut steps: Vec<Step> = Vec::new();
        let mut heading: Option<[f64; 2]> = None;
        for w in path.windows(2) {
            let (a, b) = (w[0], w[1]);
            let &(_, edge, _) =
                self.next[a as usize].iter().filter(|(m, _, _)| *m == b).min_by_key(|(_, _, c)| *c).expect("an edge");
            let e = &map.edges[edge as usize];
            let mut shape = e.points.clone();
            if e.from != a {
                shape.reverse();
            }
            let street = map.street(e).map(String::from);
            let first = self.direction(shape[0], shape[1]);
            match steps.last_mut() {
                Some(s) if s.street == street && street.is_some() => s.metres += e.metres,
                _ => {
                    let turn = heading.map_or(Turn::Start, |h| turn(h, first));
                    steps.push(Step { turn, street, metres: e.metres });
                }
            }
            heading = Some(self.direction(shape[shape.len() - 2], shape[shape.len() - 1]));
            points.extend_from_slice(&shape);
        }
        points.push(to);
        let metres = cost as f64 / 10.0 + lead_in + lead_out;
        Some(Route { points, metres, minutes: (metres / METRES_PER_MINUTE).ceil() as u32, steps })
    }

    fn direction(&self, a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
        let (a, b) = (self.flat.metres(a), self.flat.metres(b));
        [b[0] - a[0], b[1] - a[1]]
    }
}

/// The turn from one heading onto another (x east, y north): within 30° is straight on.
fn turn(from: [f64; 2], to: [f64; 2]) -> Turn {
    let cross = from[0] * to[1] - from[1] * to[0];
    let dot = from[0] * to[0] + from[1] * to[1];
    let angle = cross.atan2(dot).to_degrees();
    if angle.abs() < 30.0 {
        Turn::Straight
    } else if angle > 0.0 {
        Turn::Left
    } else {
        Turn::Right
    }
}

/// A made-up district for measuring: `n`×`n` junctions `spacing` metres apart in a grid of
/// named streets, around 10.77° N.
pub fn grid(n: u32, spacing: f64) -> MapData {
    use crate::map::{Edge, Meta};
    let (lon0, lat0): (f64, f64) = (106.66, 10.77);
    let dlat = spacing / 111_320.0;
    let dlon = dlat / lat0.to_radians().cos();
    let at = |i: u32, j: u32| [lon0 + f64::from(i) * dlon, lat0 + f64::from(j) * dlat];
    let mut map = MapData {
        meta: Meta {
            source: "grid".into(),
            bbox: [lon0, lat0, lon0 + f64::from(n) * dlon, lat0 + f64::from(n) * dlat],
            ..Meta::default()
        },
        ..MapData::default()
    };
    for j in 0..n {
        for i in 0..n {
            map.junctions.push(at(i, j));
        }
    }
    for k in 0..n {
        map.streets.push(format!("Đường {k}"));
        map.streets.push(format!("Hẻm {k}"));
    }
    let id = |i: u32, j: u32| j * n + i;
    for j in 0..n {
        for i in 0..n {
            for (di, dj, street) in [(1, 0, 2 * j), (0, 1, 2 * i + 1)] {
                if i + di < n && j + dj < n {
                    let (a, b) = (at(i, j), at(i + di, j + dj));
                    map.edges.push(Edge {
                        from: id(i, j),
                        to: id(i + di, j + dj),
                        metres: spacing,
                        street: Some(street),
                        major: false,
                        points: vec![a, b],
                    });
                }
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::Meta;
    use std::path::Path;

    fn fixture() -> MapData {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/district.osm"));
        crate::osm::import(path, [106.6, 10.7, 106.7, 10.8], Meta::default()).unwrap()
    }

    #[test]
    fn a_walk_follows_the_streets_and_says_where_to_turn() {
        let map = fixture();
        let router = Router::new(&map);
        // From the west end of Đường A to the south end of Đường B: east along A, then right
        // (south) into B.
        let r = router.route(&map, [106.6600, 10.7700], [106.6650, 10.7650]).unwrap();
        let told: Vec<(Turn, Option<&str>)> = r.steps.iter().map(|s| (s.turn, s.street.as_deref())).collect();
        assert_eq!(told, [(Turn::Start, Some("Đường A")), (Turn::Right, Some("Đường B"))]);
        // 0.005° of longitude and of latitude at 10.77° N: about 547 m and 557 m.
        assert!((1_090.0..1_120.0).contains(&r.metres), "{}", r.metres);
        assert_eq!(r.minutes, 15);
        assert_eq!(r.points.first(), Some(&[106.6600, 10.7700]));
        // Onto the footway at the east end: a left turn (south, from heading east).
        let r = router.route(&map, [106.6650, 10.7750], [106.6700, 10.7650]).unwrap();
        let told: Vec<(Turn, Option<&str>)> = r.steps.iter().map(|s| (s.turn, s.street.as_deref())).collect();
        assert_eq!(told, [(Turn::Start, Some("Đường B")), (Turn::Left, Some("Đường A")), (Turn::Right, None)]);
    }

    #[test]
    fn both_ends_snap_to_the_nearest_junction() {
        let map = fixture();
        let router = Router::new(&map);
        let (j, metres) = router.snap([106.6651, 10.7701]).unwrap();
        assert_eq!(map.junctions[j as usize], [106.6650, 10.7700]);
        assert!(metres < 20.0, "{metres}");
        // A place off the streets is walked to from its nearest junction.
        let r = router.route(&map, [106.6600, 10.7700], [106.6625, 10.7705]).unwrap();
        assert!(r.metres > 0.0 && r.points.last() == Some(&[106.6625, 10.7705]));
    }
}
