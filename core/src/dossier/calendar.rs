//! Working days: deadlines count Monday to Friday, skipping public holidays, in Vietnam's time
//! (UTC+7). A result due in N working days is due at the end of the office's day (17:00) on the
//! Nth working day after the day it was received.

use std::collections::HashSet;

use time::{Date, Duration, OffsetDateTime, Time, UtcOffset, Weekday};

use crate::error::Result;
use crate::store::Store;

/// Vietnam's offset from UTC.
pub const LOCAL: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("UTC+7 is a valid offset"),
};
/// When the office's day ends.
pub const CLOSING: Time = time::macros::time!(17:00);

/// Public holidays, as a set of dates.
#[derive(Debug, Clone, Default)]
pub struct Holidays(pub HashSet<Date>);

impl Holidays {
    /// The holidays that can matter for `days` working days after `from`.
    pub async fn around(store: &Store, from: Date, days: i64) -> Result<Holidays> {
        // Weekends and the longest holiday runs (Tết) never stretch a span past three times its
        // length plus a month.
        let to = from + Duration::days(days * 3 + 31);
        let rows = store.holidays(&iso(from), &iso(to)).await?;
        Ok(Holidays(rows.iter().filter_map(|(day, _)| parse_iso(day)).collect()))
    }

    pub fn is_working_day(&self, d: Date) -> bool {
        !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) && !self.0.contains(&d)
    }
}

pub fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

pub fn parse_iso(s: &str) -> Option<Date> {
    Date::parse(s, &time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// The day `at` falls on in Vietnam.
pub fn local_date(at: OffsetDateTime) -> Date {
    at.to_offset(LOCAL).date()
}

/// The Nth working day after `start`'s day (0: `start`'s day itself if it is a working day,
/// else the next working day).
pub fn add_working_days(start: Date, days: i64, holidays: &Holidays) -> Date {
    let mut d = start;
    if days == 0 {
        while !holidays.is_working_day(d) {
            d = d.next_day().expect("dates this near are representable");
        }
        return d;
    }
    let mut left = days;
    while left > 0 {
        d = d.next_day().expect("dates this near are representable");
        if holidays.is_working_day(d) {
            left -= 1;
        }
    }
    d
}

/// The deadline `days` working days after `received`: 17:00 local on that day.
pub fn deadline(received: OffsetDateTime, days: i64, holidays: &Holidays) -> OffsetDateTime {
    let day = add_working_days(local_date(received), days, holidays);
    day.with_time(CLOSING).assume_offset(LOCAL).to_offset(UtcOffset::UTC)
}

/// Midnight at the start of `day`, Vietnam's time.
pub fn start_of(day: Date) -> OffsetDateTime {
    day.midnight().assume_offset(LOCAL).to_offset(UtcOffset::UTC)
}

/// The end of the office's day on `day`.
pub fn end_of(day: Date) -> OffsetDateTime {
    day.with_time(CLOSING).assume_offset(LOCAL).to_offset(UtcOffset::UTC)
}

/// Working days from `from`'s day to `to`'s day (negative when `to` is earlier).
pub fn working_days_between(from: Date, to: Date, holidays: &Holidays) -> i64 {
    let (lo, hi, sign) = if from <= to { (from, to, 1) } else { (to, from, -1) };
    let mut n = 0;
    let mut d = lo;
    while d < hi {
        d = d.next_day().expect("dates this near are representable");
        if holidays.is_working_day(d) {
            n += 1;
        }
    }
    n * sign
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    fn tet_2026() -> Holidays {
        Holidays(
            ["2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-04-30", "2026-05-01"]
                .iter()
                .map(|d| parse_iso(d).unwrap())
                .collect(),
        )
    }

    #[test]
    fn weekends_are_skipped() {
        let h = Holidays::default();
        // Thursday + 3 working days: Friday, Monday, Tuesday.
        assert_eq!(add_working_days(date!(2026 - 11 - 26), 3, &h), date!(2026 - 12 - 01));
        // Received on a Saturday: the first working day counted is Monday.
        assert_eq!(add_working_days(date!(2026 - 11 - 28), 1, &h), date!(2026 - 11 - 30));
        assert_eq!(add_working_days(date!(2026 - 11 - 28), 0, &h), date!(2026 - 11 - 30));
        assert_eq!(add_working_days(date!(2026 - 11 - 25), 0, &h), date!(2026 - 11 - 25));
    }

    #[test]
    fn holidays_are_skipped() {
        let h = tet_2026();
        // Friday 13 Feb 2026 + 1 working day: the Tết week is off, so Monday 23 Feb.
        assert_eq!(add_working_days(date!(2026 - 02 - 13), 1, &h), date!(2026 - 02 - 23));
        // Wednesday 29 April + 2: 30 April and 1 May are holidays, then the weekend.
        assert_eq!(add_working_days(date!(2026 - 04 - 29), 2, &h), date!(2026 - 05 - 05));
        assert_eq!(working_days_between(date!(2026 - 02 - 13), date!(2026 - 02 - 23), &h), 1);
        assert_eq!(working_days_between(date!(2026 - 02 - 23), date!(2026 - 02 - 13), &h), -1);
    }

    #[test]
    fn deadlines_are_the_end_of_the_local_day() {
        let h = Holidays::default();
        // 20:00 UTC on Wednesday is already Thursday 03:00 in Vietnam.
        let due = deadline(datetime!(2026-11-25 20:00 UTC), 1, &h);
        assert_eq!(due, datetime!(2026-11-27 10:00 UTC));
        assert_eq!(due.to_offset(LOCAL).time(), CLOSING);
    }
}
