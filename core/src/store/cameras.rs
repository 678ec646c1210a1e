//! Street cameras.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Db, Store, Ts, Tx, on_pool, on_tx};
use crate::Result;

#[derive(Debug, Clone, FromRow)]
pub struct CameraRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub jurisdiction_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub heading: Option<f64>,
    /// The RTSP URL with its credentials, sealed.
    pub source_sealed: Vec<u8>,
    pub source_shown: String,
    pub transport: String,
    pub enabled: bool,
    /// `off`, `continuous` or `scheduled` (within `schedule`, 'HH:MM-HH:MM' in Vietnam time).
    pub recording: String,
    pub schedule: Option<String>,
    pub retention_hours: i64,
    /// The counting zones and lines, as JSON (`[CameraArea]`).
    pub areas: String,
    pub updated_at: OffsetDateTime,
    pub health_state: Option<String>,
    pub health_since: Option<OffsetDateTime>,
    pub health_checked_at: Option<OffsetDateTime>,
    pub health_fps: Option<f64>,
    pub health_bitrate: Option<f64>,
    pub health_width: Option<i64>,
    pub health_height: Option<i64>,
    pub health_keyframe_at: Option<OffsetDateTime>,
    pub health_fault: Option<String>,
}

macro_rules! camera_select {
    () => {
        "SELECT c.id, c.code, c.name, c.jurisdiction_id, j.code AS unit_code, j.name_vi AS unit_name, c.lon, c.lat, \
         c.heading, c.source_sealed, c.source_shown, c.transport, c.enabled, c.recording, c.schedule, c.retention_hours, c.areas, c.updated_at, h.state AS health_state, \
         h.since AS health_since, h.checked_at AS health_checked_at, h.fps AS health_fps, h.bitrate AS health_bitrate, \
         h.width AS health_width, h.height AS health_height, h.last_keyframe_at AS health_keyframe_at, \
         h.fault AS health_fault \
         FROM cameras c JOIN jurisdictions j ON j.id = c.jurisdiction_id LEFT JOIN camera_health h ON h.camera_id = c.id"
    };
}

/// What a camera row holds besides its identity; written whole on insert and on update.
pub(crate) struct CameraFields<'a> {
    pub name: &'a str,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub heading: Option<f64>,
    pub source_sealed: &'a [u8],
    pub source_shown: &'a str,
    pub transport: &'a str,
    pub enabled: bool,
    pub recording: &'a str,
    pub schedule: Option<&'a str>,
    pub retention_hours: i64,
    pub areas: &'a str,
}

pub(crate) async fn insert_camera(
    tx: &mut Tx,
    code: &str,
    jurisdiction_id: i64,
    f: &CameraFields<'_>,
    now: OffsetDateTime,
) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO cameras (code, name, jurisdiction_id, lon, lat, heading, source_sealed, source_shown, transport, \
         enabled, recording, schedule, retention_hours, areas, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id",
    )
    .bind(code)
    .bind(f.name)
    .bind(jurisdiction_id)
    .bind(f.lon)
    .bind(f.lat)
    .bind(f.heading)
    .bind(f.source_sealed)
    .bind(f.source_shown)
    .bind(f.transport)
    .bind(f.enabled)
    .bind(f.recording)
    .bind(f.schedule)
    .bind(f.retention_hours)
    .bind(f.areas)
    .bind(Ts(now))
    .fetch_one(c)
    .await?))
}

pub(crate) async fn update_camera(tx: &mut Tx, id: i64, f: &CameraFields<'_>, now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE cameras SET name = $2, lon = $3, lat = $4, heading = $5, source_sealed = $6, source_shown = $7, \
         transport = $8, enabled = $9, recording = $10, schedule = $11, retention_hours = $12, areas = $13, \
         updated_at = $14 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(f.name)
    .bind(f.lon)
    .bind(f.lat)
    .bind(f.heading)
    .bind(f.source_sealed)
    .bind(f.source_shown)
    .bind(f.transport)
    .bind(f.enabled)
    .bind(f.recording)
    .bind(f.schedule)
    .bind(f.retention_hours)
    .bind(f.areas)
    .bind(Ts(now))
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

/// A camera's health as its ingest reported it.
pub(crate) struct HealthRow<'a> {
    pub state: &'a str,
    pub since: OffsetDateTime,
    pub fps: f64,
    pub bitrate: f64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub last_keyframe_at: Option<OffsetDateTime>,
    pub fault: Option<&'a str>,
}

pub(crate) async fn set_health(tx: &mut Tx, camera_id: i64, h: &HealthRow<'_>, now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO camera_health (camera_id, state, since, checked_at, fps, bitrate, width, height, last_keyframe_at, \
         fault) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (camera_id) DO UPDATE SET \
         state = excluded.state, since = excluded.since, checked_at = excluded.checked_at, fps = excluded.fps, \
         bitrate = excluded.bitrate, width = excluded.width, height = excluded.height, \
         last_keyframe_at = excluded.last_keyframe_at, fault = excluded.fault",
    )
    .bind(camera_id)
    .bind(h.state)
    .bind(Ts(h.since))
    .bind(Ts(now))
    .bind(h.fps)
    .bind(h.bitrate)
    .bind(h.width)
    .bind(h.height)
    .bind(h.last_keyframe_at.map(Ts))
    .bind(h.fault)
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

impl Store {
    pub async fn cameras(&self) -> Result<Vec<CameraRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(camera_select!(), " ORDER BY c.code")).fetch_all(p).await?))
    }

    pub async fn camera(&self, id: i64) -> Result<Option<CameraRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(camera_select!(), " WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(p)
            .await?))
    }

    pub async fn camera_by_code(&self, code: &str) -> Result<Option<CameraRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(camera_select!(), " WHERE c.code = $1"))
            .bind(code)
            .fetch_optional(p)
            .await?))
    }
}

