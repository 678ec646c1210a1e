//! Queue tickets for a ward office's desks.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

/// What a person comes to the office for; each service has its own letter on the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueService {
    /// Births, marriages, deaths: the civil-status registry.
    CivilStatus,
    /// Handing in or collecting a dossier.
    Dossier,
    /// Paying a fee at the cash desk.
    Payment,
    Other,
}

impl QueueService {
    pub const ALL: [QueueService; 4] =
        [QueueService::CivilStatus, QueueService::Dossier, QueueService::Payment, QueueService::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueService::CivilStatus => "civil_status",
            QueueService::Dossier => "dossier",
            QueueService::Payment => "payment",
            QueueService::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<QueueService> {
        QueueService::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Asking for a ticket: at the office named, or at the office of the ward a point lies in (a
/// kiosk's place).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    pub service: QueueService,
    #[serde(default)]
    pub unit_code: Option<String>,
    /// Longitude, latitude.
    #[serde(default)]
    pub at: Option<[f64; 2]>,
}

/// A ticket taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    /// The day's number at this office, from 1.
    pub number: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub service: QueueService,
    /// People waiting before this ticket.
    pub ahead: i64,
    /// The wait expected, in minutes, from how fast the office has called people today (five
    /// minutes a person until it has called some).
    pub wait_minutes: i64,
    #[serde(with = "crate::iso_date")]
    pub day: Date,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A desk's current ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Serving {
    pub desk: String,
    pub number: i64,
    pub service: QueueService,
    #[serde(with = "time::serde::rfc3339")]
    pub called_at: OffsetDateTime,
}

/// An office's queue today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QueueState {
    pub unit_code: String,
    pub unit_name: String,
    #[serde(with = "crate::iso_date")]
    pub day: Date,
    pub waiting: i64,
    /// Tickets taken today.
    pub taken: i64,
    /// Minutes between people called, today (five until the office has called some).
    pub minutes_per_person: f64,
    /// What each desk serves now, by desk.
    pub serving: Vec<Serving>,
}

/// A desk calls the next person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallNext {
    /// The desk's name as shown to people waiting (1–20 characters).
    pub desk: String,
}
