//! Complaints, their categories, actions, photos and daily rollups.

use sqlx::FromRow;
use time::{Date, OffsetDateTime};

use super::{Store, Ts, Tx, json_ids, on_pool, on_tx};
use crate::Result;

#[derive(Debug, Clone, FromRow)]
pub struct CategoryRow {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub description: String,
    pub keywords: String,
    pub grp: String,
    pub sla_hours: i64,
    pub default_team: String,
}

/// A complaint with its category's and ward's names.
#[derive(Debug, Clone, FromRow)]
pub struct ComplaintRow {
    pub id: i64,
    pub token: String,
    pub category_code: String,
    pub category_name_vi: String,
    pub category_name_en: String,
    pub description: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    pub ward_id: Option<i64>,
    pub ward_code: Option<String>,
    pub ward_name: Option<String>,
    pub ward_name_en: Option<String>,
    pub team: String,
    pub status: String,
    pub is_open: bool,
    pub handler_id: Option<i64>,
    pub handler_name: Option<String>,
    pub source: String,
    pub contact: Option<Vec<u8>>,
    pub notify: Option<String>,
    pub duplicate_of: Option<i64>,
    pub submitted_at: OffsetDateTime,
    pub due_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<OffsetDateTime>,
    pub photos: i64,
}

macro_rules! complaint_select {
    () => {
        "SELECT c.id, c.token, c.category_code, k.name_vi AS category_name_vi, k.name_en AS category_name_en, \
         c.description, c.lat, c.lon, c.address, c.ward_id, w.code AS ward_code, w.name_vi AS ward_name, w.name_en AS ward_name_en, c.team, \
         c.status, c.is_open, c.handler_id, u.display_name AS handler_name, c.source, c.contact, c.notify, \
         c.duplicate_of, c.submitted_at, c.due_at, c.updated_at, c.resolved_at, c.rating, c.rating_comment, c.rated_at, \
         (SELECT COUNT(*) FROM complaint_photos ph WHERE ph.complaint_id = c.id) AS photos \
         FROM complaints c JOIN complaint_categories k ON k.code = c.category_code \
         LEFT JOIN jurisdictions w ON w.id = c.ward_id LEFT JOIN users u ON u.id = c.handler_id"
    };
}

/// A complaint as a point on the map.
#[derive(Debug, Clone, FromRow)]
pub struct MapRow {
    pub id: i64,
    pub lat: f64,
    pub lon: f64,
    pub status: String,
    pub category_code: String,
    pub ward_code: Option<String>,
    pub is_open: bool,
    pub due_at: OffsetDateTime,
    pub submitted_at: OffsetDateTime,
}

#[derive(Debug, Clone, FromRow)]
pub struct ActionRow {
    pub id: i64,
    pub complaint_id: i64,
    pub action: String,
    pub status_after: String,
    pub actor: String,
    pub actor_id: Option<i64>,
    pub public: bool,
    pub note: String,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, FromRow)]
pub struct PhotoRow {
    pub id: String,
    pub complaint_id: i64,
    pub content_type: String,
    pub content: Vec<u8>,
}

#[derive(Debug, Clone, FromRow)]
pub struct NearbyRow {
    pub id: i64,
    pub category_code: String,
    pub description: String,
    pub status: String,
    pub lat: f64,
    pub lon: f64,
    pub submitted_at: OffsetDateTime,
}

pub(crate) struct NewComplaintRow<'a> {
    pub tracking_hash: &'a str,
    pub token: &'a str,
    pub category: &'a str,
    pub description: &'a str,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<&'a str>,
    pub ward_id: Option<i64>,
    pub team: &'a str,
    pub status: &'a str,
    pub source: &'a str,
    pub contact: Option<&'a [u8]>,
    pub notify: Option<&'a str>,
    pub api_key_id: Option<i64>,
    pub due_at: OffsetDateTime,
    /// Set for imported complaints that arrive resolved or rated.
    pub resolved_at: Option<OffsetDateTime>,
    pub rating: Option<(i64, OffsetDateTime)>,
}

