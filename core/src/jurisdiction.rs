//! Administrative units as reference data: imported from GeoJSON, served as JSON and GeoJSON.
//!
//! A unit is identified by its code and the day it starts to exist. A reform closes old units
//! (their `valid_to`) and opens new ones in a file of the same shape; no code changes.

use geojson::{FeatureCollection, GeoJson, Geometry, GeometryValue as GeoValue};
use q10_core_api::{ImportReport, Jurisdiction};
use serde_json::{Map, Value};
use time::{Date, OffsetDateTime, format_description::well_known::Iso8601};

use crate::audit::{self, Actor, AuditKey, Event};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::store::jurisdictions::{self as rows, JurisdictionFields, JurisdictionRow};

/// One feature of an import file, validated.
#[derive(Debug, Clone)]
struct Unit {
    code: String,
    kind: String,
    parent: Option<String>,
    name_vi: String,
    name_en: String,
    boundary: Option<String>,
    source_note: String,
    valid_from: Date,
    valid_to: Option<Date>,
}

fn text(props: &Map<String, Value>, key: &'static str, at: usize, required: bool) -> Result<Option<String>> {
    match props.get(key) {
        None | Some(Value::Null) if !required => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 4096 => Ok(Some(s.trim().to_string())),
        _ => Err(Error::invalid(key, format!("feature {at}: '{key}' must be a non-empty string"))),
    }
}

fn date(props: &Map<String, Value>, key: &'static str, at: usize, required: bool) -> Result<Option<Date>> {
    let Some(s) = text(props, key, at, required)? else {
        return Ok(None);
    };
    Date::parse(&s, &Iso8601::DEFAULT)
        .map(Some)
        .map_err(|_| Error::invalid(key, format!("feature {at}: '{key}' must be a date like 2025-07-01")))
}

fn parse_units(geojson: &str) -> Result<Vec<Unit>> {
    let parsed: GeoJson = geojson.parse().map_err(|e| Error::invalid("file", format!("not GeoJSON: {e}")))?;
    let collection = FeatureCollection::try_from(parsed)
        .map_err(|_| Error::invalid("file", "expected a GeoJSON FeatureCollection"))?;
    let mut units = Vec::with_capacity(collection.features.len());
    for (i, feature) in collection.features.into_iter().enumerate() {
        let at = i + 1;
        let props = feature.properties.unwrap_or_default();
        let boundary = match feature.geometry {
            None => None,
            Some(Geometry { value: GeoValue::Polygon { .. } | GeoValue::MultiPolygon { .. }, .. }) => Some(
                serde_json::to_string(feature.geometry.as_ref().expect("matched Some above"))
                    .expect("geometry serialises"),
            ),
            Some(_) => {
                return Err(Error::invalid(
                    "geometry",
                    format!("feature {at}: a boundary must be a Polygon or MultiPolygon"),
                ));
            }
        };
        let unit = Unit {
            code: text(&props, "code", at, true)?.expect("required"),
            kind: text(&props, "kind", at, true)?.expect("required"),
            parent: text(&props, "parent", at, false)?,
            name_vi: text(&props, "name_vi", at, true)?.expect("required"),
            name_en: text(&props, "name_en", at, true)?.expect("required"),
            boundary,
            source_note: text(&props, "source_note", at, false)?.unwrap_or_default(),
            valid_from: date(&props, "valid_from", at, true)?.expect("required"),
            valid_to: date(&props, "valid_to", at, false)?,
        };
        if unit.valid_to.is_some_and(|to| to <= unit.valid_from) {
            return Err(Error::invalid("valid_to", format!("feature {at}: valid_to must come after valid_from")));
        }
        units.push(unit);
    }
    Ok(units)
}

