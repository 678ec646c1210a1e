//! Monitoring (`docs/monitoring.md`): sensors with thresholds, readings sent by gateways with an
//! API key, and the alerts a reading past a threshold raises, which operators acknowledge, assign
//! and resolve. One alert at a time per sensor and condition: it notes when the condition ends
//! and stays until someone resolves it. Complaints past their SLA raise an alert too, once each.
//! Changes to alerts are pushed on the live feed.

use std::collections::BTreeMap;

use q10_core_api::{Alert, AlertAction, AlertStatus, IngestReport, NewSensor, ReadingBatch, Role, Sensor, Severity};
use time::{Duration, OffsetDateTime};

use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::feed::LiveEvent;
use crate::http::AppState;
use crate::store::monitor::{self as rows, AlertRow, NewAlertRow, NewSensorRow, SensorRow};

/// Who watches sensors and works alerts (within their jurisdiction).
pub const READERS: &[Role] = &[Role::Admin, Role::Operator, Role::DistrictOfficial, Role::WardOfficial];
/// Who registers sensors.
pub const MANAGERS: &[Role] = &[Role::Admin, Role::Operator];
/// The most readings one request carries.
pub const MAX_BATCH: usize = 1000;

pub(crate) fn code_ok(code: &str) -> bool {
    (1..=64).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

pub(crate) fn label(field: &'static str, v: &str, max: usize) -> Result<String> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(Error::invalid(field, format!("{field} is 1 to {max} characters")));
    }
    Ok(v.to_string())
}

pub(crate) fn finite(field: &'static str, v: Option<f64>) -> Result<Option<f64>> {
    match v {
        Some(x) if !x.is_finite() => Err(Error::invalid(field, format!("{field} is a finite number"))),
        _ => Ok(v),
    }
}

/// A place on the map: both lon and lat, in degrees, or neither.
pub(crate) fn place(lon: Option<f64>, lat: Option<f64>) -> Result<()> {
    match (finite("lon", lon)?, finite("lat", lat)?) {
        (Some(lon), Some(lat)) if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) => Ok(()),
        (None, None) => Ok(()),
        _ => Err(Error::invalid("lon", "a place is both lon and lat, in degrees")),
    }
}

/// The unit `code` names today, if the caller manages devices (sensors, cameras) there.
pub(crate) async fn managed_unit(
    state: &AppState,
    who: &Principal,
    code: &str,
    now: OffsetDateTime,
) -> Result<crate::store::jurisdictions::JurisdictionRow> {
    let today = crate::dossier::calendar::local_date(now);
    let j =
        state.store.jurisdiction_at(code.trim(), today).await?.ok_or(Error::invalid("unit_code", "no such unit"))?;
    if !who.may_act_on(&state.store, MANAGERS, j.id).await? {
        return Err(Error::Forbidden("that unit is outside your jurisdiction".into()));
    }
    Ok(j)
}

/// Registers a sensor in a unit the caller manages.
pub async fn register(
    state: &AppState,
    who: &Principal,
    new: &NewSensor,
    source: &str,
    now: OffsetDateTime,
) -> Result<SensorRow> {
    if !code_ok(&new.code) {
        return Err(Error::invalid("code", "a code is 1 to 64 letters, digits, '-', '_' or '.'"));
    }
    let name = label("name", &new.name, 100)?;
    let kind = new.kind.trim();
    if !(1..=32).contains(&kind.len()) || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(Error::invalid("kind", "a kind is a lower-case word, e.g. temperature or flood_level"));
    }
    let unit = label("unit", &new.unit, 16)?;
    let (low, high) = (finite("low", new.low)?, finite("high", new.high)?);
    if let (Some(l), Some(h)) = (low, high)
        && l >= h
    {
        return Err(Error::invalid("high", "high is above low"));
    }
    place(new.lon, new.lat)?;
    let j = managed_unit(state, who, &new.unit_code, now).await?;
    if state.store.sensor_by_code(&new.code).await?.is_some() {
        return Err(Error::Conflict(format!("a sensor '{}' is registered already", new.code)));
    }
    let row = NewSensorRow {
        code: &new.code,
        name: &name,
        kind,
        unit: &unit,
        jurisdiction_id: j.id,
        lon: new.lon,
        lat: new.lat,
        low,
        high,
        severity: new.severity.unwrap_or(Severity::High).as_str(),
    };
    let mut tx = state.store.begin().await?;
    let id = rows::insert_sensor(&mut tx, &row, now).await?;
    let event = Event::new(who.actor(), "monitor.sensor.register", "sensor", id).source(source);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    state.store.sensor(id).await?.ok_or(Error::NotFound("sensor"))
}

