//! The demo's map of District 10: the district's main streets and some well-known places, written
//! by the project from public knowledge with approximate positions (`kiosk/demo/district10.osm`,
//! CC0 1.0), built into the program so that a kiosk opened without a map of its own shows the
//! demo district. The map says it is approximate, and the kiosk says so under it.

use crate::map::{MapData, Meta};

/// The demo's OpenStreetMap XML.
pub const OSM: &[u8] = include_bytes!("../demo/district10.osm");

/// The area it covers: west, south, east, north.
pub const BBOX: [f64; 4] = [106.652, 10.757, 106.682, 10.789];

/// Where the demo's kiosk stands: on Đường 3 Tháng 2, before the district's People's Committee.
pub const KIOSK_AT: [f64; 2] = [106.6652, 10.7648];

/// The demo's map.
pub fn map() -> anyhow::Result<MapData> {
    let meta = Meta {
        source: "Q10 demo data: District 10, approximate".into(),
        licence: "CC0 1.0".into(),
        approximate: true,
        bbox: BBOX,
    };
    crate::osm::import_xml(OSM, BBOX, meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::Router;
    use crate::search::search;

    #[test]
    fn the_demo_district_is_walkable_from_the_kiosk() {
        let map = map().unwrap();
        assert!(map.meta.approximate);
        assert!(map.places.len() >= 9, "{} places", map.places.len());
        let router = Router::new(&map);
        // Every place can be walked to from the kiosk.
        for p in &map.places {
            let r = router.route(&map, KIOSK_AT, p.at).unwrap_or_else(|| panic!("no walk to {}", p.name));
            assert!(r.metres > 0.0 && r.metres < 5000.0, "{}: {} m", p.name, r.metres);
        }
        // The interface's box and back: the kiosk stays where it stands (to a metre).
        let (x, y) = map.meta.to_box(KIOSK_AT);
        let back = map.meta.from_box(x, y);
        assert!((back[0] - KIOSK_AT[0]).abs() < 1e-5 && (back[1] - KIOSK_AT[1]).abs() < 1e-5, "{back:?}");
        let hospital = search(&map.places, "benh vien 115", 1)[0];
        assert_eq!(hospital.name, "Bệnh viện Nhân dân 115");
        let walk = router.route(&map, KIOSK_AT, hospital.at).unwrap();
        let streets: Vec<&str> = walk.steps.iter().filter_map(|s| s.street.as_deref()).collect();
        assert_eq!(streets.first(), Some(&"Đường 3 Tháng 2"), "{streets:?}");
        assert!(streets.contains(&"Đường Thành Thái") || streets.contains(&"Đường Sư Vạn Hạnh"), "{streets:?}");
    }
}
