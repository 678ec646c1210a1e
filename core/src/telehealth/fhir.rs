//! FHIR R4 (4.0.1) views of telehealth: Schedule, Slot and Appointment as resources, the
//! CapabilityStatement, search Bundles, OperationOutcomes, and reading an Appointment sent to
//! us. The internal model stays our own; this is its face to FHIR clients.

use q10_core_api::{Appointment, Patient};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, Result};
use crate::store::telehealth::{ScheduleRow, SlotRow};

/// The FHIR JSON media type.
pub const MEDIA_TYPE: &str = "application/fhir+json";
/// The version spoken.
pub const VERSION: &str = "4.0.1";

fn instant(t: OffsetDateTime) -> String {
    // FHIR instants: seconds, with a zone.
    t.replace_nanosecond(0).unwrap_or(t).format(&Rfc3339).expect("a time formats")
}

pub fn capability_statement(base: &str, now: OffsetDateTime) -> Value {
    let read_search = json!([{ "code": "read" }, { "code": "search-type" }]);
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(now),
        "publisher": "Q10",
        "kind": "instance",
        "software": { "name": "Q10", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Q10 telehealth scheduling", "url": base },
        "fhirVersion": VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {
                "description": "A bearer token from /api/v1/auth/token or the session cookie: doctors and ward clinics' staff."
            },
            "resource": [
                {
                    "type": "Schedule",
                    "interaction": read_search,
                    "searchParam": [{ "name": "actor", "type": "reference" }]
                },
                {
                    "type": "Slot",
                    "interaction": read_search,
                    "searchParam": [
                        { "name": "schedule", "type": "reference" },
                        { "name": "status", "type": "token" },
                        { "name": "start", "type": "date" }
                    ]
                },
                {
                    "type": "Appointment",
                    "interaction": [{ "code": "read" }, { "code": "create" }, { "code": "update" }],
                    "versioning": "versioned-update",
                    "updateCreate": false
                }
            ]
        }]
    })
}

pub fn schedule(s: &ScheduleRow) -> Value {
    json!({
        "resourceType": "Schedule",
        "id": s.id.to_string(),
        "active": true,
        "serviceType": [{ "text": "Telehealth consultation" }],
        "actor": [{ "reference": format!("Practitioner/{}", s.doctor_id), "display": s.doctor_name }],
    })
}

pub fn slot(s: &SlotRow) -> Value {
    json!({
        "resourceType": "Slot",
        "id": s.id.to_string(),
        "schedule": { "reference": format!("Schedule/{}", s.schedule_id) },
        "status": s.status,
        "start": instant(s.start_at),
        "end": instant(s.end_at),
    })
}

/// The appointment, with the patient contained. The visit note (`comment`) is shown only to
/// those who may read it.
pub fn appointment(a: &Appointment, with_note: bool) -> Value {
    let mut participants = vec![
        json!({
            "actor": { "reference": "#patient", "display": a.patient.name },
            "required": "required",
            "status": "accepted"
        }),
        json!({
            "actor": { "reference": format!("Practitioner/{}", a.doctor_id), "display": a.doctor_name },
            "required": "required",
            "status": "accepted"
        }),
        json!({
            "actor": { "display": format!("Trạm Y tế {}", a.clinic_name) },
            "required": "required",
            "status": "accepted"
        }),
    ];
    for p in &a.participants {
        participants.push(json!({
            "actor": { "reference": format!("Practitioner/{}", p.user_id), "display": p.name },
            "required": "optional",
            "status": "accepted"
        }));
    }
    let mut v = json!({
        "resourceType": "Appointment",
        "id": a.id.to_string(),
        "meta": { "versionId": a.version.to_string() },
        "contained": [{
            "resourceType": "Patient",
            "id": "patient",
            "name": [{ "text": a.patient.name }],
            "birthDate": format!("{:04}", a.patient.birth_year),
            "telecom": [{ "system": "phone", "value": a.patient.phone, "use": "mobile" }],
        }],
        "status": a.status.as_str(),
        "reasonCode": [{ "text": a.reason }],
        "start": instant(a.start),
        "end": instant(a.end),
        "minutesDuration": (a.end - a.start).whole_minutes(),
        "slot": [{ "reference": format!("Slot/{}", a.slot_id) }],
        "participant": participants,
    });
    if let Some(reason) = &a.cancel_reason {
        v["cancelationReason"] = json!({ "text": reason });
    }
    if let (true, Some(note)) = (with_note, &a.note) {
        v["comment"] = json!(note);
    }
    v
}

/// A search result.
pub fn bundle(self_url: &str, base: &str, resources: Vec<Value>) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let url = format!("{base}/{}/{}", r["resourceType"].as_str().unwrap_or(""), r["id"].as_str().unwrap_or(""));
            json!({ "fullUrl": url, "resource": r, "search": { "mode": "match" } })
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": entries.len(),
        "link": [{ "relation": "self", "url": self_url }],
        "entry": entries,
    })
}

/// An error as FHIR reports it.
pub fn outcome(code: &str, diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": code, "diagnostics": diagnostics }],
    })
}

