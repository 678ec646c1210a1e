//! A camera's counting areas: zones and lines in its picture (`docs/cameras.md`), checked where
//! they come in and kept as JSON on the camera; and what counting saw in each of them, minute by
//! minute.

use geo::{Area as _, Coord, LineString, Polygon};
use q10_core_api::{AreaShape, CameraArea, CameraAreaCount};
use time::OffsetDateTime;

use super::KINDS;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::store::cameras::{self as rows, AreaCountRow};

/// The most areas a camera may have.
pub const MAX_AREAS: usize = 16;
/// The most corners a zone may have.
pub const MAX_CORNERS: usize = 32;
/// The least share of the picture a zone covers.
const MIN_ZONE: f64 = 1e-4;
/// The least length of a line, as a share of the picture's side.
const MIN_LINE: f64 = 0.01;
/// The most people a zone's crowd threshold may name.
const MAX_CROWD: u32 = 10_000;

/// Checks a camera's areas; returns them with their names trimmed.
pub fn check(areas: &[CameraArea]) -> Result<Vec<CameraArea>> {
    if areas.len() > MAX_AREAS {
        return Err(Error::invalid("areas", format!("a camera has at most {MAX_AREAS} areas")));
    }
    let mut out: Vec<CameraArea> = Vec::with_capacity(areas.len());
    for a in areas {
        let name = crate::monitor::label("areas", &a.name, 40)?;
        if out.iter().any(|o| o.name == name) {
            return Err(Error::invalid("areas", format!("two areas are named '{name}'")));
        }
        if a.points.iter().flatten().any(|v| !(0.0..=1.0).contains(v)) {
            return Err(Error::invalid("areas", "points are fractions of the picture, from 0 to 1"));
        }
        match a.shape {
            AreaShape::Zone => {
                if !(3..=MAX_CORNERS).contains(&a.points.len()) {
                    return Err(Error::invalid("areas", format!("a zone has 3 to {MAX_CORNERS} corners")));
                }
                let ring: LineString<f64> = a.points.iter().map(|p| Coord { x: p[0], y: p[1] }).collect();
                if Polygon::new(ring, vec![]).unsigned_area() < MIN_ZONE {
                    return Err(Error::invalid("areas", format!("the zone '{name}' covers nothing of the picture")));
                }
                if a.crowd_people.is_some_and(|n| !(1..=MAX_CROWD).contains(&n)) {
                    return Err(Error::invalid("areas", format!("a crowd is 1 to {MAX_CROWD} people")));
                }
            }
            AreaShape::Line => {
                let [p, q] = a.points.as_slice() else {
                    return Err(Error::invalid("areas", "a line has two points"));
                };
                if (p[0] - q[0]).hypot(p[1] - q[1]) < MIN_LINE {
                    return Err(Error::invalid("areas", format!("the line '{name}' has its ends apart")));
                }
                if a.crowd_people.is_some() {
                    return Err(Error::invalid("areas", "only zones have a crowd threshold"));
                }
            }
        }
        out.push(CameraArea { name, ..a.clone() });
    }
    Ok(out)
}

/// The areas kept on a camera.
pub fn parse(json: &str) -> Result<Vec<CameraArea>> {
    serde_json::from_str(json).map_err(|e| Error::Internal(anyhow::anyhow!("a camera's areas do not read: {e}")))
}

pub fn to_json(areas: &[CameraArea]) -> Result<String> {
    serde_json::to_string(areas).map_err(|e| Error::Internal(e.into()))
}

/// A minute of one kind in one area so far: frames analysed, objects in the zone summed over
/// them, most in it at once, crossings forward and back.
pub struct AreaMinute<'a> {
    pub area: &'a str,
    pub kind: &'a str,
    pub counts: [i64; 5],
}

/// Keeps a minute of a camera's area counts so far (a later write of the same minute replaces it).
pub async fn record(state: &AppState, id: i64, minute: OffsetDateTime, counts: &[AreaMinute<'_>]) -> Result<()> {
    let minute =
        minute.replace_second(0).and_then(|m| m.replace_nanosecond(0)).map_err(|e| Error::Internal(e.into()))?;
    let mut rows = Vec::with_capacity(counts.len());
    for c in counts {
        if !KINDS.contains(&c.kind) || c.counts.iter().any(|v| *v < 0) || c.area.is_empty() {
            return Err(Error::invalid("kind", "counts are of a named area, a known kind, and never negative"));
        }
        let [frames, in_view, peak, forward, back] = c.counts;
        rows.push(AreaCountRow {
            area: c.area.to_string(),
            minute,
            kind: c.kind.to_string(),
            frames,
            in_view,
            peak,
            forward,
            back,
        });
    }
    let mut tx = state.store.begin().await?;
    rows::set_area_counts(&mut tx, id, &rows).await?;
    tx.commit().await?;
    Ok(())
}

pub fn count_view(r: AreaCountRow) -> CameraAreaCount {
    let mean = if r.frames > 0 { r.in_view as f64 / r.frames as f64 } else { 0.0 };
    CameraAreaCount {
        area: r.area,
        minute: r.minute,
        kind: r.kind,
        frames: r.frames,
        mean,
        peak: r.peak,
        forward: r.forward,
        back: r.back,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(name: &str, shape: AreaShape, points: &[[f64; 2]]) -> CameraArea {
        CameraArea { name: name.into(), shape, points: points.to_vec(), crowd_people: None }
    }

    #[test]
    fn areas_are_checked() {
        let square = [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]];
        let ok = check(&[area(" Cổng chợ ", AreaShape::Zone, &square), area("Vạch", AreaShape::Line, &square[..2])])
            .unwrap();
        assert_eq!(ok[0].name, "Cổng chợ");
        let refused = |areas: &[CameraArea]| check(areas).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused(&[area("a", AreaShape::Zone, &square[..2])]).contains("3 to 32"));
        assert!(refused(&[area("a", AreaShape::Zone, &[[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]])]).contains("covers"));
        assert!(refused(&[area("a", AreaShape::Line, &square[..3])]).contains("two points"));
        assert!(refused(&[area("a", AreaShape::Line, &[[0.1, 0.1], [0.1, 0.105]])]).contains("apart"));
        assert!(refused(&[area("a", AreaShape::Line, &[[0.1, 0.1], [1.5, 0.1]])]).contains("fractions"));
        assert!(refused(&[area("a", AreaShape::Zone, &square), area("a ", AreaShape::Zone, &square)]).contains("two"));
        assert!(refused(&[area("", AreaShape::Zone, &square)]).contains("1 to 40"));
        let crowded_line = CameraArea { crowd_people: Some(3), ..area("a", AreaShape::Line, &square[..2]) };
        assert!(refused(&[crowded_line]).contains("only zones"));
        let nobody = CameraArea { crowd_people: Some(0), ..area("a", AreaShape::Zone, &square) };
        assert!(refused(&[nobody]).contains("1 to"));
        let many: Vec<CameraArea> = (0..17).map(|i| area(&i.to_string(), AreaShape::Zone, &square)).collect();
        assert!(refused(&many).contains("at most 16"));
    }
}
