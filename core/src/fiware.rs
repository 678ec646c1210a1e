//! The core's observations and alerts as FIWARE smart data models (NGSI-LD key-values), for a
//! city platform that speaks them (`?format=fiware` on the endpoints that offer it):
//! CrowdFlowObserved for people, TrafficFlowObserved for vehicles, Alert for alerts.
//!
//! Only what the models can say is said: an alert with no FIWARE sub-category (a camera down, a
//! complaint overdue, a door opened) is left out of the FIWARE form, and counts keep to the
//! models' attributes (`occupancy` there is a share of time, which counting does not measure).

use std::collections::HashMap;

use q10_core_api::{Alert, AreaShape, CameraAreaCount, CameraCount};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::Result;
use crate::http::AppState;
use crate::store::cameras::CameraRow;

fn when(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The attributes every observation of a camera's minute shares.
fn observed(c: &CameraRow, minute: OffsetDateTime, name: String) -> Value {
    let to = minute + Duration::minutes(1);
    let mut e = json!({
        "dateObserved": format!("{}/{}", when(minute), when(to)),
        "dateObservedFrom": when(minute),
        "dateObservedTo": when(to),
        "refDevice": camera_device(c),
        "name": name,
    });
    if let Some(point) = point(c.lon, c.lat) {
        e["location"] = point;
    }
    e
}

fn camera_device(c: &CameraRow) -> String {
    format!("urn:ngsi-ld:Device:q10-camera-{}", c.code)
}

fn point(lon: Option<f64>, lat: Option<f64>) -> Option<Value> {
    Some(json!({ "type": "Point", "coordinates": [lon?, lat?] }))
}

/// FIWARE's word for a kind of vehicle.
fn vehicle(kind: &str) -> &str {
    if kind == "truck" { "lorry" } else { kind }
}

/// A minute's count of the whole picture: people newly in view as CrowdFlowObserved, vehicles
/// as TrafficFlowObserved.
pub fn count(c: &CameraRow, r: &CameraCount) -> Value {
    let stamp = r.minute.unix_timestamp();
    let mut e = observed(c, r.minute, c.name.clone());
    if r.kind == "person" {
        e["id"] = format!("urn:ngsi-ld:CrowdFlowObserved:q10-{}-{stamp}", c.code).into();
        e["type"] = "CrowdFlowObserved".into();
        e["peopleCount"] = r.appeared.into();
    } else {
        e["id"] = format!("urn:ngsi-ld:TrafficFlowObserved:q10-{}-{}-{stamp}", c.code, r.kind).into();
        e["type"] = "TrafficFlowObserved".into();
        e["vehicleType"] = vehicle(&r.kind).into();
        e["intensity"] = r.appeared.into();
    }
    e
}

/// A minute's counts in the camera's zones and over its lines. A zone gives the most people in it
/// at once (CrowdFlowObserved, `congested` when that reached its crowd threshold); a line, the
/// people who crossed it (CrowdFlowObserved) and the vehicles that crossed it each way
/// (TrafficFlowObserved with `laneDirection`). An area removed since is told by its figures.
pub fn area_counts(c: &CameraRow, rows: &[CameraAreaCount]) -> Result<Vec<Value>> {
    let areas = crate::camera::areas::parse(&c.areas)?;
    let mut out = Vec::new();
    for r in rows {
        let now = areas.iter().position(|a| a.name == r.area);
        let line = match now.map(|i| &areas[i].shape) {
            Some(shape) => *shape == AreaShape::Line,
            None => r.forward + r.back > 0,
        };
        // The area's place in the list keeps ids short and free of its name's characters.
        let tag = match now {
            Some(i) => format!("a{i}"),
            None => format!("x{:08x}", fnv(&r.area)),
        };
        let stamp = r.minute.unix_timestamp();
        let name = format!("{} — {}", c.name, r.area);
        if r.kind == "person" {
            let mut e = observed(c, r.minute, name);
            e["id"] = format!("urn:ngsi-ld:CrowdFlowObserved:q10-{}-{tag}-{stamp}", c.code).into();
            e["type"] = "CrowdFlowObserved".into();
            if line {
                e["peopleCount"] = (r.forward + r.back).into();
            } else {
                e["peopleCount"] = r.peak.into();
                let crowd = now.and_then(|i| areas[i].crowd_people);
                if crowd.is_some_and(|n| r.peak >= i64::from(n)) {
                    e["congested"] = true.into();
                }
            }
            out.push(e);
        } else if line {
            for (way, n) in [("forward", r.forward), ("backward", r.back)] {
                if n == 0 {
                    continue;
                }
                let mut e = observed(c, r.minute, name.clone());
                e["id"] =
                    format!("urn:ngsi-ld:TrafficFlowObserved:q10-{}-{tag}-{}-{way}-{stamp}", c.code, r.kind).into();
                e["type"] = "TrafficFlowObserved".into();
                e["vehicleType"] = vehicle(&r.kind).into();
                e["laneDirection"] = way.into();
                e["intensity"] = n.into();
                out.push(e);
            }
        } else {
            let mut e = observed(c, r.minute, name);
            e["id"] = format!("urn:ngsi-ld:TrafficFlowObserved:q10-{}-{tag}-{}-{stamp}", c.code, r.kind).into();
            e["type"] = "TrafficFlowObserved".into();
            e["vehicleType"] = vehicle(&r.kind).into();
            e["intensity"] = r.peak.into();
            out.push(e);
        }
    }
    Ok(out)
}

/// A short stable tag for a name (FNV-1a), for an area no longer on the camera.
fn fnv(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// Where an alert came from, as FIWARE needs it.
struct Source {
    device: String,
    location: Option<Value>,
    /// The sensor's kind, for a sensor.
    kind: Option<String>,
}

/// FIWARE's category and sub-category of an alert, when it has them.
fn classify(a: &Alert, source: &Source) -> Option<(&'static str, &'static str)> {
    match (a.kind.as_str(), source.kind.as_deref(), a.condition.as_str()) {
        ("crowd", _, _) => Some(("security", "crowdRisk")),
        ("sensor_threshold", Some("temperature"), "high") => Some(("environment", "highTemperature")),
        ("sensor_threshold", Some("temperature"), "low") => Some(("environment", "lowTemperature")),
        ("sensor_threshold", Some("humidity"), "high") => Some(("environment", "highHumidity")),
        ("sensor_threshold", Some("humidity"), "low") => Some(("environment", "lowHumidity")),
        ("sensor_threshold", Some("air_quality"), "high") => Some(("environment", "airPollution")),
        ("sensor_threshold", Some("flood_level"), "high") => Some(("naturalDisaster", "flood")),
        _ => None,
    }
}

/// Alerts as FIWARE Alert entities: those the model has a sub-category for (crowds; temperature,
/// humidity, air quality and flood thresholds), in the order given.
pub async fn alerts(state: &AppState, alerts: &[Alert]) -> Result<Vec<Value>> {
    let mut sources: HashMap<(String, i64), Option<Source>> = HashMap::new();
    let mut out = Vec::new();
    for a in alerts {
        let key = (a.source_type.clone(), a.source_id);
        if !sources.contains_key(&key) {
            let found = match a.source_type.as_str() {
                "camera" => state.store.camera(a.source_id).await?.map(|c| Source {
                    device: camera_device(&c),
                    location: point(c.lon, c.lat),
                    kind: None,
                }),
                "sensor" => state.store.sensor(a.source_id).await?.map(|s| Source {
                    device: format!("urn:ngsi-ld:Device:q10-sensor-{}", s.code),
                    location: point(s.lon, s.lat),
                    kind: Some(s.kind),
                }),
                _ => None,
            };
            sources.insert(key.clone(), found);
        }
        let Some(source) = &sources[&key] else { continue };
        let Some((category, sub)) = classify(a, source) else { continue };
        let mut e = json!({
            "id": format!("urn:ngsi-ld:Alert:q10-{}", a.id),
            "type": "Alert",
            "category": category,
            "subCategory": sub,
            "severity": a.severity.as_str(),
            "alertSource": source.device,
            "dateIssued": when(a.raised_at),
            "validFrom": when(a.raised_at),
            "description": a.title,
            "areaServed": a.unit_name,
        });
        if let Some(cleared) = a.cleared_at.or(a.resolved_at) {
            e["validTo"] = when(cleared).into();
        }
        if let Some(l) = &source.location {
            e["location"] = l.clone();
        }
        out.push(e);
    }
    Ok(out)
}