/// Loads a FeatureCollection of units. Each feature's properties: `code`, `kind`, `name_vi`,
/// `name_en`, `valid_from` (required); `parent` (the parent's code), `valid_to`, `source_note`.
/// New versions are added, known ones updated (closing a unit is setting its `valid_to`), the
/// rest left alone. All or nothing, audited.
pub async fn import(
    store: &Store,
    key: &AuditKey,
    actor: Actor,
    source: &str,
    geojson: &str,
    now: OffsetDateTime,
) -> Result<ImportReport> {
    let mut pending = parse_units(geojson)?;
    let mut report = ImportReport { inserted: 0, updated: 0, unchanged: 0 };
    let mut tx = store.begin().await?;
    // Parents first: take every unit whose parent is known, until none are left.
    while !pending.is_empty() {
        let before = pending.len();
        let mut later = Vec::new();
        for unit in pending {
            let parent_id = match &unit.parent {
                None => None,
                Some(code) => match rows::find_valid_at_tx(&mut tx, code, unit.valid_from).await? {
                    Some(p) => Some(p.id),
                    None => {
                        later.push(unit);
                        continue;
                    }
                },
            };
            let fields = JurisdictionFields {
                code: unit.code.clone(),
                kind: unit.kind,
                parent_id,
                name_vi: unit.name_vi,
                name_en: unit.name_en,
                boundary: unit.boundary,
                source_note: unit.source_note,
                valid_from: unit.valid_from,
                valid_to: unit.valid_to,
            };
            match rows::find_version(&mut tx, &fields.code, fields.valid_from).await? {
                None => {
                    rows::insert(&mut tx, &fields).await?;
                    report.inserted += 1;
                }
                Some(existing) if same(&existing, &fields) => report.unchanged += 1,
                Some(existing) => {
                    rows::update(&mut tx, existing.id, &fields).await?;
                    report.updated += 1;
                }
            }
        }
        if later.len() == before {
            let missing: Vec<_> =
                later.iter().map(|u| format!("{} (parent {})", u.code, u.parent.as_deref().unwrap_or(""))).collect();
            return Err(Error::invalid(
                "parent",
                format!("no parent valid on the unit's first day for: {}", missing.join(", ")),
            ));
        }
        pending = later;
    }
    let event = Event::new(actor, "jurisdictions.import", "jurisdictions", "*")
        .detail(serde_json::to_value(&report).expect("report serialises"))
        .source(source);
    audit::append(&mut tx, key, event, now).await?;
    tx.commit().await?;
    Ok(report)
}

fn same(row: &JurisdictionRow, f: &JurisdictionFields) -> bool {
    row.kind == f.kind
        && row.parent_id == f.parent_id
        && row.name_vi == f.name_vi
        && row.name_en == f.name_en
        && row.boundary == f.boundary
        && row.source_note == f.source_note
        && row.valid_to == f.valid_to
}

pub fn to_api(row: &JurisdictionRow) -> Jurisdiction {
    Jurisdiction {
        code: row.code.clone(),
        kind: row.kind.clone(),
        parent: row.parent_code.clone(),
        name_vi: row.name_vi.clone(),
        name_en: row.name_en.clone(),
        valid_from: row.valid_from,
        valid_to: row.valid_to,
        source_note: row.source_note.clone(),
    }
}

/// Units as a GeoJSON FeatureCollection, in the same shape `import` reads.
pub fn to_geojson(rows: &[JurisdictionRow]) -> Value {
    let features: Vec<Value> = rows
        .iter()
        .map(|r| {
            let geometry: Value =
                r.boundary.as_deref().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
            serde_json::json!({
                "type": "Feature",
                "id": r.code,
                "geometry": geometry,
                "properties": {
                    "code": r.code, "kind": r.kind, "parent": r.parent_code,
                    "name_vi": r.name_vi, "name_en": r.name_en,
                    "valid_from": r.valid_from.to_string(), "valid_to": r.valid_to.map(|d| d.to_string()),
                    "source_note": r.source_note,
                },
            })
        })
        .collect();
    serde_json::json!({ "type": "FeatureCollection", "features": features })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_refused_with_the_feature_at_fault() {
        assert!(matches!(parse_units("{"), Err(Error::Invalid { field: Some("file"), .. })));
        let point = r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},
            "properties":{"code":"1","kind":"ward","name_vi":"a","name_en":"a","valid_from":"2020-01-01"}}]}"#;
        assert!(matches!(parse_units(point), Err(Error::Invalid { field: Some("geometry"), .. })));
        let no_name = r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,
            "properties":{"code":"1","kind":"ward","name_en":"a","valid_from":"2020-01-01"}}]}"#;
        let err = parse_units(no_name).unwrap_err();
        assert!(err.to_string().contains("feature 1"), "{err}");
        let backwards = r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,
            "properties":{"code":"1","kind":"ward","name_vi":"a","name_en":"a","valid_from":"2020-01-01","valid_to":"2019-01-01"}}]}"#;
        assert!(matches!(parse_units(backwards), Err(Error::Invalid { field: Some("valid_to"), .. })));
    }
}
