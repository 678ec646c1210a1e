//! Where a complaint is: the ward whose boundary contains its point, and distances between
//! points.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use geo::{Contains, Distance, Haversine, Point};
use time::Date;

use crate::error::Result;
use crate::store::Store;

/// How long a loaded set of boundaries is used before it is read again, so a reform of the wards
/// takes effect without a restart.
const REFRESH: Duration = Duration::from_secs(60);

/// A ward and its boundary.
#[derive(Debug, Clone)]
pub struct WardShape {
    pub id: i64,
    pub code: String,
    pub name_vi: String,
    shape: geo::Geometry<f64>,
}

struct Loaded {
    day: Date,
    at: Instant,
    wards: Arc<Vec<WardShape>>,
}

/// The current wards' boundaries, loaded from the store and kept for a while.
#[derive(Clone, Default)]
pub struct WardIndex {
    cache: Arc<Mutex<Option<Loaded>>>,
}

impl std::fmt::Debug for WardIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WardIndex")
    }
}

impl WardIndex {
    async fn wards(&self, store: &Store, day: Date) -> Result<Arc<Vec<WardShape>>> {
        {
            let cache = self.cache.lock().expect("ward cache lock");
            if let Some(l) = cache.as_ref().filter(|l| l.day == day && l.at.elapsed() < REFRESH) {
                return Ok(l.wards.clone());
            }
        }
        let rows = store.jurisdictions_at(day, Some("ward")).await?;
        let wards: Vec<WardShape> = rows
            .into_iter()
            .filter_map(|r| {
                let geometry: geojson::Geometry = r.boundary.as_deref()?.parse().ok()?;
                let shape = geo::Geometry::<f64>::try_from(geometry).ok()?;
                Some(WardShape { id: r.id, code: r.code, name_vi: r.name_vi, shape })
            })
            .collect();
        let wards = Arc::new(wards);
        *self.cache.lock().expect("ward cache lock") = Some(Loaded { day, at: Instant::now(), wards: wards.clone() });
        Ok(wards)
    }

    /// The ward containing the point, if any.
    pub async fn ward_at(&self, store: &Store, day: Date, lat: f64, lon: f64) -> Result<Option<WardShape>> {
        let p = Point::new(lon, lat);
        Ok(self.wards(store, day).await?.iter().find(|w| w.shape.contains(&p)).cloned())
    }
}

/// Metres between two points (great circle).
pub fn distance_m((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    Haversine.distance(Point::new(lon1, lat1), Point::new(lon2, lat2))
}

/// Degrees of latitude and longitude that span at least `metres` around `lat`.
pub fn degree_box(lat: f64, metres: f64) -> (f64, f64) {
    let dlat = metres / 111_000.0;
    let dlon = metres / (111_000.0 * lat.to_radians().cos().max(0.01));
    (dlat * 1.1, dlon * 1.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_in_metres() {
        // 0.00045° of latitude is about 50 m.
        let d = distance_m((10.77, 106.667), (10.77045, 106.667));
        assert!((49.0..51.0).contains(&d), "{d}");
        let (dlat, dlon) = degree_box(10.77, 50.0);
        assert!(distance_m((10.77, 106.667), (10.77 + dlat, 106.667)) > 50.0);
        assert!(distance_m((10.77, 106.667), (10.77, 106.667 + dlon)) > 50.0);
    }
}
