//! Sensors, their readings, and alerts.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Store, Ts, Tx, on_pool, on_tx};
use crate::Result;

#[derive(Debug, Clone, FromRow)]
pub struct SensorRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub unit: String,
    pub jurisdiction_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub severity: String,
    pub last_value: Option<f64>,
    pub last_at: Option<OffsetDateTime>,
}

macro_rules! sensor_select {
    () => {
        "SELECT s.id, s.code, s.name, s.kind, s.unit, s.jurisdiction_id, j.code AS unit_code, j.name_vi AS unit_name, \
         s.lon, s.lat, s.low, s.high, s.severity, s.last_value, s.last_at \
         FROM sensors s JOIN jurisdictions j ON j.id = s.jurisdiction_id"
    };
}

#[derive(Debug, Clone, FromRow)]
pub struct AlertRow {
    pub id: i64,
    pub kind: String,
    pub severity: String,
    pub status: String,
    pub source_type: String,
    pub source_id: i64,
    pub condition: String,
    pub jurisdiction_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub title: String,
    pub value: Option<f64>,
    pub raised_at: OffsetDateTime,
    pub cleared_at: Option<OffsetDateTime>,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub acknowledged_by: Option<String>,
    pub assignee: Option<String>,
    pub resolved_at: Option<OffsetDateTime>,
    pub resolved_by: Option<String>,
    pub note: Option<String>,
}

macro_rules! alert_select {
    () => {
        "SELECT a.id, a.kind, a.severity, a.status, a.source_type, a.source_id, a.condition, a.jurisdiction_id, \
         j.code AS unit_code, j.name_vi AS unit_name, a.title, a.value, a.raised_at, a.cleared_at, a.acknowledged_at, \
         k.display_name AS acknowledged_by, g.display_name AS assignee, a.resolved_at, r.display_name AS resolved_by, \
         a.note FROM alerts a JOIN jurisdictions j ON j.id = a.jurisdiction_id \
         LEFT JOIN users k ON k.id = a.acknowledged_by LEFT JOIN users g ON g.id = a.assignee_id \
         LEFT JOIN users r ON r.id = a.resolved_by"
    };
}

pub(crate) struct NewSensorRow<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub unit: &'a str,
    pub jurisdiction_id: i64,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub severity: &'a str,
}

pub(crate) async fn insert_sensor(tx: &mut Tx, s: &NewSensorRow<'_>, now: OffsetDateTime) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO sensors (code, name, kind, unit, jurisdiction_id, lon, lat, low, high, severity, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(s.code)
    .bind(s.name)
    .bind(s.kind)
    .bind(s.unit)
    .bind(s.jurisdiction_id)
    .bind(s.lon)
    .bind(s.lat)
    .bind(s.low)
    .bind(s.high)
    .bind(s.severity)
    .bind(Ts(now))
    .fetch_one(c)
    .await?))
}

/// Stores a reading; false when the sensor has one at that time already.
pub(crate) async fn insert_reading(tx: &mut Tx, sensor_id: i64, at: OffsetDateTime, value: f64) -> Result<bool> {
    Ok(on_tx!(tx, c => sqlx::query(
        "INSERT INTO sensor_readings (sensor_id, at, value) VALUES ($1, $2, $3) ON CONFLICT (sensor_id, at) DO NOTHING",
    )
    .bind(sensor_id)
    .bind(Ts(at))
    .bind(value)
    .execute(c)
    .await?
    .rows_affected())
        == 1)
}

/// Keeps the sensor's latest reading.
pub(crate) async fn set_last(tx: &mut Tx, sensor_id: i64, at: OffsetDateTime, value: f64) -> Result<()> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE sensors SET last_value = $2, last_at = $3 WHERE id = $1 AND (last_at IS NULL OR last_at < $3)",
    )
    .bind(sensor_id)
    .bind(value)
    .bind(Ts(at))
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

/// The alert not yet resolved for a source's condition, if any: (id, cleared).
pub(crate) async fn live_alert(
    tx: &mut Tx,
    source_type: &str,
    source_id: i64,
    condition: &str,
) -> Result<Option<(i64, bool)>> {
    let row: Option<(i64, Option<OffsetDateTime>)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT id, cleared_at FROM alerts WHERE source_type = $1 AND source_id = $2 AND condition = $3 \
         AND status <> 'resolved'",
    )
    .bind(source_type)
    .bind(source_id)
    .bind(condition)
    .fetch_optional(c)
    .await?);
    Ok(row.map(|(id, cleared)| (id, cleared.is_some())))
}

/// An open complaint past its SLA that has never had an overdue alert.
#[derive(Debug, Clone, FromRow)]
pub struct OverdueRow {
    pub id: i64,
    pub ward_id: i64,
    pub category_vi: String,
    pub due_at: OffsetDateTime,
}

/// Open complaints of a ward past their SLA at `now` that have never had an overdue alert, the
/// longest overdue first, at most `limit`.
pub(crate) async fn overdue_without_alert(tx: &mut Tx, now: OffsetDateTime, limit: i64) -> Result<Vec<OverdueRow>> {
    Ok(on_tx!(tx, c => sqlx::query_as(
        "SELECT c.id, c.ward_id, k.name_vi AS category_vi, c.due_at FROM complaints c \
         JOIN complaint_categories k ON k.code = c.category_code \
         WHERE c.is_open AND c.due_at < $1 AND c.ward_id IS NOT NULL AND NOT EXISTS ( \
             SELECT 1 FROM alerts a WHERE a.source_type = 'complaint' AND a.source_id = c.id AND a.condition = 'overdue') \
         ORDER BY c.due_at LIMIT $2",
    )
    .bind(Ts(now))
    .bind(limit)
    .fetch_all(c)
    .await?))
}

