//! The dashboard's complaint figures, kept as daily rollups by the transactions that change
//! complaints: each complaint contributes to the rollups as a function of its current state, and
//! a change takes away its old contribution and adds its new one.

use std::collections::BTreeMap;

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

/// Each bucket is a tenth wider than the one before, so the median is read to within about 5 %.
const RATIO: f64 = 1.1;

/// Histogram bucket of a resolution time: 0 for under a minute, then `b` for
/// `[1.1^(b-1), 1.1^b)` minutes.
pub fn bucket(took: Duration) -> i64 {
    let minutes = took.as_seconds_f64() / 60.0;
    if minutes < 1.0 { 0 } else { (minutes.ln() / RATIO.ln()).floor() as i64 + 1 }
}

/// The edges of a bucket, in hours.
pub fn bucket_hours(bucket: i64) -> (f64, f64) {
    if bucket <= 0 {
        (0.0, 1.0 / 60.0)
    } else {
        let low = RATIO.powi(i32::try_from(bucket - 1).unwrap_or(i32::MAX)) / 60.0;
        (low, low * RATIO)
    }
}

/// A histogram: bucket → count.
pub type Hist = BTreeMap<i64, i64>;

/// Reads a stored histogram (`[bucket, count, bucket, count, …]`); an unreadable one counts as
/// empty (and is logged).
pub fn parse_hist(text: &str) -> Hist {
    match serde_json::from_str::<Vec<i64>>(text) {
        Ok(v) if v.len() % 2 == 0 => v.chunks(2).map(|p| (p[0], p[1])).collect(),
        _ => {
            tracing::error!("a stored resolution histogram is unreadable");
            Hist::new()
        }
    }
}

fn render_hist(h: &Hist) -> String {
    let flat: Vec<i64> = h.iter().filter(|(_, n)| **n != 0).flat_map(|(b, n)| [*b, *n]).collect();
    serde_json::to_string(&flat).expect("numbers serialize")
}

/// Adds `add` to the stored histograms of a day and ward, and of its month.
pub async fn add_hist(tx: &mut Tx, day: Date, ward_id: i64, add: &Hist) -> Result<()> {
    for (grain, day) in [("day", day), ("month", complaints::month_of(day))] {
        let stored = complaints::hist_for_update(tx, grain, day, ward_id).await?;
        let mut h = stored.map(|t| parse_hist(&t)).unwrap_or_default();
        for (b, n) in add {
            *h.entry(*b).or_default() += n;
        }
        complaints::put_hist(tx, grain, day, ward_id, &render_hist(&h)).await?;
    }
    Ok(())
}

/// An inclusive range of days.
pub type Days = (Date, Date);

/// Splits the days `[from, to]` into whole months (read from month rows) and the days left at
/// either end (read from day rows): `(months, day ranges)`, each range inclusive.
pub fn split_period(from: Date, to: Date) -> (Option<Days>, Vec<Days>) {
    let first_full = if from.day() == 1 { from } else { next_month(from) };
    let end_full = complaints::month_of(to.next_day().unwrap_or(to));
    // Whole months are those starting at or after `first_full` and ending by `to`.
    if first_full >= end_full {
        return (None, vec![(from, to)]);
    }
    let last_month = previous_month(end_full);
    let mut days = Vec::new();
    if from < first_full {
        days.push((from, first_full.previous_day().expect("a day before")));
    }
    if end_full <= to {
        days.push((end_full, to));
    }
    (Some((first_full, last_month)), days)
}

fn next_month(day: Date) -> Date {
    let first = complaints::month_of(day);
    let (y, m) = (first.year(), first.month());
    let (y, m) = if m == time::Month::December { (y + 1, time::Month::January) } else { (y, m.next()) };
    Date::from_calendar_date(y, m, 1).expect("a first of the month")
}

fn previous_month(first: Date) -> Date {
    complaints::month_of(first.previous_day().expect("a day before"))
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
        add_hist(tx, day, c.ward_id, &Hist::from([(bucket(took), sign)])).await?;
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
pub fn median_hours(hist: &Hist) -> Option<f64> {
    let total: i64 = hist.values().sum();
    if total <= 0 {
        return None;
    }
    let half = total as f64 / 2.0;
    let mut seen = 0.0;
    for (b, n) in hist {
        let n = *n as f64;
        if n > 0.0 && seen + n >= half {
            let (low, high) = bucket_hours(*b);
            return Some(low + (half - seen) / n * (high - low));
        }
        seen += n;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_grow_by_a_tenth() {
        assert_eq!(bucket(Duration::seconds(59)), 0);
        assert_eq!(bucket(Duration::minutes(1)), 1);
        for hours in [1, 5, 24, 72, 24 * 30, 24 * 365] {
            let (low, high) = bucket_hours(bucket(Duration::hours(hours)));
            let h = hours as f64;
            assert!(low <= h + 1e-9 && h < high, "{hours} h in [{low}, {high})");
            assert!(high / low < 1.1001);
        }
    }

    #[test]
    fn median_of_a_histogram() {
        assert_eq!(median_hours(&Hist::new()), None);
        // Ten at about 2 h, ten at about 4 h: the middle is the top of the first bucket.
        let two = bucket(Duration::hours(2));
        let four = bucket(Duration::hours(4));
        let m = median_hours(&Hist::from([(two, 10), (four, 10)])).unwrap();
        assert!((m - bucket_hours(two).1).abs() < 1e-9, "{m}");
        // Thirty at about an hour and one far out: the median is about an hour.
        let m =
            median_hours(&Hist::from([(bucket(Duration::hours(1)), 30), (bucket(Duration::days(300)), 1)])).unwrap();
        assert!((0.95..1.15).contains(&m), "{m}");
        assert_eq!(parse_hist(&render_hist(&Hist::from([(3, 2), (40, 0), (41, 7)]))), Hist::from([(3, 2), (41, 7)]));
    }

    #[test]
    fn periods_split_into_whole_months_and_days() {
        use time::macros::date;
        assert_eq!(
            split_period(date!(2026 - 11 - 03), date!(2026 - 11 - 20)),
            (None, vec![(date!(2026 - 11 - 03), date!(2026 - 11 - 20))])
        );
        assert_eq!(
            split_period(date!(2026 - 11 - 01), date!(2026 - 11 - 30)),
            (Some((date!(2026 - 11 - 01), date!(2026 - 11 - 01))), vec![])
        );
        assert_eq!(
            split_period(date!(2025 - 11 - 27), date!(2026 - 11 - 25)),
            (
                Some((date!(2025 - 12 - 01), date!(2026 - 10 - 01))),
                vec![(date!(2025 - 11 - 27), date!(2025 - 11 - 30)), (date!(2026 - 11 - 01), date!(2026 - 11 - 25))]
            )
        );
        assert_eq!(
            split_period(date!(2026 - 01 - 15), date!(2026 - 02 - 28)),
            (
                Some((date!(2026 - 02 - 01), date!(2026 - 02 - 01))),
                vec![(date!(2026 - 01 - 15), date!(2026 - 01 - 31))]
            )
        );
    }

    #[test]
    fn days_are_vietnamese_days() {
        let t = time::macros::datetime!(2026-11-24 18:30 UTC);
        assert_eq!(local_day(t), time::macros::date!(2026 - 11 - 25));
    }
}
