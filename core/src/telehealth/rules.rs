//! The rules of telehealth that need no database: cutting a span into slots, the patient's
//! details, which action each side may take in each status, and when the call may be joined.

use q10_core_api::{AppointmentStatus as S, NewSlots, Patient};
use time::{Duration, OffsetDateTime};

use super::{Op, PatientData, Side};
use crate::error::{Error, Result};
use crate::store::telehealth::AppointmentRow;

/// The clinic may arrive, and everyone join, this long before the start…
pub const JOIN_EARLY: Duration = Duration::minutes(15);
/// …until this long after the end.
pub const JOIN_LATE: Duration = Duration::minutes(60);
/// The longest span published at once.
const MAX_SPAN: Duration = Duration::hours(12);
/// How far ahead slots may be published.
const HORIZON: Duration = Duration::days(60);

/// The slots of `span`: consecutive, each `minutes` long, the last one ending by the span's end.
pub fn cut(span: &NewSlots, now: OffsetDateTime) -> Result<Vec<(OffsetDateTime, OffsetDateTime)>> {
    if !(10..=120).contains(&span.minutes) {
        return Err(Error::invalid("minutes", "a slot lasts 10 to 120 minutes"));
    }
    if span.end <= span.start {
        return Err(Error::invalid("end", "the span ends after it starts"));
    }
    if span.end - span.start > MAX_SPAN {
        return Err(Error::invalid("end", "a span is at most 12 hours; publish each day on its own"));
    }
    if span.end > now + HORIZON {
        return Err(Error::invalid("end", "slots are published at most 60 days ahead"));
    }
    if span.end <= now {
        return Err(Error::invalid("end", "the span has ended"));
    }
    let step = Duration::minutes(span.minutes);
    let mut out = Vec::new();
    let mut start = span.start;
    while start + step <= span.end {
        out.push((start, start + step));
        start += step;
    }
    if out.is_empty() {
        return Err(Error::invalid("minutes", "the span is shorter than one slot"));
    }
    Ok(out)
}