pub(crate) async fn insert(tx: &mut Tx, c: &NewComplaintRow<'_>, now: OffsetDateTime) -> Result<i64> {
    Ok(on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO complaints (tracking_hash, token, category_code, description, lat, lon, address, ward_id, team, \
         status, is_open, source, contact, notify, api_key_id, submitted_at, due_at, updated_at, resolved_at, rating, rated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $17, $11, $12, $13, $14, $15, $16, COALESCE($18, $15), $18, $19, $20) \
         RETURNING id",
    )
    .bind(c.tracking_hash)
    .bind(c.token)
    .bind(c.category)
    .bind(c.description)
    .bind(c.lat)
    .bind(c.lon)
    .bind(c.address)
    .bind(c.ward_id)
    .bind(c.team)
    .bind(c.status)
    .bind(c.source)
    .bind(c.contact)
    .bind(c.notify)
    .bind(c.api_key_id)
    .bind(Ts(now))
    .bind(Ts(c.due_at))
    .bind(c.resolved_at.is_none())
    .bind(c.resolved_at.map(Ts))
    .bind(c.rating.map(|r| r.0))
    .bind(c.rating.map(|r| Ts(r.1)))
    .fetch_one(conn)
    .await?))
}

pub(crate) async fn insert_photo(
    tx: &mut Tx,
    id: &str,
    complaint: i64,
    content_type: &str,
    sha256: &str,
    content: &[u8],
    now: OffsetDateTime,
) -> Result<()> {
    let size = i64::try_from(content.len()).expect("photo size fits i64");
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO complaint_photos (id, complaint_id, content_type, size, sha256, content, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(complaint)
        .bind(content_type)
        .bind(size)
        .bind(sha256)
        .bind(content)
        .bind(Ts(now))
        .execute(c)
        .await?;
    });
    Ok(())
}

pub(crate) struct NewActionRow<'a> {
    pub complaint_id: i64,
    pub action: &'a str,
    pub status_before: Option<&'a str>,
    pub status_after: &'a str,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub public: bool,
    pub note: &'a str,
    pub detail: &'a str,
}

pub(crate) async fn insert_action(tx: &mut Tx, a: &NewActionRow<'_>, now: OffsetDateTime) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO complaint_actions (complaint_id, action, status_before, status_after, actor_id, actor, public, note, detail, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(a.complaint_id)
    .bind(a.action)
    .bind(a.status_before)
    .bind(a.status_after)
    .bind(a.actor_id)
    .bind(a.actor)
    .bind(a.public)
    .bind(a.note)
    .bind(a.detail)
    .bind(Ts(now))
    .fetch_one(c)
    .await?))
}

/// The fields an action may change.
pub(crate) struct ComplaintChange<'a> {
    pub id: i64,
    pub status: &'a str,
    pub is_open: bool,
    pub handler_id: Option<i64>,
    pub duplicate_of: Option<i64>,
    pub due_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
    pub rating: Option<i64>,
    pub rating_comment: Option<&'a str>,
    pub rated_at: Option<OffsetDateTime>,
}

pub(crate) async fn update(tx: &mut Tx, c: &ComplaintChange<'_>, now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE complaints SET status = $2, is_open = $3, handler_id = $4, duplicate_of = $5, due_at = $6, \
             resolved_at = $7, rating = $8, rating_comment = $9, rated_at = COALESCE($10, rated_at), updated_at = $11 \
             WHERE id = $1",
        )
        .bind(c.id)
        .bind(c.status)
        .bind(c.is_open)
        .bind(c.handler_id)
        .bind(c.duplicate_of)
        .bind(Ts(c.due_at))
        .bind(c.resolved_at.map(Ts))
        .bind(c.rating)
        .bind(c.rating_comment)
        .bind(c.rated_at.map(Ts))
        .bind(Ts(now))
        .execute(conn)
        .await?;
    });
    Ok(())
}