/// The condition a value is in: `high`, `low`, or none.
fn condition(s: &SensorRow, value: f64) -> Option<&'static str> {
    if s.high.is_some_and(|h| value > h) {
        Some("high")
    } else if s.low.is_some_and(|l| value < l) {
        Some("low")
    } else {
        None
    }
}

/// Stores a gateway's readings (all or none) and raises or clears alerts by each sensor's newest
/// reading. Readings already stored are skipped, so a gateway may send again after a timeout.
pub async fn ingest(state: &AppState, client: &str, batch: &ReadingBatch, now: OffsetDateTime) -> Result<IngestReport> {
    if batch.readings.is_empty() || batch.readings.len() > MAX_BATCH {
        return Err(Error::invalid("readings", format!("send 1 to {MAX_BATCH} readings")));
    }
    let mut sensors: BTreeMap<String, SensorRow> = BTreeMap::new();
    for (i, r) in batch.readings.iter().enumerate() {
        if !r.value.is_finite() {
            return Err(Error::invalid("readings", format!("reading {i}: the value is not a finite number")));
        }
        if r.at > now + Duration::minutes(5) || r.at < now - Duration::days(30) {
            return Err(Error::invalid("readings", format!("reading {i}: the time is not within the last 30 days")));
        }
        if !sensors.contains_key(&r.sensor) {
            let s = state.store.sensor_by_code(&r.sensor).await?.ok_or_else(|| {
                Error::invalid("readings", format!("reading {i}: no sensor is registered as that code"))
            })?;
            sensors.insert(r.sensor.clone(), s);
        }
    }
    let mut tx = state.store.begin().await?;
    let (mut stored, mut duplicates) = (0, 0);
    let mut newest: BTreeMap<&str, (OffsetDateTime, f64)> = BTreeMap::new();
    for r in &batch.readings {
        let s = &sensors[&r.sensor];
        if rows::insert_reading(&mut tx, s.id, r.at, r.value).await? {
            stored += 1;
            rows::set_last(&mut tx, s.id, r.at, r.value).await?;
            let e = newest.entry(r.sensor.as_str()).or_insert((r.at, r.value));
            if r.at >= e.0 {
                *e = (r.at, r.value);
            }
        } else {
            duplicates += 1;
        }
    }
    let mut raised = Vec::new();
    let mut changed = Vec::new();
    for (code, (at, value)) in newest {
        let s = &sensors[code];
        if s.last_at.is_some_and(|last| last > at) {
            continue; // an older reading sent late: the newer one decided already
        }
        let now_in = condition(s, value);
        for cond in ["high", "low"] {
            let live = rows::live_alert(&mut tx, "sensor", s.id, cond).await?;
            match (live, now_in == Some(cond)) {
                (None, true) => {
                    let title = format!("{}: {value} {} ({cond})", s.name, s.unit);
                    let alert = NewAlertRow {
                        kind: "sensor_threshold",
                        severity: &s.severity,
                        source_type: "sensor",
                        source_id: s.id,
                        condition: cond,
                        jurisdiction_id: s.jurisdiction_id,
                        title: &title,
                        value: Some(value),
                    };
                    let id = rows::insert_alert(&mut tx, &alert, now).await?;
                    let event = Event::new(Actor::system(), "monitor.alert.raise", "alert", id)
                        .detail(serde_json::json!({ "sensor": s.id, "condition": cond }))
                        .source(client);
                    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
                    raised.push(id);
                }
                (Some((id, true)), true) => {
                    rows::set_cleared(&mut tx, id, None, now).await?;
                    changed.push(id);
                }
                (Some((id, false)), false) => {
                    rows::set_cleared(&mut tx, id, Some(at), now).await?;
                    changed.push(id);
                }
                _ => {}
            }
        }
    }
    tx.commit().await?;
    for (kind, ids) in [("alert.raised", &raised), ("alert.changed", &changed)] {
        for id in ids {
            if let Some(a) = state.store.alert(*id).await? {
                state.feed.publish(live(kind, &a, now));
            }
        }
    }
    Ok(IngestReport { stored, duplicates, alerts_raised: raised })
}