/// One minute of one kind on one camera, as counted.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct CountRow {
    pub minute: OffsetDateTime,
    pub kind: String,
    pub frames: i64,
    pub in_view: i64,
    pub peak: i64,
    pub appeared: i64,
}

#[derive(FromRow)]
struct RecentCountRow {
    camera_id: i64,
    #[sqlx(flatten)]
    count: CountRow,
}

/// Keeps the counts of a minute so far (a later write for the same minute replaces them).
pub(crate) async fn set_counts(tx: &mut Tx, camera_id: i64, rows: &[CountRow]) -> Result<()> {
    for r in rows {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO camera_counts (camera_id, minute, kind, frames, in_view, peak, appeared) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (camera_id, minute, kind) DO UPDATE SET \
             frames = excluded.frames, in_view = excluded.in_view, peak = excluded.peak, appeared = excluded.appeared",
        )
        .bind(camera_id)
        .bind(Ts(r.minute))
        .bind(&r.kind)
        .bind(r.frames)
        .bind(r.in_view)
        .bind(r.peak)
        .bind(r.appeared)
        .execute(c)
        .await?
        .rows_affected());
    }
    Ok(())
}

impl Store {
    /// A camera's counts from `since` on, oldest first.
    /// Every camera's counts since `since` (for the latest minute of each), with its id.
    pub async fn recent_counts(&self, since: OffsetDateTime) -> Result<Vec<(i64, CountRow)>> {
        let rows: Vec<RecentCountRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT camera_id, minute, kind, frames, in_view, peak, appeared FROM camera_counts \
             WHERE minute >= $1 ORDER BY camera_id, minute, kind",
        )
        .bind(Ts(since))
        .fetch_all(p)
        .await?);
        Ok(rows.into_iter().map(|r| (r.camera_id, r.count)).collect())
    }

    pub async fn camera_counts(&self, camera_id: i64, since: OffsetDateTime) -> Result<Vec<CountRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT minute, kind, frames, in_view, peak, appeared FROM camera_counts \
             WHERE camera_id = $1 AND minute >= $2 ORDER BY minute, kind",
        )
        .bind(camera_id)
        .bind(Ts(since))
        .fetch_all(p)
        .await?))
    }
}

/// One minute of one kind in one of a camera's areas, as counted.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct AreaCountRow {
    pub area: String,
    pub minute: OffsetDateTime,
    pub kind: String,
    pub frames: i64,
    pub in_view: i64,
    pub peak: i64,
    pub forward: i64,
    pub back: i64,
}

/// Keeps the area counts of a minute so far (a later write for the same minute replaces them).
pub(crate) async fn set_area_counts(tx: &mut Tx, camera_id: i64, rows: &[AreaCountRow]) -> Result<()> {
    for r in rows {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO camera_area_counts (camera_id, area, minute, kind, frames, in_view, peak, forward, back) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (camera_id, minute, area, kind) DO UPDATE SET \
             frames = excluded.frames, in_view = excluded.in_view, peak = excluded.peak, \
             forward = excluded.forward, back = excluded.back",
        )
        .bind(camera_id)
        .bind(&r.area)
        .bind(Ts(r.minute))
        .bind(&r.kind)
        .bind(r.frames)
        .bind(r.in_view)
        .bind(r.peak)
        .bind(r.forward)
        .bind(r.back)
        .execute(c)
        .await?
        .rows_affected());
    }
    Ok(())
}

impl Store {
    /// A camera's area counts from `since` on, oldest first.
    pub async fn camera_area_counts(&self, camera_id: i64, since: OffsetDateTime) -> Result<Vec<AreaCountRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT area, minute, kind, frames, in_view, peak, forward, back FROM camera_area_counts \
             WHERE camera_id = $1 AND minute >= $2 ORDER BY minute, area, kind",
        )
        .bind(camera_id)
        .bind(Ts(since))
        .fetch_all(p)
        .await?))
    }
}

/// A kind's counts over one hour of a unit's cameras.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct HourRow {
    /// The hour in UTC, `YYYY-MM-DDTHH`.
    pub hour: String,
    pub kind: String,
    pub appeared: i64,
    pub peak: i64,
}

impl Store {
    /// Counts of all cameras (or of one ward's) from `since` on, by hour and kind, oldest first.
    pub async fn camera_hours(&self, since: OffsetDateTime, ward: Option<i64>) -> Result<Vec<HourRow>> {
        // The hour in each engine's words: SQLite keeps times as fixed-width UTC text.
        macro_rules! by_hour {
            ($hour:literal) => {
                concat!(
                    "SELECT ", $hour, " AS hour, cc.kind, CAST(SUM(cc.appeared) AS BIGINT) AS appeared, \
                     CAST(MAX(cc.peak) AS BIGINT) AS peak FROM camera_counts cc JOIN cameras c ON c.id = cc.camera_id \
                     WHERE cc.minute >= $1 AND (CAST($2 AS BIGINT) IS NULL OR c.jurisdiction_id = $2) \
                     GROUP BY 1, 2 ORDER BY 1, 2"
                )
            };
        }
        Ok(match &self.db {
            Db::Sqlite(p, _) => {
                sqlx::query_as(by_hour!("substr(cc.minute, 1, 13)")).bind(Ts(since)).bind(ward).fetch_all(p).await?
            }
            Db::Postgres(p) => {
                sqlx::query_as(by_hour!("to_char(cc.minute AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24')"))
                    .bind(Ts(since))
                    .bind(ward)
                    .fetch_all(p)
                    .await?
            }
        })
    }
}
