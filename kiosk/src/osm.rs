//! Making the kiosk's map from OpenStreetMap: `.osm` XML (read with quick-xml) or `.osm.pbf`
//! (read with osmpbf), cut to a box. Walkable ways become the walking graph (joined at shared
//! nodes); buildings, water, parks and ward boundaries become shapes; named places of the kinds
//! a kiosk lists become places (a way's at the middle of its nodes).

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use anyhow::Context;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use crate::map::{Edge, Flat, MapData, Meta, Place, PlaceKind, Shape, ShapeKind};

type Tags = Vec<(String, String)>;

fn tag<'a>(tags: &'a Tags, key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// What the reader gathered: nodes inside the box, and every way.
#[derive(Default)]
struct Gathered {
    nodes: HashMap<i64, ([f64; 2], Tags)>,
    ways: Vec<(Vec<i64>, Tags)>,
}

/// Reads `path` (`.osm` or `.osm.pbf`) and makes the map of what lies in `bbox` (west, south,
/// east, north).
pub fn import(path: &Path, bbox: [f64; 4], meta: Meta) -> anyhow::Result<MapData> {
    anyhow::ensure!(
        bbox[0] < bbox[2] && bbox[1] < bbox[3],
        "the box is west,south,east,north with west < east and south < north"
    );
    let inside = |p: [f64; 2]| (bbox[0]..=bbox[2]).contains(&p[0]) && (bbox[1]..=bbox[3]).contains(&p[1]);
    let name = path.to_string_lossy();
    let g = if name.ends_with(".pbf") {
        read_pbf(path, &inside)?
    } else {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        read_xml(std::io::BufReader::new(file), &inside)
            .with_context(|| format!("{} is not OSM XML", path.display()))?
    };
    Ok(build(g, Meta { bbox, ..meta }))
}

/// Makes the map of what lies in `bbox` from OSM XML already in memory.
pub fn import_xml(xml: &[u8], bbox: [f64; 4], meta: Meta) -> anyhow::Result<MapData> {
    anyhow::ensure!(
        bbox[0] < bbox[2] && bbox[1] < bbox[3],
        "the box is west,south,east,north with west < east and south < north"
    );
    let inside = |p: [f64; 2]| (bbox[0]..=bbox[2]).contains(&p[0]) && (bbox[1]..=bbox[3]).contains(&p[1]);
    let g = read_xml(xml, &inside).context("not OSM XML")?;
    Ok(build(g, Meta { bbox, ..meta }))
}

