//! The dashboard's complaint figures, kept as daily rollups by the transactions that change
//! complaints: each complaint contributes to the rollups as a function of its current state, and
//! a change takes away its old contribution and adds its new one.

use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::error::Result;
use crate::store::Tx;
use crate::store::complaints::{self, DailyDelta};

/// Days are counted in Vietnam's time (UTC+7, no daylight saving).
pub const LOCAL: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("UTC+7 is a valid offset"),
};

pub fn local_day(t: OffsetDateTime) -> Date {
    t.to_offset(LOCAL).date()
}

/// What a complaint adds to the rollups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub ward_id: i64,
    pub category: String,
    pub submitted_at: OffsetDateTime,
    /// When it was resolved and whether within its SLA.
    pub resolved: Option<(OffsetDateTime, bool)>,
    /// The rating and when it was given.
    pub rating: Option<(i64, OffsetDateTime)>,
}

/// Histogram bucket of a resolution time: whole hours below 30 days, then whole days.
pub fn bucket(took: Duration) -> i64 {
    let hours = took.whole_hours().max(0);
    if hours < 720 { hours } else { 720 + (hours - 720) / 24 }
}

/// The lower edge of a bucket, in hours.
pub fn bucket_start_hours(bucket: i64) -> f64 {
    if bucket < 720 { bucket as f64 } else { 720.0 + (bucket - 720) as f64 * 24.0 }
}

fn bucket_width_hours(bucket: i64) -> f64 {
    if bucket < 720 { 1.0 } else { 24.0 }
}

async fn apply(tx: &mut Tx, c: &Contribution, sign: i64) -> Result<()> {
    complaints::add_daily(
        tx,
        &DailyDelta {
            day: local_day(c.submitted_at),
            ward_id: c.ward_id,
            category: &c.category,
            received: sign,
            resolved: 0,
            resolved_on_time: 0,
            resolve_seconds: 0,
            rating_sum: 0,
            rating_count: 0,
        },
    )
    .await?;
    if let Some((at, on_time)) = c.resolved {
        let took = at - c.submitted_at;
        let day = local_day(at);
        complaints::add_daily(
            tx,
            &DailyDelta {
                day,
                ward_id: c.ward_id,
                category: &c.category,
                received: 0,
                resolved: sign,
                resolved_on_time: if on_time { sign } else { 0 },
                resolve_seconds: sign * took.whole_seconds(),
                rating_sum: 0,
                rating_count: 0,
            },
        )
        .await?;
        complaints::add_hist(tx, day, c.ward_id, bucket(took), sign).await?;
    }
    if let Some((rating, at)) = c.rating {
        complaints::add_daily(
            tx,
            &DailyDelta {
                day: local_day(at),
                ward_id: c.ward_id,
                category: &c.category,
                received: 0,
                resolved: 0,
                resolved_on_time: 0,
                resolve_seconds: 0,
                rating_sum: sign * rating,
                rating_count: sign,
            },
        )
        .await?;
    }
    Ok(())
}

/// Moves a complaint's contribution from `old` (none for a new complaint) to `new`.
pub async fn update(tx: &mut Tx, old: Option<&Contribution>, new: &Contribution) -> Result<()> {
    if old == Some(new) {
        return Ok(());
    }
    if let Some(old) = old {
        apply(tx, old, -1).await?;
    }
    apply(tx, new, 1).await
}

/// The median of a histogram, interpolated within its bucket, in hours.
pub fn median_hours(hist: &[(i64, i64)]) -> Option<f64> {
    let total: i64 = hist.iter().map(|(_, n)| n).sum();
    if total <= 0 {
        return None;
    }
    let half = total as f64 / 2.0;
    let mut seen = 0.0;
    for (b, n) in hist {
        let n = *n as f64;
        if n > 0.0 && seen + n >= half {
            let into = (half - seen) / n;
            return Some(bucket_start_hours(*b) + into * bucket_width_hours(*b));
        }
        seen += n;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_hours_then_days() {
        assert_eq!(bucket(Duration::minutes(59)), 0);
        assert_eq!(bucket(Duration::hours(5) + Duration::minutes(30)), 5);
        assert_eq!(bucket(Duration::days(30)), 720);
        assert_eq!(bucket(Duration::days(32)), 722);
        assert_eq!(bucket_start_hours(722), 768.0);
    }

    #[test]
    fn median_of_a_histogram() {
        assert_eq!(median_hours(&[]), None);
        // Ten in hour 2, ten in hour 4: the middle is the end of hour 2's bucket.
        assert_eq!(median_hours(&[(2, 10), (4, 10)]), Some(3.0));
        // Thirty in hour 1 and one far out: the median is inside hour 1.
        let m = median_hours(&[(1, 30), (800, 1)]).unwrap();
        assert!((1.0..2.0).contains(&m), "{m}");
    }

    #[test]
    fn days_are_vietnamese_days() {
        let t = time::macros::datetime!(2026-11-24 18:30 UTC);
        assert_eq!(local_day(t), time::macros::date!(2026 - 11 - 25));
    }
}