/// A text of `min` to `max` characters, trimmed.
pub fn text(field: &'static str, value: &str, min: usize, max: usize) -> Result<String> {
    let v = value.trim();
    let n = v.chars().count();
    if n < min || n > max {
        return Err(Error::invalid(field, format!("{field} is {min} to {max} characters")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(Error::invalid(field, format!("{field} has control characters")));
    }
    Ok(v.to_string())
}

/// A Vietnamese phone number, kept as `0` and nine digits.
pub fn phone(value: &str) -> Result<String> {
    let digits: String = value.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
    let national = if let Some(rest) = digits.strip_prefix("+84") { format!("0{rest}") } else { digits };
    if national.len() == 10 && national.starts_with('0') && national.bytes().all(|b| b.is_ascii_digit()) {
        Ok(national)
    } else {
        Err(Error::invalid("patient.phone", "a phone number is 0 and nine digits, or +84 and nine digits"))
    }
}

/// The patient's details, checked and tidied.
pub fn check_patient(p: &Patient, reason: &str, now: OffsetDateTime) -> Result<PatientData> {
    let name = text("patient.name", &p.name, 2, 100)?;
    let this_year = crate::dossier::calendar::local_date(now).year();
    if !(1900..=this_year).contains(&p.birth_year) {
        return Err(Error::invalid("patient.birth_year", format!("the year of birth is 1900 to {this_year}")));
    }
    Ok(PatientData {
        patient: Patient { name, birth_year: p.birth_year, phone: phone(&p.phone)? },
        reason: text("reason", reason, 1, 500)?,
    })
}

fn within_call_window(a: &AppointmentRow, now: OffsetDateTime) -> std::result::Result<(), String> {
    if now < a.start_at - JOIN_EARLY {
        return Err("the call opens 15 minutes before the appointment".into());
    }
    if now > a.end_at + JOIN_LATE {
        return Err("the call closed an hour after the appointment's end".into());
    }
    Ok(())
}

/// Whether `side` may do `op` to an appointment in `status`; the reason when not.
pub fn allowed(
    op: &Op,
    side: Side,
    status: S,
    a: &AppointmentRow,
    now: OffsetDateTime,
) -> std::result::Result<(), String> {
    let who_may = |sides: &[Side]| {
        if sides.contains(&side) { Ok(()) } else { Err(format!("this is not for the {}", side_name(side))) }
    };
    let from = |statuses: &[S]| {
        if statuses.contains(&status) {
            Ok(())
        } else {
            Err(format!("the appointment is {}; this is for one that is {}", status.as_str(), list(statuses)))
        }
    };
    match op {
        Op::Reschedule { .. } => {
            who_may(&[Side::Clinic, Side::Doctor])?;
            from(&[S::Booked])
        }
        Op::Cancel { .. } => {
            who_may(&[Side::Clinic, Side::Doctor])?;
            from(&[S::Booked, S::Arrived])
        }
        Op::Consent { .. } => {
            who_may(&[Side::Clinic])?;
            from(&[S::Booked])
        }
        Op::Arrive => {
            who_may(&[Side::Clinic])?;
            from(&[S::Booked])?;
            if a.consent_at.is_none() {
                return Err("the patient's consent to the call is recorded first".into());
            }
            within_call_window(a, now)
        }
        Op::Admit => {
            who_may(&[Side::Doctor])?;
            from(&[S::Arrived])?;
            if a.admitted_at.is_some() {
                return Err("the clinic is admitted already".into());
            }
            Ok(())
        }
        Op::AddParticipant { .. } => {
            who_may(&[Side::Doctor])?;
            from(&[S::Booked, S::Arrived])
        }
        Op::Note { .. } => {
            who_may(&[Side::Doctor])?;
            from(&[S::Arrived])
        }
        Op::Noshow => {
            who_may(&[Side::Doctor])?;
            from(&[S::Booked, S::Arrived])?;
            if now < a.start_at {
                return Err("an appointment is missed only once it has started".into());
            }
            Ok(())
        }
    }
}

/// Whether `side` may ask to join the call now.
pub fn may_join(status: S, side: Side, a: &AppointmentRow, now: OffsetDateTime) -> std::result::Result<(), String> {
    match (side, status) {
        (Side::Clinic, S::Arrived) => {}
        (Side::Clinic, S::Booked) => return Err("the clinic enters the waiting room first".into()),
        (Side::Doctor | Side::Participant, S::Booked | S::Arrived) => {}
        (_, s) => return Err(format!("the appointment is {}", s.as_str())),
    }
    within_call_window(a, now)
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Doctor => "doctor",
        Side::Participant => "participants",
        Side::Clinic => "clinic",
    }
}

fn list(statuses: &[S]) -> String {
    statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 01:00 UTC);

    fn span(start: OffsetDateTime, minutes_long: i64, minutes: i64) -> NewSlots {
        NewSlots { start, end: start + Duration::minutes(minutes_long), minutes }
    }

    fn appointment(start: OffsetDateTime) -> AppointmentRow {
        AppointmentRow {
            id: 1,
            slot_id: 1,
            doctor_id: 2,
            doctor_name: "d".into(),
            start_at: start,
            end_at: start + Duration::minutes(15),
            status: "booked".into(),
            clinic_unit_id: 3,
            clinic_unit: "27211".into(),
            clinic_name: "Phường 1".into(),
            booked_by: 4,
            booked_by_name: "c".into(),
            room: "th-x".into(),
            patient: vec![],
            consent_at: None,
            consent_by: None,
            consent_by_name: None,
            consent_recording: false,
            arrived_at: None,
            admitted_at: None,
            reminded_at: None,
            note: None,
            cancel_reason: None,
            version: 1,
        }
    }

    #[test]
    fn spans_are_cut_into_whole_slots() {
        let slots = cut(&span(NOW, 70, 15), NOW).unwrap();
        assert_eq!(slots.len(), 4, "70 minutes hold four slots of 15");
        assert_eq!(slots[3].1, NOW + Duration::minutes(60));
        assert!(slots.windows(2).all(|w| w[0].1 == w[1].0));
        assert!(cut(&span(NOW, 5, 10), NOW).is_err(), "shorter than a slot");
        assert!(cut(&span(NOW, 60, 5), NOW).is_err(), "slots under 10 minutes");
        assert!(cut(&span(NOW, 13 * 60, 30), NOW).is_err(), "more than 12 hours");
        assert!(cut(&span(NOW + Duration::days(61), 60, 30), NOW).is_err(), "beyond the horizon");
        assert!(cut(&span(NOW - Duration::hours(2), 60, 30), NOW).is_err(), "ended");
    }

    #[test]
    fn patients_are_checked_and_phones_tidied() {
        let p = |name: &str, year, phone: &str| Patient { name: name.into(), birth_year: year, phone: phone.into() };
        let ok = check_patient(&p(" Trần Thị Bình ", 1958, "+84 901 234 567"), "ho kéo dài", NOW).unwrap();
        assert_eq!(ok.patient.name, "Trần Thị Bình");
        assert_eq!(ok.patient.phone, "0901234567");
        assert!(check_patient(&p("B", 1958, "0901234567"), "x", NOW).is_err(), "name too short");
        assert!(check_patient(&p("Bình", 1899, "0901234567"), "x", NOW).is_err(), "year too early");
        assert!(check_patient(&p("Bình", 2027, "0901234567"), "x", NOW).is_err(), "year in the future");
        assert!(check_patient(&p("Bình", 1958, "12345"), "x", NOW).is_err(), "not a phone");
        assert!(check_patient(&p("Bình", 1958, "0901234567"), " ", NOW).is_err(), "no reason");
    }

    #[test]
    fn each_side_acts_in_its_turn() {
        let mut a = appointment(NOW + Duration::minutes(10));
        let arrive = Op::Arrive;
        assert!(allowed(&arrive, Side::Clinic, S::Booked, &a, NOW).unwrap_err().contains("consent"));
        a.consent_at = Some(NOW);
        assert!(allowed(&arrive, Side::Clinic, S::Booked, &a, NOW).is_ok());
        assert!(allowed(&arrive, Side::Doctor, S::Booked, &a, NOW).is_err(), "the doctor does not arrive");
        assert!(allowed(&arrive, Side::Clinic, S::Booked, &a, NOW - Duration::minutes(10)).is_err(), "too early");
        assert!(allowed(&Op::Admit, Side::Doctor, S::Booked, &a, NOW).is_err(), "nobody is waiting");
        assert!(allowed(&Op::Admit, Side::Doctor, S::Arrived, &a, NOW).is_ok());
        assert!(allowed(&Op::Admit, Side::Clinic, S::Arrived, &a, NOW).is_err());
        let note = Op::Note { note: "x".into() };
        assert!(allowed(&note, Side::Doctor, S::Arrived, &a, NOW).is_ok());
        assert!(allowed(&note, Side::Doctor, S::Fulfilled, &a, NOW).is_err());
        assert!(allowed(&Op::Noshow, Side::Doctor, S::Booked, &a, NOW).is_err(), "not started");
        let cancel = Op::Cancel { reason: "x".into() };
        assert!(allowed(&cancel, Side::Participant, S::Booked, &a, NOW).is_err());
        assert!(allowed(&cancel, Side::Clinic, S::Cancelled, &a, NOW).is_err());
    }

    #[test]
    fn the_call_opens_around_the_appointment() {
        let a = appointment(NOW + Duration::minutes(10));
        assert!(may_join(S::Booked, Side::Doctor, &a, NOW).is_ok());
        assert!(may_join(S::Booked, Side::Clinic, &a, NOW).is_err(), "the clinic waits in the waiting room");
        assert!(may_join(S::Arrived, Side::Clinic, &a, NOW).is_ok());
        assert!(may_join(S::Arrived, Side::Clinic, &a, NOW - Duration::hours(1)).is_err());
        assert!(may_join(S::Arrived, Side::Doctor, &a, a.end_at + Duration::minutes(61)).is_err());
        assert!(may_join(S::Fulfilled, Side::Doctor, &a, NOW).is_err());
    }
}