/// Reads a complaint inside a write transaction (on SQLite the transaction holds the write lock;
/// on PostgreSQL the row is locked until commit).
pub(crate) async fn for_update(tx: &mut Tx, id: i64) -> Result<Option<ComplaintRow>> {
    Ok(match tx {
        Tx::Sqlite(t, _) => {
            sqlx::query_as(concat!(complaint_select!(), " WHERE c.id = $1")).bind(id).fetch_optional(&mut **t).await?
        }
        Tx::Postgres(t) => {
            sqlx::query_as(concat!(complaint_select!(), " WHERE c.id = $1 FOR UPDATE OF c"))
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }
    })
}

/// Adds to the daily rollups (negative numbers take away).
pub(crate) struct DailyDelta<'a> {
    pub day: Date,
    pub ward_id: i64,
    pub category: &'a str,
    pub received: i64,
    pub resolved: i64,
    pub resolved_on_time: i64,
    pub resolve_seconds: i64,
    pub rating_sum: i64,
    pub rating_count: i64,
}

/// The first day of `day`'s month: the date of its month rows.
pub fn month_of(day: Date) -> Date {
    day.replace_day(1).expect("every month has a first day")
}

/// Adds a delta to the day's rollup row and to its month's.
pub(crate) async fn add_daily(tx: &mut Tx, d: &DailyDelta<'_>) -> Result<()> {
    for (grain, day) in [("day", d.day), ("month", month_of(d.day))] {
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO complaint_rollup (grain, day, ward_id, category_code, received, resolved, resolved_on_time, \
                 resolve_seconds, rating_sum, rating_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (grain, day, ward_id, category_code) DO UPDATE SET \
                 received = complaint_rollup.received + excluded.received, \
                 resolved = complaint_rollup.resolved + excluded.resolved, \
                 resolved_on_time = complaint_rollup.resolved_on_time + excluded.resolved_on_time, \
                 resolve_seconds = complaint_rollup.resolve_seconds + excluded.resolve_seconds, \
                 rating_sum = complaint_rollup.rating_sum + excluded.rating_sum, \
                 rating_count = complaint_rollup.rating_count + excluded.rating_count",
            )
            .bind(grain)
            .bind(day)
            .bind(d.ward_id)
            .bind(d.category)
            .bind(d.received)
            .bind(d.resolved)
            .bind(d.resolved_on_time)
            .bind(d.resolve_seconds)
            .bind(d.rating_sum)
            .bind(d.rating_count)
            .execute(c)
            .await?;
        });
    }
    Ok(())
}

/// The histogram row of a day and ward (`None` if there is none yet), locked for the rest of
/// the transaction.
pub(crate) async fn hist_for_update(tx: &mut Tx, grain: &str, day: Date, ward_id: i64) -> Result<Option<String>> {
    Ok(match tx {
        Tx::Sqlite(t, _) => {
            sqlx::query_scalar(
                "SELECT counts FROM complaint_resolve_hist WHERE grain = $3 AND day = $1 AND ward_id = $2",
            )
            .bind(day)
            .bind(ward_id)
            .bind(grain)
            .fetch_optional(&mut **t)
            .await?
        }
        Tx::Postgres(t) => {
            sqlx::query_scalar(
                "SELECT counts FROM complaint_resolve_hist WHERE grain = $3 AND day = $1 AND ward_id = $2 FOR UPDATE",
            )
            .bind(day)
            .bind(ward_id)
            .bind(grain)
            .fetch_optional(&mut **t)
            .await?
        }
    })
}

