//! Kiosks (machine accounts with the kiosk role, and what they last reported) and their calls.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Store, Ts, Tx, on_pool, on_tx};
use crate::Result;

/// A kiosk account with its fleet row, if it has one yet.
#[derive(Debug, Clone, FromRow)]
pub struct KioskRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub jurisdiction_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub idle_seconds: Option<i64>,
    pub languages: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub version: Option<String>,
    pub started_at: Option<OffsetDateTime>,
    pub printer: Option<String>,
    pub network: Option<String>,
    pub last_seen_at: Option<OffsetDateTime>,
    pub screenshot_requested_at: Option<OffsetDateTime>,
    pub screenshot_at: Option<OffsetDateTime>,
}

macro_rules! kiosk_select {
    () => {
        "SELECT u.id, u.username, u.display_name, g.jurisdiction_id, j.code AS unit_code, j.name_vi AS unit_name, \
         k.idle_seconds, k.languages, k.lon, k.lat, k.version, k.started_at, k.printer, k.network, k.last_seen_at, \
         k.screenshot_requested_at, k.screenshot_at \
         FROM users u JOIN role_grants g ON g.user_id = u.id AND g.role = 'kiosk_device' \
         JOIN jurisdictions j ON j.id = g.jurisdiction_id LEFT JOIN kiosks k ON k.user_id = u.id \
         WHERE u.disabled = FALSE"
    };
}

#[derive(Debug, Clone, FromRow)]
pub struct KioskCallRow {
    pub id: i64,
    pub kiosk_id: i64,
    pub kiosk_name: String,
    pub jurisdiction_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub status: String,
    pub officer_id: Option<i64>,
    pub officer: Option<String>,
    pub created_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
}

macro_rules! call_select {
    () => {
        "SELECT c.id, c.kiosk_id, k.display_name AS kiosk_name, c.jurisdiction_id, j.code AS unit_code, \
         j.name_vi AS unit_name, c.status, c.officer_id, o.display_name AS officer, c.created_at, c.answered_at, \
         c.ended_at FROM kiosk_calls c JOIN users k ON k.id = c.kiosk_id \
         JOIN jurisdictions j ON j.id = c.jurisdiction_id LEFT JOIN users o ON o.id = c.officer_id"
    };
}

/// What a heartbeat tells.
pub(crate) struct Beat<'a> {
    pub version: &'a str,
    pub started_at: OffsetDateTime,
    pub printer: &'a str,
    pub network: &'a str,
}

/// Keeps what a kiosk reported; makes its fleet row at its first heartbeat.
pub(crate) async fn beat(tx: &mut Tx, id: i64, b: &Beat<'_>, now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO kiosks (user_id, version, started_at, printer, network, last_seen_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (user_id) DO UPDATE SET version = excluded.version, \
         started_at = excluded.started_at, printer = excluded.printer, network = excluded.network, \
         last_seen_at = excluded.last_seen_at, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(b.version)
    .bind(Ts(b.started_at))
    .bind(b.printer)
    .bind(b.network)
    .bind(Ts(now))
    .execute(c)
    .await
    .map(|_| ())?);
    Ok(())
}

/// A kiosk's settings, all given (the caller merges what was not changed).
pub(crate) struct Settings<'a> {
    pub idle_seconds: i64,
    pub languages: &'a str,
    pub location: Option<[f64; 2]>,
}

pub(crate) async fn set_settings(tx: &mut Tx, id: i64, s: &Settings<'_>, now: OffsetDateTime) -> Result<()> {
    let (lon, lat) = (s.location.map(|l| l[0]), s.location.map(|l| l[1]));
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO kiosks (user_id, idle_seconds, languages, lon, lat, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (user_id) DO UPDATE SET idle_seconds = excluded.idle_seconds, languages = excluded.languages, \
         lon = excluded.lon, lat = excluded.lat, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(s.idle_seconds)
    .bind(s.languages)
    .bind(lon)
    .bind(lat)
    .bind(Ts(now))
    .execute(c)
    .await
    .map(|_| ())?);
    Ok(())
}