/// The most overdue complaints one pass raises alerts for (the rest wait for the next pass).
const OVERDUE_BATCH: i64 = 200;

/// One pass over complaints: raises an alert for each open complaint of a ward that went past its
/// SLA (once per complaint, medium severity), and notes as cleared the alerts of those since fixed,
/// closed or set aside. Returns the alerts raised.
pub async fn watch_overdue(state: &AppState, now: OffsetDateTime) -> Result<Vec<i64>> {
    let mut tx = state.store.begin().await?;
    let mut raised = Vec::new();
    for c in rows::overdue_without_alert(&mut tx, now, OVERDUE_BATCH).await? {
        let hours = ((now - c.due_at).whole_minutes() as f64 / 6.0).round() / 10.0;
        let title = format!("Phản ánh #{} ({}) quá hạn xử lý", c.id, c.category_vi);
        let alert = NewAlertRow {
            kind: "complaint_overdue",
            severity: Severity::Medium.as_str(),
            source_type: "complaint",
            source_id: c.id,
            condition: "overdue",
            jurisdiction_id: c.ward_id,
            title: &title,
            value: Some(hours),
        };
        let id = rows::insert_alert(&mut tx, &alert, now).await?;
        let event = Event::new(Actor::system(), "monitor.alert.raise", "alert", id)
            .detail(serde_json::json!({ "complaint": c.id, "condition": "overdue" }));
        audit::append(&mut tx, &state.secrets.audit, event, now).await?;
        raised.push(id);
    }
    let settled = rows::overdue_alerts_settled(&mut tx).await?;
    for id in &settled {
        rows::set_cleared(&mut tx, *id, Some(now), now).await?;
    }
    tx.commit().await?;
    for (kind, ids) in [("alert.raised", &raised), ("alert.changed", &settled)] {
        for id in ids {
            if let Some(a) = state.store.alert(*id).await? {
                state.feed.publish(live(kind, &a, now));
            }
        }
    }
    Ok(raised)
}

/// Watches for overdue complaints, and for kiosks gone offline and calls rung out, every minute
/// until the process ends.
pub async fn run_overdue_watch(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = watch_overdue(&state, state.now()).await {
            tracing::warn!(error = %e, "watching for overdue complaints failed");
        }
        if let Err(e) = crate::kiosk::watch(&state, state.now()).await {
            tracing::warn!(error = %e, "watching the kiosks failed");
        }
    }
}

pub(crate) fn live(kind: &'static str, a: &AlertRow, now: OffsetDateTime) -> LiveEvent {
    LiveEvent {
        kind,
        id: a.id,
        status: a.status.clone(),
        category: Some(a.severity.clone()),
        ward: Some(a.unit_code.clone()),
        at: now,
    }
}

/// Whether `who` watches the unit.
pub async fn may_read(state: &AppState, who: &Principal, unit: i64) -> Result<bool> {
    who.may_act_on(&state.store, READERS, unit).await
}