pub(crate) async fn put_hist(tx: &mut Tx, grain: &str, day: Date, ward_id: i64, counts: &str) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO complaint_resolve_hist (day, ward_id, counts, grain) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (grain, day, ward_id) DO UPDATE SET counts = excluded.counts",
        )
        .bind(day)
        .bind(ward_id)
        .bind(counts)
        .bind(grain)
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Sums of the rollups over a period, per category.
#[derive(Debug, Clone, Default, FromRow)]
pub struct RollupSums {
    pub category_code: String,
    pub received: i64,
    pub resolved: i64,
    pub resolved_on_time: i64,
    pub rating_sum: i64,
    pub rating_count: i64,
}

/// One day's complaint figures, summed over categories (and wards).
#[derive(Debug, Clone, FromRow)]
pub struct DayRow {
    pub day: Date,
    pub received: i64,
    pub resolved: i64,
    pub resolved_on_time: i64,
}

/// Filters of the handlers' queue.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter<'a> {
    /// Only these wards (the caller's); `None`: all.
    pub wards: Option<&'a [i64]>,
    pub status: Option<&'a str>,
    pub category: Option<&'a str>,
    pub open_only: bool,
    pub overdue_at: Option<OffsetDateTime>,
    pub handler_id: Option<i64>,
    pub before: Option<i64>,
    pub limit: i64,
}