pub(crate) async fn request_screenshot(tx: &mut Tx, id: i64, now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO kiosks (user_id, screenshot_requested_at, updated_at) VALUES ($1, $2, $2) \
         ON CONFLICT (user_id) DO UPDATE SET screenshot_requested_at = excluded.screenshot_requested_at, \
         updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(Ts(now))
    .execute(c)
    .await
    .map(|_| ())?);
    Ok(())
}

/// Keeps a kiosk's screenshot and settles the request for it.
pub(crate) async fn set_screenshot(tx: &mut Tx, id: i64, png: &[u8], now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO kiosks (user_id, screenshot, screenshot_at, updated_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (user_id) DO UPDATE SET screenshot = excluded.screenshot, screenshot_at = excluded.screenshot_at, \
         screenshot_requested_at = NULL, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(png)
    .bind(Ts(now))
    .execute(c)
    .await
    .map(|_| ())?);
    Ok(())
}

pub(crate) async fn insert_call(tx: &mut Tx, kiosk_id: i64, unit: i64, now: OffsetDateTime) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO kiosk_calls (kiosk_id, jurisdiction_id, status, created_at) VALUES ($1, $2, 'ringing', $3) \
         RETURNING id",
    )
    .bind(kiosk_id)
    .bind(unit)
    .bind(Ts(now))
    .fetch_one(c)
    .await?))
}

/// Answers a ringing call; false when it no longer rings.
pub(crate) async fn answer_call(tx: &mut Tx, id: i64, officer: i64, now: OffsetDateTime) -> Result<bool> {
    Ok(on_tx!(tx, c => sqlx::query(
        "UPDATE kiosk_calls SET status = 'answered', officer_id = $2, answered_at = $3 WHERE id = $1 AND status = 'ringing'",
    )
    .bind(id)
    .bind(officer)
    .bind(Ts(now))
    .execute(c)
    .await?
    .rows_affected())
        == 1)
}

/// Ends a call still ringing or answered: `ended`, or `missed` when nobody answered. False when
/// it had ended already.
pub(crate) async fn end_call(tx: &mut Tx, id: i64, now: OffsetDateTime) -> Result<bool> {
    Ok(on_tx!(tx, c => sqlx::query(
        "UPDATE kiosk_calls SET status = CASE WHEN status = 'ringing' THEN 'missed' ELSE 'ended' END, ended_at = $2 \
         WHERE id = $1 AND status IN ('ringing', 'answered')",
    )
    .bind(id)
    .bind(Ts(now))
    .execute(c)
    .await?
    .rows_affected())
        == 1)
}

/// Calls ringing since before `before`.
pub(crate) async fn unanswered(tx: &mut Tx, before: OffsetDateTime) -> Result<Vec<i64>> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "SELECT id FROM kiosk_calls WHERE status = 'ringing' AND created_at < $1 ORDER BY id",
    )
    .bind(Ts(before))
    .fetch_all(c)
    .await?))
}

impl Store {
    /// Every enabled kiosk account, by username.
    pub async fn kiosks(&self) -> Result<Vec<KioskRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(kiosk_select!(), " ORDER BY u.username")).fetch_all(p).await?))
    }

    pub async fn kiosk(&self, id: i64) -> Result<Option<KioskRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(kiosk_select!(), " AND u.id = $1"))
            .bind(id)
            .fetch_optional(p)
            .await?))
    }

    /// A kiosk's last screenshot (PNG) and when it was taken.
    pub async fn kiosk_screenshot(&self, id: i64) -> Result<Option<(Vec<u8>, OffsetDateTime)>> {
        let row: Option<(Option<Vec<u8>>, Option<OffsetDateTime>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT screenshot, screenshot_at FROM kiosks WHERE user_id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await?);
        Ok(row.and_then(|(png, at)| Some((png?, at?))))
    }

    pub async fn kiosk_call(&self, id: i64) -> Result<Option<KioskCallRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(call_select!(), " WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(p)
            .await?))
    }

    /// Calls ringing or answered, and those ended since `since`; newest first.
    pub async fn kiosk_calls(&self, since: OffsetDateTime) -> Result<Vec<KioskCallRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(
            call_select!(),
            " WHERE c.status IN ('ringing', 'answered') OR c.ended_at >= $1 ORDER BY c.id DESC LIMIT 200"
        ))
        .bind(Ts(since))
        .fetch_all(p)
        .await?))
    }
}