/// Overdue alerts not yet marked cleared whose complaint has since been fixed, closed or set aside.
pub(crate) async fn overdue_alerts_settled(tx: &mut Tx) -> Result<Vec<i64>> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "SELECT a.id FROM alerts a JOIN complaints c ON c.id = a.source_id \
         WHERE a.source_type = 'complaint' AND a.condition = 'overdue' AND a.status <> 'resolved' \
         AND a.cleared_at IS NULL AND NOT c.is_open",
    )
    .fetch_all(c)
    .await?))
}

pub(crate) struct NewAlertRow<'a> {
    pub kind: &'a str,
    pub severity: &'a str,
    pub source_type: &'a str,
    pub source_id: i64,
    pub condition: &'a str,
    pub jurisdiction_id: i64,
    pub title: &'a str,
    pub value: Option<f64>,
}

pub(crate) async fn insert_alert(tx: &mut Tx, a: &NewAlertRow<'_>, now: OffsetDateTime) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO alerts (kind, severity, status, source_type, source_id, condition, jurisdiction_id, title, value, \
         raised_at, updated_at) VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(a.kind)
    .bind(a.severity)
    .bind(a.source_type)
    .bind(a.source_id)
    .bind(a.condition)
    .bind(a.jurisdiction_id)
    .bind(a.title)
    .bind(a.value)
    .bind(Ts(now))
    .fetch_one(c)
    .await?))
}

/// Marks whether the alert's condition still holds: cleared at `at`, or holding again (`None`).
pub(crate) async fn set_cleared(tx: &mut Tx, id: i64, at: Option<OffsetDateTime>, now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, c => sqlx::query("UPDATE alerts SET cleared_at = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(at.map(Ts))
        .bind(Ts(now))
        .execute(c)
        .await?
        .rows_affected());
    Ok(())
}

/// Writes an alert's handling; false when it was resolved meanwhile.
pub(crate) async fn update_alert(tx: &mut Tx, a: &AlertUpdate, now: OffsetDateTime) -> Result<bool> {
    Ok(on_tx!(tx, c => sqlx::query(
        "UPDATE alerts SET status = $2, acknowledged_at = $3, acknowledged_by = $4, assignee_id = $5, resolved_at = $6, \
         resolved_by = $7, note = $8, updated_at = $9 WHERE id = $1 AND status <> 'resolved'",
    )
    .bind(a.id)
    .bind(&a.status)
    .bind(a.acknowledged_at.map(Ts))
    .bind(a.acknowledged_by)
    .bind(a.assignee_id)
    .bind(a.resolved_at.map(Ts))
    .bind(a.resolved_by)
    .bind(a.note.as_deref())
    .bind(Ts(now))
    .execute(c)
    .await?
    .rows_affected())
        == 1)
}

/// The handling part of an alert.
#[derive(Debug, Clone, FromRow)]
pub struct AlertUpdate {
    pub id: i64,
    pub status: String,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub acknowledged_by: Option<i64>,
    pub assignee_id: Option<i64>,
    pub resolved_at: Option<OffsetDateTime>,
    pub resolved_by: Option<i64>,
    pub note: Option<String>,
}

impl Store {
    pub async fn sensors(&self) -> Result<Vec<SensorRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(sensor_select!(), " ORDER BY s.code")).fetch_all(p).await?))
    }

    pub async fn sensor(&self, id: i64) -> Result<Option<SensorRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(sensor_select!(), " WHERE s.id = $1"))
            .bind(id)
            .fetch_optional(p)
            .await?))
    }

    pub async fn sensor_by_code(&self, code: &str) -> Result<Option<SensorRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(sensor_select!(), " WHERE s.code = $1"))
            .bind(code)
            .fetch_optional(p)
            .await?))
    }

    /// A sensor's readings from `from` to `to`, oldest first (at most `limit`).
    pub async fn sensor_readings(
        &self,
        sensor_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<(OffsetDateTime, f64)>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT at, value FROM sensor_readings WHERE sensor_id = $1 AND at >= $2 AND at < $3 ORDER BY at LIMIT $4",
        )
        .bind(sensor_id)
        .bind(Ts(from))
        .bind(Ts(to))
        .bind(limit)
        .fetch_all(p)
        .await?))
    }

    pub async fn alert(&self, id: i64) -> Result<Option<AlertRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(alert_select!(), " WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(p)
            .await?))
    }

    pub async fn alert_handling(&self, id: i64) -> Result<Option<AlertUpdate>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, status, acknowledged_at, acknowledged_by, assignee_id, resolved_at, resolved_by, note \
             FROM alerts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await?))
    }

    /// Alerts, newest first: those not resolved, or all (at most `limit`).
    pub async fn alerts(&self, status: Option<&str>, limit: i64) -> Result<Vec<AlertRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(
            alert_select!(),
            " WHERE ($1 IS NULL OR a.status = $1) ORDER BY a.raised_at DESC, a.id DESC LIMIT $2"
        ))
        .bind(status)
        .bind(limit)
        .fetch_all(p)
        .await?))
    }

    /// Alerts not yet resolved, of one unit or all.
    pub async fn open_alert_count(&self, unit: Option<i64>) -> Result<i64> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM alerts WHERE status <> 'resolved' AND ($1 IS NULL OR jurisdiction_id = $1)",
        )
        .bind(unit)
        .fetch_one(p)
        .await?))
    }
}