fn read_pbf(path: &Path, inside: &dyn Fn([f64; 2]) -> bool) -> anyhow::Result<Gathered> {
    use osmpbf::{Element, ElementReader};
    let mut g = Gathered::default();
    let own = |it: &mut dyn Iterator<Item = (&str, &str)>| it.map(|(k, v)| (k.to_string(), v.to_string())).collect();
    ElementReader::from_path(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .for_each(|e| match e {
            Element::Node(n) => {
                let p = [n.lon(), n.lat()];
                if inside(p) {
                    g.nodes.insert(n.id(), (p, own(&mut n.tags())));
                }
            }
            Element::DenseNode(n) => {
                let p = [n.lon(), n.lat()];
                if inside(p) {
                    g.nodes.insert(n.id(), (p, own(&mut n.tags())));
                }
            }
            Element::Way(w) => g.ways.push((w.refs().collect(), own(&mut w.tags()))),
            Element::Relation(_) => {}
        })
        .with_context(|| format!("{} is not an OSM PBF file", path.display()))?;
    Ok(g)
}

fn attr(e: &BytesStart, key: &str) -> anyhow::Result<Option<String>> {
    for a in e.attributes() {
        let a = a?;
        if a.key.as_ref() == key {
            return Ok(Some(a.normalized_value(XmlVersion::Implicit1_0)?.into_owned()));
        }
    }
    Ok(None)
}

fn read_xml(input: impl BufRead, inside: &dyn Fn([f64; 2]) -> bool) -> anyhow::Result<Gathered> {
    let mut reader = quick_xml::Reader::from_reader(input);
    let mut g = Gathered::default();
    let mut buf = Vec::new();
    // The element being read: a node (id, place) or a way (refs); and its tags.
    let mut node: Option<(i64, [f64; 2])> = None;
    let mut way: Option<Vec<i64>> = None;
    let mut tags: Tags = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf)?;
        match &event {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                "node" => {
                    let num = |k: &str| -> anyhow::Result<f64> {
                        Ok(attr(e, k)?.context("a node without its place")?.parse()?)
                    };
                    let id: i64 = attr(e, "id")?.context("a node without an id")?.parse()?;
                    node = Some((id, [num("lon")?, num("lat")?]));
                    tags.clear();
                }
                "way" => {
                    way = Some(Vec::new());
                    tags.clear();
                }
                "nd" => {
                    if let (Some(refs), Some(r)) = (way.as_mut(), attr(e, "ref")?) {
                        refs.push(r.parse()?);
                    }
                }
                "tag" => {
                    if let (Some(k), Some(v)) = (attr(e, "k")?, attr(e, "v")?) {
                        tags.push((k, v));
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        let ended = match &event {
            Event::End(e) => Some(e.name().as_ref().to_string()),
            Event::Empty(e) => Some(e.name().as_ref().to_string()),
            _ => None,
        };
        match ended.as_deref() {
            Some("node") => {
                if let Some((id, p)) = node.take()
                    && inside(p)
                {
                    g.nodes.insert(id, (p, std::mem::take(&mut tags)));
                }
            }
            Some("way") => {
                if let Some(refs) = way.take() {
                    g.ways.push((refs, std::mem::take(&mut tags)));
                }
            }
            _ => {}
        }
        buf.clear();
    }
    Ok(g)
}

/// Ways people walk along, and which of them are main roads.
fn walkable(tags: &Tags) -> Option<bool> {
    let highway = tag(tags, "highway")?;
    if matches!(tag(tags, "foot"), Some("no" | "private")) || tag(tags, "access") == Some("private") {
        return None;
    }
    let major = matches!(highway.trim_end_matches("_link"), "trunk" | "primary" | "secondary" | "tertiary");
    let minor = matches!(
        highway,
        "residential"
            | "unclassified"
            | "living_street"
            | "service"
            | "pedestrian"
            | "footway"
            | "path"
            | "steps"
            | "track"
            | "road"
            | "corridor"
    );
    (major || minor).then_some(major)
}

fn shape_kind(tags: &Tags) -> Option<ShapeKind> {
    if tag(tags, "building").is_some() {
        return Some(ShapeKind::Block);
    }
    if tag(tags, "natural") == Some("water")
        || tag(tags, "water").is_some()
        || matches!(tag(tags, "waterway"), Some("river" | "canal" | "stream" | "riverbank"))
    {
        return Some(ShapeKind::Water);
    }
    if matches!(tag(tags, "leisure"), Some("park" | "garden" | "playground"))
        || matches!(tag(tags, "landuse"), Some("grass" | "recreation_ground" | "village_green"))
    {
        return Some(ShapeKind::Park);
    }
    if tag(tags, "boundary") == Some("administrative") && tag(tags, "admin_level") == Some("8") {
        return Some(ShapeKind::WardBoundary);
    }
    None
}

fn place_kind(tags: &Tags) -> Option<PlaceKind> {
    let amenity = tag(tags, "amenity").unwrap_or_default();
    let tourism = tag(tags, "tourism").unwrap_or_default();
    Some(match () {
        _ if amenity == "place_of_worship" => PlaceKind::Worship,
        _ if amenity == "townhall" || tag(tags, "office") == Some("government") => PlaceKind::WardOffice,
        _ if matches!(amenity, "hospital" | "clinic" | "doctors" | "pharmacy") || tag(tags, "healthcare").is_some() => {
            PlaceKind::Health
        }
        _ if amenity == "marketplace"
            || matches!(tag(tags, "shop"), Some("mall" | "supermarket" | "department_store")) =>
        {
            PlaceKind::Market
        }
        _ if matches!(tourism, "hotel" | "guest_house" | "hostel" | "motel" | "apartment") => PlaceKind::Lodging,
        _ if matches!(amenity, "restaurant" | "cafe" | "fast_food" | "food_court" | "ice_cream") => PlaceKind::Food,
        _ if matches!(tourism, "attraction" | "museum" | "gallery" | "viewpoint" | "artwork" | "zoo")
            || tag(tags, "historic").is_some() =>
        {
            PlaceKind::Sight
        }
        _ => return None,
    })
}

fn place(at: [f64; 2], tags: &Tags) -> Option<Place> {
    let kind = place_kind(tags)?;
    let name = tag(tags, "name:vi").or(tag(tags, "name"))?.trim().to_string();
    if name.is_empty() {
        return None;
    }
    let address = match (tag(tags, "addr:housenumber"), tag(tags, "addr:street")) {
        (Some(n), Some(s)) => Some(format!("{n} {s}")),
        (None, Some(s)) => Some(s.to_string()),
        _ => None,
    };
    Some(Place {
        name,
        name_en: tag(tags, "name:en").map(String::from),
        kind,
        at,
        address,
        hours: tag(tags, "opening_hours").map(String::from),
        about_vi: tag(tags, "description:vi").or(tag(tags, "description")).map(String::from),
        about_en: tag(tags, "description:en").map(String::from),
    })
}

fn build(g: Gathered, meta: Meta) -> MapData {
    let flat = Flat::at([(meta.bbox[0] + meta.bbox[2]) / 2.0, (meta.bbox[1] + meta.bbox[3]) / 2.0]);
    let mut map = MapData { meta, ..MapData::default() };
    // How often walkable ways pass each node: a node on two ways (or twice on one) is a junction.
    let mut uses: HashMap<i64, u32> = HashMap::new();
    for (refs, tags) in &g.ways {
        if walkable(tags).is_some() {
            for r in refs {
                *uses.entry(*r).or_default() += 1;
            }
        }
    }
    let mut junction_of: HashMap<i64, u32> = HashMap::new();
    let mut streets: HashMap<String, u32> = HashMap::new();
    for (p, tags) in g.nodes.values() {
        if let Some(pl) = place(*p, tags) {
            map.places.push(pl);
        }
    }
    for (refs, tags) in &g.ways {
        // The way's stretches inside the box.
        let runs: Vec<Vec<(i64, [f64; 2])>> = refs
            .split(|r| !g.nodes.contains_key(r))
            .map(|run| run.iter().map(|r| (*r, g.nodes[r].0)).collect::<Vec<_>>())
            .filter(|run| run.len() >= 2)
            .collect();
        if let Some(pl) = runs.first().and_then(|run| {
            let n = run.len() as f64;
            place(
                [run.iter().map(|(_, p)| p[0]).sum::<f64>() / n, run.iter().map(|(_, p)| p[1]).sum::<f64>() / n],
                tags,
            )
        }) {
            map.places.push(pl);
        }
        if let Some(kind) = shape_kind(tags) {
            for run in &runs {
                map.shapes.push(Shape { kind, points: run.iter().map(|(_, p)| *p).collect() });
            }
        }
        let Some(major) = walkable(tags) else { continue };
        let street = tag(tags, "name").map(|n| {
            let next = streets.len() as u32;
            *streets.entry(n.to_string()).or_insert_with(|| {
                map.streets.push(n.to_string());
                next
            })
        });
        for run in runs {
            let mut junction = |id: i64, p: [f64; 2]| {
                *junction_of.entry(id).or_insert_with(|| {
                    map.junctions.push(p);
                    (map.junctions.len() - 1) as u32
                })
            };
            let (first, p0) = run[0];
            let mut from = junction(first, p0);
            let mut points = vec![p0];
            let last = run.len() - 1;
            for (i, (id, p)) in run.iter().enumerate().skip(1) {
                points.push(*p);
                if i == last || uses.get(id).copied().unwrap_or(0) > 1 {
                    let to = junction(*id, *p);
                    let metres = points.windows(2).map(|w| flat.distance(w[0], w[1])).sum();
                    map.edges.push(Edge { from, to, metres, street, major, points: std::mem::take(&mut points) });
                    points.push(*p);
                    from = to;
                }
            }
        }
    }
    map.places.sort_by_cached_key(|p| crate::search::fold(&p.name));
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/district.osm");

    #[test]
    fn the_fixture_becomes_a_walking_graph_with_places() {
        let meta = Meta { source: "test".into(), ..Meta::default() };
        let map = import(Path::new(FIXTURE), [106.6, 10.7, 106.7, 10.8], meta).unwrap();
        let names: Vec<&str> = map.places.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["Chợ Hòa Bình", "Chùa Ấn Quang", "Phở Hòa"],
            "the bakery has no name; the motorway's node is no place"
        );
        let market = &map.places[0];
        assert_eq!((market.kind, market.address.as_deref()), (PlaceKind::Market, Some("12 Đường A")));
        assert_eq!(map.places[1].kind, PlaceKind::Worship);
        assert!(map.streets.contains(&"Đường A".to_string()) && map.streets.contains(&"Đường B".to_string()));
        assert!(!map.streets.iter().any(|s| s.contains("Cao tốc")), "no walking on the motorway");
        // Đường A and Đường B cross at one node: split there, four edges from a cross of two ways.
        assert_eq!(map.edges.len(), 4 + 1, "{:?}", map.edges.iter().map(|e| (e.from, e.to)).collect::<Vec<_>>());
        assert!(map.shapes.iter().any(|s| s.kind == ShapeKind::Park));
        assert!(map.edges.iter().all(|e| e.metres > 0.0));
    }

    #[test]
    fn a_box_cuts_what_lies_outside() {
        let map = import(Path::new(FIXTURE), [106.6, 10.7, 106.6655, 10.8], Meta::default()).unwrap();
        assert!(map.places.iter().all(|p| p.at[0] <= 106.6655));
        assert!(import(Path::new(FIXTURE), [106.7, 10.7, 106.6, 10.8], Meta::default()).is_err());
        let e = import(Path::new("/nonexistent.osm"), [0.0, 0.0, 1.0, 1.0], Meta::default()).unwrap_err();
        assert!(format!("{e:#}").contains("/nonexistent.osm"), "{e:#}");
    }
}
