//! Monitoring: sensors with thresholds, their readings, and the alerts operators work through.
//! Severities are FIWARE Smart Data Models' `Alert.severity`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::dossier::named_enum;

named_enum! {
    /// How serious an alert is (FIWARE Alert.severity).
    Severity {
        Informational = "informational",
        Low = "low",
        Medium = "medium",
        High = "high",
        Critical = "critical",
    }
}

named_enum! {
    /// Where an alert stands.
    AlertStatus {
        /// Raised; nobody has taken it yet.
        Open = "open",
        /// Someone has seen it and is on it.
        Acknowledged = "acknowledged",
        Resolved = "resolved",
    }
}

/// A sensor to register.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSensor {
    /// What the device reports as: letters, digits, `-`, `_` and `.`, 1 to 64.
    pub code: String,
    pub name: String,
    /// `temperature`, `humidity`, `door`, `air_quality`, `flood_level`, or another word.
    pub kind: String,
    /// The unit of its values, e.g. `°C`, `%`, `cm`.
    pub unit: String,
    /// The ward (or the district) it stands in.
    pub unit_code: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// An alert is raised when a reading falls below this…
    pub low: Option<f64>,
    /// …or rises above this.
    pub high: Option<f64>,
    /// The severity of its alerts; `high` unless given.
    pub severity: Option<Severity>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Sensor {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub unit: String,
    pub unit_code: String,
    pub unit_name: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub severity: Severity,
    pub last_value: Option<f64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_at: Option<OffsetDateTime>,
}

/// One reading of a sensor.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    /// The sensor's code.
    pub sensor: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub value: f64,
}

/// Readings sent together (at most 1,000).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingBatch {
    pub readings: Vec<Reading>,
}

/// What an ingestion did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IngestReport {
    /// Readings stored.
    pub stored: i64,
    /// Readings already stored (the same sensor and time): sending twice adds nothing.
    pub duplicates: i64,
    /// Alerts raised by these readings.
    pub alerts_raised: Vec<i64>,
}

/// A reading as listed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReadingPoint {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    pub id: i64,
    /// `sensor_threshold`, …
    pub kind: String,
    pub severity: Severity,
    pub status: AlertStatus,
    /// What raised it: `sensor`, … and its id.
    pub source_type: String,
    pub source_id: i64,
    /// `high` or `low` for a sensor.
    pub condition: String,
    pub unit_code: String,
    pub unit_name: String,
    pub title: String,
    /// The value that raised it.
    pub value: Option<f64>,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    /// When the condition ended; the alert stays until someone resolves it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub cleared_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
    pub acknowledged_by: Option<String>,
    pub assignee: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    pub resolved_by: Option<String>,
    pub note: Option<String>,
}

/// What an operator does to an alert.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum AlertAction {
    /// Seen, and being handled.
    Acknowledge,
    /// Given to a colleague (by username).
    Assign { username: String },
    /// Done, with what was done.
    Resolve { note: String },
}