/// What an operator does to an alert in their jurisdiction.
pub async fn act(
    state: &AppState,
    who: &Principal,
    id: i64,
    action: &AlertAction,
    source: &str,
    now: OffsetDateTime,
) -> Result<AlertRow> {
    let a = state.store.alert(id).await?.ok_or(Error::NotFound("alert"))?;
    if !may_read(state, who, a.jurisdiction_id).await? {
        return Err(Error::NotFound("alert"));
    }
    let mut h = state.store.alert_handling(id).await?.ok_or(Error::NotFound("alert"))?;
    if h.status == AlertStatus::Resolved.as_str() {
        return Err(Error::Conflict("the alert is resolved".into()));
    }
    let (name, detail) = match action {
        AlertAction::Acknowledge => {
            if h.acknowledged_at.is_some() {
                return Err(Error::Conflict("the alert is acknowledged already".into()));
            }
            h.acknowledged_at = Some(now);
            h.acknowledged_by = Some(who.user_id);
            h.status = AlertStatus::Acknowledged.as_str().into();
            ("monitor.alert.acknowledge", serde_json::json!({}))
        }
        AlertAction::Assign { username } => {
            let (u, grants) = crate::account::colleague(&state.store, username).await?;
            let mut covers = false;
            for g in &grants {
                let reader = g.role.parse().is_ok_and(|r| READERS.contains(&r));
                if reader && state.store.jurisdiction_covers(g.jurisdiction_id, a.jurisdiction_id).await? {
                    covers = true;
                }
            }
            if !covers {
                return Err(Error::invalid("username", "that account does not watch this alert's unit"));
            }
            h.assignee_id = Some(u.id);
            if h.acknowledged_at.is_none() {
                h.acknowledged_at = Some(now);
                h.acknowledged_by = Some(who.user_id);
            }
            h.status = AlertStatus::Acknowledged.as_str().into();
            ("monitor.alert.assign", serde_json::json!({ "assignee": u.id }))
        }
        AlertAction::Resolve { note } => {
            h.note = Some(label("note", note, 500)?);
            h.resolved_at = Some(now);
            h.resolved_by = Some(who.user_id);
            h.status = AlertStatus::Resolved.as_str().into();
            ("monitor.alert.resolve", serde_json::json!({}))
        }
    };
    let mut tx = state.store.begin().await?;
    if !rows::update_alert(&mut tx, &h, now).await? {
        return Err(Error::Conflict("the alert was resolved meanwhile".into()));
    }
    let event = Event::new(who.actor(), name, "alert", id).detail(detail).source(source);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    let after = state.store.alert(id).await?.ok_or(Error::NotFound("alert"))?;
    state.feed.publish(live("alert.changed", &after, now));
    Ok(after)
}

fn severity(s: &str) -> Result<Severity> {
    Severity::parse(s).ok_or_else(|| Error::Internal(anyhow::anyhow!("severity {s}")))
}

pub fn sensor_view(s: SensorRow) -> Result<Sensor> {
    Ok(Sensor {
        id: s.id,
        code: s.code,
        name: s.name,
        kind: s.kind,
        unit: s.unit,
        unit_code: s.unit_code,
        unit_name: s.unit_name,
        lon: s.lon,
        lat: s.lat,
        low: s.low,
        high: s.high,
        severity: severity(&s.severity)?,
        last_value: s.last_value,
        last_at: s.last_at,
    })
}

pub fn alert_view(a: AlertRow) -> Result<Alert> {
    Ok(Alert {
        id: a.id,
        kind: a.kind,
        severity: severity(&a.severity)?,
        status: AlertStatus::parse(&a.status).ok_or_else(|| Error::Internal(anyhow::anyhow!("alert status")))?,
        source_type: a.source_type,
        source_id: a.source_id,
        condition: a.condition,
        unit_code: a.unit_code,
        unit_name: a.unit_name,
        title: a.title,
        value: a.value,
        raised_at: a.raised_at,
        cleared_at: a.cleared_at,
        acknowledged_at: a.acknowledged_at,
        acknowledged_by: a.acknowledged_by,
        assignee: a.assignee,
        resolved_at: a.resolved_at,
        resolved_by: a.resolved_by,
        note: a.note,
    })
}
