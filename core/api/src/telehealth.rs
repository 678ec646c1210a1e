//! Telehealth: doctors' slots, appointments booked by ward clinics, and the call. Statuses are
//! FHIR R4's codes (Slot.status, Appointment.status).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

macro_rules! fhir_code {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

fhir_code! {
    /// A slot's status (FHIR Slot.status).
    SlotStatus {
        Free = "free",
        /// Booked.
        Busy = "busy",
        /// Blocked by the doctor.
        BusyUnavailable = "busy-unavailable",
    }
}

fhir_code! {
    /// An appointment's status (FHIR Appointment.status).
    AppointmentStatus {
        Booked = "booked",
        /// The clinic is in the waiting room.
        Arrived = "arrived",
        /// The doctor wrote the visit note.
        Fulfilled = "fulfilled",
        Cancelled = "cancelled",
        Noshow = "noshow",
    }
}

/// A span of availability to cut into slots.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSlots {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    /// Each slot's length, 10 to 120 minutes.
    pub minutes: i64,
}

/// A doctor's slot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Slot {
    pub id: i64,
    pub schedule_id: i64,
    pub doctor_id: i64,
    pub doctor_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    pub status: SlotStatus,
}

/// What publishing made.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublishedSlots {
    pub created: Vec<Slot>,
    /// Slots of the span left out: they overlapped one the doctor has, or had ended.
    pub skipped: i64,
}

/// A doctor who takes telehealth calls.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Doctor {
    pub id: i64,
    pub name: String,
    pub schedule_id: i64,
    /// Free slots from now on.
    pub free_slots: i64,
}

/// The patient, described by the least that serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Patient {
    pub name: String,
    pub birth_year: i32,
    /// A Vietnamese phone number: `0` and 9 digits, or `+84` and 9 digits.
    pub phone: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppointment {
    pub slot_id: i64,
    pub patient: Patient,
    pub reason: String,
}

/// The patient's consent, as recorded by the clinic.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Consent {
    /// Consent to the call itself.
    pub call: bool,
    /// Consent to recording the call.
    pub recording: bool,
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Someone the doctor added to the call.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallParticipant {
    pub user_id: i64,
    pub name: String,
}

/// An appointment in a list: the patient's name and year only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppointmentSummary {
    pub id: i64,
    pub status: AppointmentStatus,
    pub slot_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    pub doctor_id: i64,
    pub doctor_name: String,
    /// The booking clinic's ward (code and name).
    pub clinic_unit: String,
    pub clinic_name: String,
    pub patient_name: String,
    pub patient_birth_year: i32,
    /// The clinic is in the waiting room and not yet admitted.
    pub waiting: bool,
    pub admitted: bool,
}

/// An appointment in full (each read is audited).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Appointment {
    pub id: i64,
    pub status: AppointmentStatus,
    pub slot_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    pub doctor_id: i64,
    pub doctor_name: String,
    pub clinic_unit: String,
    pub clinic_name: String,
    pub booked_by: String,
    pub patient: Patient,
    pub reason: String,
    pub consent: Option<Consent>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub arrived_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub admitted_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reminded_at: Option<OffsetDateTime>,
    /// The visit note, once written.
    pub note: Option<String>,
    pub cancel_reason: Option<String>,
    pub participants: Vec<CallParticipant>,
    /// Bumped by every change (the FHIR resource's version).
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// Must be true: the call needs the patient's consent.
    pub call: bool,
    pub recording: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleRequest {
    pub slot_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitNote {
    pub note: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddParticipant {
    pub username: String,
}

/// The answer to joining the call: a token once admitted.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallJoin {
    pub admitted: bool,
    pub room: Option<String>,
    pub token: Option<String>,
    pub identity: Option<String>,
    pub name: Option<String>,
    /// `host` for the doctor, `speaker` for the others.
    pub role: Option<String>,
    /// The patient consented to recording.
    pub recording_allowed: bool,
}
