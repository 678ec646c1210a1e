//! The kiosk's map of the district: streets as a walking graph (junctions joined by edges that
//! keep their shape and street name), what is drawn under them (blocks, water, parks, ward
//! boundaries), and the places people look for. Made from OpenStreetMap by `import-osm`
//! ([`crate::osm`]) and kept as one JSON file the kiosk loads at start.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// Where the data came from and under which terms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub source: String,
    pub licence: String,
    /// Approximate data (the demo's), not a survey.
    pub approximate: bool,
    /// The area covered: west, south, east, north, in degrees.
    pub bbox: [f64; 4],
}

impl Meta {
    /// A point (longitude, latitude) in the interface's 1000 × 1000 box over `bbox`, north up.
    pub fn to_box(&self, p: [f64; 2]) -> (f32, f32) {
        let [w, s, e, n] = self.bbox;
        (((p[0] - w) / (e - w) * 1000.0) as f32, ((n - p[1]) / (n - s) * 1000.0) as f32)
    }

    /// The point at `x`, `y` of the box (held within it).
    pub fn from_box(&self, x: f32, y: f32) -> [f64; 2] {
        let [w, s, e, n] = self.bbox;
        let (x, y) = (f64::from(x.clamp(0.0, 1000.0)), f64::from(y.clamp(0.0, 1000.0)));
        [w + x / 1000.0 * (e - w), n - y / 1000.0 * (n - s)]
    }
}

/// The kinds of place a kiosk lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    Sight,
    Food,
    Lodging,
    Market,
    Health,
    WardOffice,
    Worship,
}

impl PlaceKind {
    pub const ALL: [PlaceKind; 7] = [
        PlaceKind::Sight,
        PlaceKind::Food,
        PlaceKind::Lodging,
        PlaceKind::Market,
        PlaceKind::Health,
        PlaceKind::WardOffice,
        PlaceKind::Worship,
    ];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// Its name as written here (Vietnamese).
    pub name: String,
    pub name_en: Option<String>,
    pub kind: PlaceKind,
    /// Longitude, latitude.
    pub at: [f64; 2],
    pub address: Option<String>,
    /// As OpenStreetMap writes them, e.g. "Mo-Su 06:00-18:00".
    pub hours: Option<String>,
    pub about_vi: Option<String>,
    pub about_en: Option<String>,
}

/// What is drawn under the streets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapeKind {
    Block,
    Water,
    Park,
    WardBoundary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    pub kind: ShapeKind,
    /// Longitude, latitude; closed shapes repeat their first point last.
    pub points: Vec<[f64; 2]>,
}

/// A stretch of walkable way between two junctions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub from: u32,
    pub to: u32,
    /// Its length, in metres.
    pub metres: f64,
    /// The street's name, as an index into [`MapData::streets`].
    pub street: Option<u32>,
    /// Whether it is a main road (drawn wider).
    pub major: bool,
    /// Its shape between the two junctions (longitude, latitude), both ends included.
    pub points: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MapData {
    pub meta: Meta,
    /// Junctions and ends of ways (longitude, latitude).
    pub junctions: Vec<[f64; 2]>,
    pub edges: Vec<Edge>,
    pub streets: Vec<String>,
    pub shapes: Vec<Shape>,
    pub places: Vec<Place>,
}

impl MapData {
    pub fn load(path: &Path) -> anyhow::Result<MapData> {
        let text = std::fs::read(path).with_context(|| format!("cannot read the map {}", path.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("{} is not a kiosk map", path.display()))
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, serde_json::to_vec(self)?).with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn street(&self, e: &Edge) -> Option<&str> {
        e.street.map(|s| self.streets[s as usize].as_str())
    }
}

/// Metres on the ground near a latitude: a flat projection, true to well under a metre across a
/// district.
#[derive(Debug, Clone, Copy)]
pub struct Flat {
    origin: [f64; 2],
    /// Metres per degree of longitude there.
    x_scale: f64,
}

/// Metres per degree of latitude.
const METRES_PER_DEGREE: f64 = 111_320.0;

impl Flat {
    pub fn at(origin: [f64; 2]) -> Flat {
        Flat { origin, x_scale: METRES_PER_DEGREE * origin[1].to_radians().cos() }
    }

    /// A point in metres east and north of the origin.
    pub fn metres(&self, p: [f64; 2]) -> [f64; 2] {
        [(p[0] - self.origin[0]) * self.x_scale, (p[1] - self.origin[1]) * METRES_PER_DEGREE]
    }

    pub fn distance(&self, a: [f64; 2], b: [f64; 2]) -> f64 {
        let (a, b) = (self.metres(a), self.metres(b));
        (a[0] - b[0]).hypot(a[1] - b[1])
    }
}