/// The issue type of an error.
pub fn issue_code(e: &Error) -> &'static str {
    match e {
        Error::Invalid { .. } | Error::UnsupportedMediaType(_) | Error::TooLarge => "invalid",
        Error::Unauthenticated | Error::LoginFailed(_) => "login",
        Error::Forbidden(_) => "forbidden",
        Error::NotFound(_) => "not-found",
        Error::Conflict(_) => "conflict",
        Error::Unavailable(_) => "transient",
        Error::Database(_) | Error::Internal(_) => "exception",
    }
}

/// The id in a reference such as `Slot/12`.
pub fn reference_id(v: &Value, kind: &str) -> Option<i64> {
    v.get("reference")?.as_str()?.strip_prefix(kind)?.strip_prefix('/')?.parse().ok()
}

/// What a client's Appointment asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct AppointmentInput {
    pub status: String,
    pub slot_id: i64,
    pub patient: Option<Patient>,
    pub reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub comment: Option<String>,
}

fn invalid(detail: &str) -> Error {
    Error::invalid("resource", detail.to_string())
}

/// Reads an Appointment resource sent by a client.
pub fn read_appointment(v: &Value) -> Result<AppointmentInput> {
    if v.get("resourceType").and_then(Value::as_str) != Some("Appointment") {
        return Err(invalid("the resource is not an Appointment"));
    }
    let status = v.get("status").and_then(Value::as_str).ok_or_else(|| invalid("Appointment.status is required"))?;
    let slots = v.get("slot").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let [slot] = slots else {
        return Err(invalid("Appointment.slot names exactly one Slot"));
    };
    let slot_id = reference_id(slot, "Slot").ok_or_else(|| invalid("Appointment.slot is a reference to Slot/{id}"))?;
    let patient = v
        .get("contained")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|r| r.get("resourceType").and_then(Value::as_str) == Some("Patient")))
        .map(read_patient)
        .transpose()?;
    let reason =
        v.pointer("/reasonCode/0/text").or_else(|| v.get("description")).and_then(Value::as_str).map(str::to_string);
    Ok(AppointmentInput {
        status: status.to_string(),
        slot_id,
        patient,
        reason,
        cancel_reason: v.pointer("/cancelationReason/text").and_then(Value::as_str).map(str::to_string),
        comment: v.get("comment").and_then(Value::as_str).map(str::to_string),
    })
}

fn read_patient(p: &Value) -> Result<Patient> {
    let name = p
        .pointer("/name/0/text")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            let n = p.pointer("/name/0")?;
            let given: Vec<&str> =
                n.get("given").and_then(Value::as_array).map(|g| g.iter().filter_map(Value::as_str).collect())?;
            let family = n.get("family").and_then(Value::as_str)?;
            // Vietnamese names: family name first.
            Some(std::iter::once(family).chain(given).collect::<Vec<_>>().join(" "))
        })
        .ok_or_else(|| invalid("the contained Patient needs a name"))?;
    let birth_year = p
        .get("birthDate")
        .and_then(Value::as_str)
        .and_then(|d| d.get(..4))
        .and_then(|y| y.parse().ok())
        .ok_or_else(|| invalid("the contained Patient needs a birthDate (the year is enough)"))?;
    let phone = p
        .get("telecom")
        .and_then(Value::as_array)
        .and_then(|t| t.iter().find(|c| c.get("system").and_then(Value::as_str) == Some("phone")))
        .and_then(|c| c.get("value"))
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("the contained Patient needs a phone telecom"))?;
    Ok(Patient { name, birth_year, phone: phone.to_string() })
}

/// The version a client names in `If-Match: W/"3"`.
pub fn if_match_version(header: &str) -> Option<i64> {
    header.trim().trim_start_matches("W/").trim_matches('"').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appointments_are_read_from_fhir() {
        let v = json!({
            "resourceType": "Appointment",
            "status": "booked",
            "slot": [{ "reference": "Slot/7" }],
            "reasonCode": [{ "text": "ho" }],
            "contained": [{ "resourceType": "Patient", "id": "p",
                "name": [{ "family": "Trần", "given": ["Thị", "Bình"] }], "birthDate": "1958-03-02",
                "telecom": [{ "system": "email", "value": "x@y" }, { "system": "phone", "value": "0901234567" }] }],
            "participant": [{ "actor": { "reference": "#p" }, "status": "accepted" }]
        });
        let a = read_appointment(&v).unwrap();
        assert_eq!(a.slot_id, 7);
        assert_eq!(a.reason.as_deref(), Some("ho"));
        let p = a.patient.unwrap();
        assert_eq!((p.name.as_str(), p.birth_year, p.phone.as_str()), ("Trần Thị Bình", 1958, "0901234567"));
        let mut two = v.clone();
        two["slot"] = json!([{ "reference": "Slot/7" }, { "reference": "Slot/8" }]);
        assert!(read_appointment(&two).is_err(), "one slot only");
        let mut wrong = v.clone();
        wrong["slot"] = json!([{ "reference": "Schedule/7" }]);
        assert!(read_appointment(&wrong).is_err());
        assert!(read_appointment(&json!({ "resourceType": "Patient" })).is_err());
    }

    #[test]
    fn if_match_names_a_version() {
        assert_eq!(if_match_version("W/\"3\""), Some(3));
        assert_eq!(if_match_version("\"12\""), Some(12));
        assert_eq!(if_match_version("*"), None);
    }
}
