//! Importing complaints handled before this system: each arrives in its final state with the
//! dates it was filed, resolved and rated, keeps one `import` action in its history, and counts in
//! the dashboard's figures like any other. Batches of rows commit together.

use std::collections::HashMap;

use q10_core_api::ComplaintStatus;
use time::{Date, OffsetDateTime};

use super::{rules, stats, tracking_hash};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::store::complaints::{self as rows, DailyDelta, NewActionRow, NewComplaintRow};

/// A complaint from an earlier system.
#[derive(Debug, Clone)]
pub struct Historic {
    pub category: String,
    pub description: String,
    pub point: Option<(f64, f64)>,
    pub address: Option<String>,
    pub ward_id: Option<i64>,
    pub team: String,
    pub status: ComplaintStatus,
    pub submitted_at: OffsetDateTime,
    pub due_at: OffsetDateTime,
    /// When it was fixed or set aside (required unless it is still open).
    pub resolved_at: Option<OffsetDateTime>,
    pub rating: Option<(i64, OffsetDateTime)>,
}

#[derive(Default)]
struct Sums {
    received: i64,
    resolved: i64,
    on_time: i64,
    seconds: i64,
    rating_sum: i64,
    ratings: i64,
}

/// Imports `batch` in one transaction; returns how many were added.
pub async fn import(store: &Store, batch: &[Historic], now: OffsetDateTime) -> Result<usize> {
    let mut daily: HashMap<(Date, i64, &str), Sums> = HashMap::new();
    let mut hist: HashMap<(Date, i64), stats::Hist> = HashMap::new();
    let mut tx = store.begin().await?;
    for h in batch {
        if h.status.is_open() == h.resolved_at.is_some() {
            return Err(Error::invalid("resolved_at", "a resolved complaint needs resolved_at, an open one none"));
        }
        let (token, tracking) = {
            use rand::Rng;
            let mut rng = rand::rng();
            (hex::encode(rng.random::<[u8; 12]>()), tracking_hash(&rules::new_tracking_code()))
        };
        let row = NewComplaintRow {
            tracking_hash: &tracking,
            token: &token,
            category: &h.category,
            description: &h.description,
            lat: h.point.map(|p| p.0),
            lon: h.point.map(|p| p.1),
            address: h.address.as_deref(),
            ward_id: h.ward_id,
            team: &h.team,
            status: h.status.as_str(),
            source: "import",
            contact: None,
            notify: None,
            api_key_id: None,
            due_at: h.due_at,
            resolved_at: h.resolved_at,
            rating: h.rating,
        };
        let id = rows::insert(&mut tx, &row, h.submitted_at).await?;
        let action = NewActionRow {
            complaint_id: id,
            action: q10_core_api::ComplaintAction::Import.as_str(),
            status_before: None,
            status_after: h.status.as_str(),
            actor_id: None,
            actor: "system",
            public: false,
            note: "",
            detail: "{}",
        };
        rows::insert_action(&mut tx, &action, now).await?;

        let ward = h.ward_id.unwrap_or(0);
        daily.entry((stats::local_day(h.submitted_at), ward, &h.category)).or_default().received += 1;
        if let Some(at) = h.resolved_at {
            let s = daily.entry((stats::local_day(at), ward, &h.category)).or_default();
            s.resolved += 1;
            s.on_time += i64::from(at <= h.due_at);
            s.seconds += (at - h.submitted_at).whole_seconds();
            *hist
                .entry((stats::local_day(at), ward))
                .or_default()
                .entry(stats::bucket(at - h.submitted_at))
                .or_default() += 1;
        }
        if let Some((r, at)) = h.rating {
            let s = daily.entry((stats::local_day(at), ward, &h.category)).or_default();
            s.rating_sum += r;
            s.ratings += 1;
        }
    }
    for ((day, ward_id, category), s) in &daily {
        let d = DailyDelta {
            day: *day,
            ward_id: *ward_id,
            category,
            received: s.received,
            resolved: s.resolved,
            resolved_on_time: s.on_time,
            resolve_seconds: s.seconds,
            rating_sum: s.rating_sum,
            rating_count: s.ratings,
        };
        rows::add_daily(&mut tx, &d).await?;
    }
    for ((day, ward_id), h) in &hist {
        stats::add_hist(&mut tx, *day, *ward_id, h).await?;
    }
    tx.commit().await?;
    Ok(batch.len())
}
