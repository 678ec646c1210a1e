//! Plain serde types of the core HTTP API: what the server sends and accepts, shared with the
//! kiosk, the web UI's tests and the integration tests. No behaviour lives here.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

mod camera;
mod complaint;
mod dashboard;
mod dossier;
mod kiosk;
mod monitor;
mod payment;
mod queue;
mod registry;
mod role;
mod telehealth;

pub use camera::*;
pub use complaint::*;
pub use dashboard::*;
pub use dossier::*;
pub use kiosk::*;
pub use monitor::*;
pub use payment::*;
pub use queue::*;
pub use registry::{
    Book, CivilRecord, Extract, NewBook, NewRecord, RecordAction, RecordActionRequest, RecordHistoryEntry,
    RecordImportReport, RecordKind, RecordSearch, RecordSearchResult, RecordStatus, RecordSummary, RejectedRow,
};
pub use role::{Role, UnknownRole};
pub use telehealth::*;

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// The API's version prefix.
pub const API_PREFIX: &str = "/api/v1";

/// Name of the browser session cookie.
pub const SESSION_COOKIE: &str = "q10_session";

/// Header that carries the CSRF token on unsafe requests made with the session cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An RFC 9457 problem document, as every error of the API is returned.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for a person to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The input field at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Liveness answer of `/healthz`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    /// Which roles this process runs (core, signaling, sfu).
    pub roles: Vec<String>,
    pub version: String,
}

/// Readiness answer of `/readyz`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    pub ready: bool,
    /// Each check by name, with "ok" or what is wrong.
    pub checks: Vec<ReadinessCheck>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReadinessCheck {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Credentials for a login.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest").field("username", &self.username).field("password", &"[redacted]").finish()
    }
}

/// Answer to a cookie login: who is logged in, and the CSRF token to send on unsafe requests.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    pub user: Me,
    pub csrf_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The CSRF token of a browser session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CsrfToken {
    pub csrf_token: String,
}

/// A bearer token for API clients and kiosks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always "Bearer".
    pub token_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Kinds of account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A member of staff.
    Person,
    /// A machine account: a kiosk or another device.
    Device,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Person => "person",
            AccountKind::Device => "device",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "person" => Some(AccountKind::Person),
            "device" => Some(AccountKind::Device),
            _ => None,
        }
    }
}

/// One role held over one jurisdiction (and the units below it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    pub role: Role,
    /// Code of the jurisdiction the role applies to.
    pub jurisdiction: String,
}

/// The caller's own account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub kind: AccountKind,
    pub grants: Vec<Grant>,
}

/// An account as administrators see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub kind: AccountKind,
    pub disabled: bool,
    pub grants: Vec<Grant>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A new account.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub kind: AccountKind,
    /// At least 12 characters.
    pub password: String,
    pub grants: Vec<Grant>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("kind", &self.kind)
            .field("grants", &self.grants)
            .finish_non_exhaustive()
    }
}

/// An administrative unit (city, district, ward, ...), valid over a period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Jurisdiction {
    pub code: String,
    pub kind: String,
    pub parent: Option<String>,
    pub name_vi: String,
    pub name_en: String,
    #[schema(value_type = String, format = Date)]
    #[serde(with = "iso_date")]
    pub valid_from: Date,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(with = "iso_date::option")]
    pub valid_to: Option<Date>,
    pub source_note: String,
}

/// The result of loading reference data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// New unit versions added.
    pub inserted: usize,
    /// Known versions changed (closing a unit is setting its valid_to).
    pub updated: usize,
    /// Versions already as in the file.
    pub unchanged: usize,
}

/// One row of the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub detail: serde_json::Value,
    pub source: String,
}

/// The outcome of checking the audit chain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    pub ok: bool,
    /// Rows checked.
    pub rows: i64,
    /// The first row found wrong, if any.
    pub first_bad_seq: Option<i64>,
    /// What is wrong, if anything.
    pub problem: Option<String>,
}

/// A meeting to create: a district-to-ward conference with its invited units.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeeting {
    /// 1 to 200 characters.
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// Codes of the administrative units invited (wards, or the district itself); 1 to 50.
    pub wards: Vec<String>,
}

/// An administrative unit invited to a meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MeetingUnit {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
}

/// A meeting as its invitees see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Meeting {
    pub id: i64,
    pub title: String,
    /// The conference room it is held in.
    pub room: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// Display name of the host (the account that created it).
    pub host_name: String,
    /// The invited units, in code order.
    pub wards: Vec<MeetingUnit>,
    /// Whether the caller hosts it.
    pub host: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What a client needs to enter a meeting's room.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MeetingJoin {
    pub room: String,
    /// A join token for the signaling WebSocket, valid for a few hours.
    pub token: String,
    pub identity: String,
    pub name: String,
    /// `host` for the meeting's host, `speaker` for everyone else.
    pub role: String,
    /// The unit the caller attends for in the roll call.
    pub unit: Option<String>,
}

/// A document of a paperless meeting.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MeetingDocument {
    pub id: String,
    pub name: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub uploaded_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub uploaded_at: OffsetDateTime,
}

/// One invited unit in the roll call.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RollCall {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    /// Someone attended for this unit at some point.
    pub attended: bool,
    /// Someone attends for it now.
    pub present: bool,
}

/// One stay of a participant in the meeting's room.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttendanceEntry {
    pub identity: String,
    pub name: String,
    pub unit: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
    /// `None` while still in the room.
    #[serde(with = "time::serde::rfc3339::option")]
    pub left_at: Option<OffsetDateTime>,
    /// Time in the room so far.
    pub seconds: i64,
}

/// Who attended a meeting, when and for how long.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Attendance {
    pub meeting_id: i64,
    pub title: String,
    pub roll_call: Vec<RollCall>,
    pub entries: Vec<AttendanceEntry>,
}