impl Store {
    pub async fn count_complaints(&self) -> Result<i64> {
        Ok(on_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM complaints").fetch_one(p).await?))
    }

    pub async fn complaint_categories(&self) -> Result<Vec<CategoryRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT code, name_vi, name_en, description, keywords, grp, sla_hours, default_team \
             FROM complaint_categories WHERE active ORDER BY position, code",
        )
        .fetch_all(p)
        .await?))
    }

    /// The team named for a category in a ward, if one is.
    pub async fn complaint_team(&self, category: &str, ward_id: i64) -> Result<Option<String>> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT team FROM complaint_teams WHERE category_code = $1 AND jurisdiction_id = $2",
        )
        .bind(category)
        .bind(ward_id)
        .fetch_optional(p)
        .await?))
    }

    pub async fn complaint(&self, id: i64) -> Result<Option<ComplaintRow>> {
        let sql = concat!(complaint_select!(), " WHERE c.id = $1");
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(id).fetch_optional(p).await?))
    }

    pub async fn complaint_by_tracking(&self, tracking_hash: &str) -> Result<Option<ComplaintRow>> {
        let sql = concat!(complaint_select!(), " WHERE c.tracking_hash = $1");
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(tracking_hash).fetch_optional(p).await?))
    }

    pub async fn complaint_id_by_token(&self, token: &str) -> Result<Option<i64>> {
        Ok(on_pool!(self, p => sqlx::query_scalar("SELECT id FROM complaints WHERE token = $1")
            .bind(token)
            .fetch_optional(p)
            .await?))
    }

    /// Actions of the given complaints, oldest first; only public ones unless `internal`.
    pub async fn complaint_actions(&self, ids: &[i64], internal: bool) -> Result<Vec<ActionRow>> {
        macro_rules! actions_sql {
            ($engine:ident) => {
                concat!(
                    "SELECT id, complaint_id, action, status_after, actor, actor_id, public, note, at \
                     FROM complaint_actions WHERE complaint_id IN ",
                    json_ids!($engine, "$1"),
                    " AND (public OR $2) ORDER BY id"
                )
            };
        }
        let sql = match self.backend() {
            super::Backend::Sqlite => actions_sql!(sqlite),
            super::Backend::Postgres => actions_sql!(postgres),
        };
        let ids = serde_json::to_string(ids).expect("ids serialize");
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(ids).bind(internal).fetch_all(p).await?))
    }

    pub async fn complaint_photo_ids(&self, id: i64) -> Result<Vec<String>> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT id FROM complaint_photos WHERE complaint_id = $1 ORDER BY created_at, id",
        )
        .bind(id)
        .fetch_all(p)
        .await?))
    }

    pub async fn complaint_photo(&self, id: &str) -> Result<Option<PhotoRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, complaint_id, content_type, content FROM complaint_photos WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await?))
    }

    /// Open complaints of `category` in a lat/lon box, filed since `since`.
    pub async fn complaints_in_box(
        &self,
        category: &str,
        (lat_min, lat_max): (f64, f64),
        (lon_min, lon_max): (f64, f64),
        since: OffsetDateTime,
    ) -> Result<Vec<NearbyRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, category_code, description, status, lat, lon, submitted_at FROM complaints \
             WHERE category_code = $1 AND lat BETWEEN $2 AND $3 AND lon BETWEEN $4 AND $5 \
             AND submitted_at >= $6 AND is_open AND lat IS NOT NULL AND lon IS NOT NULL \
             ORDER BY id DESC LIMIT 50",
        )
        .bind(category)
        .bind(lat_min)
        .bind(lat_max)
        .bind(lon_min)
        .bind(lon_max)
        .bind(Ts(since))
        .fetch_all(p)
        .await?))
    }

    /// A page of the handlers' queue, newest first.
    pub async fn complaint_queue(&self, f: &QueueFilter<'_>) -> Result<Vec<ComplaintRow>> {
        macro_rules! queue_sql {
            ($engine:ident) => {
                concat!(
                    complaint_select!(),
                    " WHERE ($1 IS NULL OR c.status = $1) AND ($2 IS NULL OR c.category_code = $2) \
                      AND (NOT $3 OR c.is_open) AND ($4 IS NULL OR (c.is_open AND c.due_at < $4)) \
                      AND ($5 IS NULL OR c.handler_id = $5) AND ($6 IS NULL OR c.id < $6) \
                      AND ($7 OR c.ward_id IN ",
                    json_ids!($engine, "$8"),
                    ") ORDER BY c.id DESC LIMIT $9"
                )
            };
        }
        let sql = match self.backend() {
            super::Backend::Sqlite => queue_sql!(sqlite),
            super::Backend::Postgres => queue_sql!(postgres),
        };
        let all = f.wards.is_none();
        let wards = serde_json::to_string(f.wards.unwrap_or(&[])).expect("ids serialize");
        Ok(on_pool!(self, p => sqlx::query_as(sql)
            .bind(f.status)
            .bind(f.category)
            .bind(f.open_only)
            .bind(f.overdue_at.map(Ts))
            .bind(f.handler_id)
            .bind(f.before)
            .bind(all)
            .bind(&wards)
            .bind(f.limit)
            .fetch_all(p)
            .await?))
    }

    /// Complaints for the public Open311 list: filed in `[from, to)`, optionally of some ids,
    /// one category, open or closed; newest first, at most `limit`.
    pub async fn complaints_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        category: Option<&str>,
        open: Option<bool>,
        limit: i64,
    ) -> Result<Vec<ComplaintRow>> {
        let sql = concat!(
            complaint_select!(),
            " WHERE c.submitted_at >= $1 AND c.submitted_at < $2 AND ($3 IS NULL OR c.category_code = $3) \
              AND ($4 IS NULL OR c.is_open = $4) ORDER BY c.submitted_at DESC, c.id DESC LIMIT $5"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as(sql).bind(Ts(from)).bind(Ts(to)).bind(category).bind(open).bind(limit).fetch_all(p).await?),
        )
    }

    /// Public actions in `[from, to)`, oldest first, at most `limit` (mySociety's updates).
    pub async fn public_actions_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<ActionRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, complaint_id, action, status_after, actor, actor_id, public, note, at FROM complaint_actions \
             WHERE public AND at >= $1 AND at < $2 ORDER BY at, id LIMIT $3",
        )
        .bind(Ts(from))
        .bind(Ts(to))
        .bind(limit)
        .fetch_all(p)
        .await?))
    }

    /// Rollups of `grain` ("day" or "month") dated within `[from, to]`, of one ward or all, per
    /// category.
    pub async fn complaint_rollup_sums(
        &self,
        grain: &str,
        from: Date,
        to: Date,
        ward: Option<i64>,
    ) -> Result<Vec<RollupSums>> {
        let sql = "SELECT category_code, CAST(SUM(received) AS BIGINT) AS received, \
             CAST(SUM(resolved) AS BIGINT) AS resolved, CAST(SUM(resolved_on_time) AS BIGINT) AS resolved_on_time, \
             CAST(SUM(rating_sum) AS BIGINT) AS rating_sum, CAST(SUM(rating_count) AS BIGINT) AS rating_count \
             FROM complaint_rollup WHERE grain = $4 AND day >= $1 AND day <= $2 AND ($3 IS NULL OR ward_id = $3) \
             GROUP BY category_code ORDER BY category_code";
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(from).bind(to).bind(ward).bind(grain).fetch_all(p).await?))
    }

    /// The day rollups within `[from, to]`, of one ward or all, summed per day (days with no row
    /// are absent).
    pub async fn complaint_days(&self, from: Date, to: Date, ward: Option<i64>) -> Result<Vec<DayRow>> {
        let sql = "SELECT day, CAST(SUM(received) AS BIGINT) AS received, CAST(SUM(resolved) AS BIGINT) AS resolved, \
             CAST(SUM(resolved_on_time) AS BIGINT) AS resolved_on_time \
             FROM complaint_rollup WHERE grain = 'day' AND day >= $1 AND day <= $2 AND ($3 IS NULL OR ward_id = $3) \
             GROUP BY day ORDER BY day";
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(from).bind(to).bind(ward).fetch_all(p).await?))
    }

    /// The resolution-time histogram rows of `grain` dated within `[from, to]`, of one ward or all.
    pub async fn complaint_resolve_hist(
        &self,
        grain: &str,
        from: Date,
        to: Date,
        ward: Option<i64>,
    ) -> Result<Vec<String>> {
        let sql = "SELECT counts FROM complaint_resolve_hist \
             WHERE grain = $4 AND day >= $1 AND day <= $2 AND ($3 IS NULL OR ward_id = $3)";
        Ok(on_pool!(self, p => sqlx::query_scalar(sql).bind(from).bind(to).bind(ward).bind(grain).fetch_all(p).await?))
    }

    /// Open complaints now, and those past their SLA: `(open, overdue)`.
    pub async fn complaints_open_now(&self, now: OffsetDateTime, ward: Option<i64>) -> Result<(i64, i64)> {
        let sql = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN due_at < $1 THEN 1 ELSE 0 END), 0) FROM complaints \
             WHERE is_open AND ($2 IS NULL OR ward_id = $2)";
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(Ts(now)).bind(ward).fetch_one(p).await?))
    }

    /// Complaints filed in `[from, to)` with a place, for the map, newest first, at most `limit`.
    pub async fn complaints_for_map(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        status: Option<&str>,
        category: Option<&str>,
        limit: i64,
    ) -> Result<Vec<MapRow>> {
        let sql = "SELECT c.id, c.lat, c.lon, c.status, c.category_code, w.code AS ward_code, c.is_open, c.due_at, \
             c.submitted_at FROM complaints c LEFT JOIN jurisdictions w ON w.id = c.ward_id \
             WHERE c.submitted_at >= $1 AND c.submitted_at < $2 AND ($3 IS NULL OR c.status = $3) \
             AND ($4 IS NULL OR c.category_code = $4) AND c.lat IS NOT NULL AND c.lon IS NOT NULL \
             ORDER BY c.submitted_at DESC LIMIT $5";
        Ok(
            on_pool!(self, p => sqlx::query_as(sql).bind(Ts(from)).bind(Ts(to)).bind(status).bind(category).bind(limit).fetch_all(p).await?),
        )
    }
}
