//! Complaints: what citizens, handlers and Open311 clients send and receive.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Where a complaint stands. Derived from its history of actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintStatus {
    Submitted,
    ForTriage,
    Assigned,
    InProgress,
    Fixed,
    Closed,
    Duplicate,
    NotOurResponsibility,
    Reopened,
}

impl ComplaintStatus {
    pub const ALL: [ComplaintStatus; 9] = [
        ComplaintStatus::Submitted,
        ComplaintStatus::ForTriage,
        ComplaintStatus::Assigned,
        ComplaintStatus::InProgress,
        ComplaintStatus::Fixed,
        ComplaintStatus::Closed,
        ComplaintStatus::Duplicate,
        ComplaintStatus::NotOurResponsibility,
        ComplaintStatus::Reopened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComplaintStatus::Submitted => "submitted",
            ComplaintStatus::ForTriage => "for_triage",
            ComplaintStatus::Assigned => "assigned",
            ComplaintStatus::InProgress => "in_progress",
            ComplaintStatus::Fixed => "fixed",
            ComplaintStatus::Closed => "closed",
            ComplaintStatus::Duplicate => "duplicate",
            ComplaintStatus::NotOurResponsibility => "not_our_responsibility",
            ComplaintStatus::Reopened => "reopened",
        }
    }

    pub fn parse(s: &str) -> Option<ComplaintStatus> {
        ComplaintStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Still waiting for the ward to act.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ComplaintStatus::Submitted
                | ComplaintStatus::ForTriage
                | ComplaintStatus::Assigned
                | ComplaintStatus::InProgress
                | ComplaintStatus::Reopened
        )
    }
}

/// What a handler, the citizen or the system does to a complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintAction {
    /// Filed by the citizen (or a client on their behalf).
    Submit,
    /// Sent to district triage: the ward or category is unclear.
    Triage,
    /// Given to a handler (again, to reassign).
    Assign,
    /// Work has started.
    Start,
    /// The problem is fixed.
    Fix,
    /// Closed after the fix.
    Close,
    /// The same problem is already reported (`duplicate_of`).
    MarkDuplicate,
    /// Not the district's to fix.
    NotOurResponsibility,
    /// The citizen says it is not fixed (within 14 days).
    Reopen,
    /// A public update, seen by the citizen.
    Comment,
    /// An internal note, seen by staff only.
    Note,
    /// The citizen's satisfaction rating.
    Rate,
    /// Brought over from an earlier system, in its final state.
    Import,
}

impl ComplaintAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ComplaintAction::Submit => "submit",
            ComplaintAction::Triage => "triage",
            ComplaintAction::Assign => "assign",
            ComplaintAction::Start => "start",
            ComplaintAction::Fix => "fix",
            ComplaintAction::Close => "close",
            ComplaintAction::MarkDuplicate => "mark_duplicate",
            ComplaintAction::NotOurResponsibility => "not_our_responsibility",
            ComplaintAction::Reopen => "reopen",
            ComplaintAction::Comment => "comment",
            ComplaintAction::Note => "note",
            ComplaintAction::Rate => "rate",
            ComplaintAction::Import => "import",
        }
    }
}

/// A kind of problem citizens report, with its time allowed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ComplaintCategory {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub description: String,
    pub group: String,
    /// Hours the ward has to fix it.
    pub sla_hours: i64,
}

/// How to reach the citizen; optional, never shown publicly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ComplaintContact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// The channel the citizen wants updates by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyChannel {
    Email,
    Sms,
}

/// A complaint as filed. Give a location (`lat` and `lon`) or an `address`, or both.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComplaint {
    pub category: String,
    pub description: String,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub contact: Option<ComplaintContact>,
    /// Send updates by this channel (needs the matching contact detail).
    #[serde(default)]
    pub notify: Option<NotifyChannel>,
}

/// What the citizen gets back on filing: keep the tracking code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ComplaintReceipt {
    /// Public number of the complaint (also its Open311 `service_request_id`).
    pub id: i64,
    /// The citizen's secret code to follow, reopen and rate the complaint. Shown once.
    pub tracking_code: String,
    pub status: ComplaintStatus,
    /// Ward it was routed to, if the location fell in one.
    pub ward: Option<String>,
    pub team: String,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Open complaints of the same category within 50 m filed in the last 30 days.
    pub similar: Vec<NearbyComplaint>,
}

/// An open complaint near a point, offered so the citizen can follow it instead of filing again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NearbyComplaint {
    pub id: i64,
    pub category: String,
    pub description: String,
    pub status: ComplaintStatus,
    /// Metres from the point asked about.
    pub distance_m: f64,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
}

/// One entry of a complaint's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ComplaintUpdate {
    pub id: i64,
    pub action: ComplaintAction,
    pub status: ComplaintStatus,
    pub note: String,
    /// Who acted: a staff member's name for staff views; "staff", "citizen" or "system" publicly.
    pub by: String,
    /// Whether the citizen sees it.
    pub public: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A complaint as the citizen (by tracking code) or the public sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicComplaint {
    pub id: i64,
    pub category: String,
    pub category_name_vi: String,
    pub category_name_en: String,
    pub description: String,
    pub status: ComplaintStatus,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    /// Code of the ward it belongs to.
    pub ward: Option<String>,
    pub ward_name: Option<String>,
    pub ward_name_en: Option<String>,
    pub team: String,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Open past its SLA.
    pub overdue: bool,
    /// URLs of its photos.
    pub photos: Vec<String>,
    /// Public updates, oldest first.
    pub updates: Vec<ComplaintUpdate>,
    pub duplicate_of: Option<i64>,
    pub rating: Option<i64>,
    /// Whether the citizen may reopen it now.
    pub can_reopen: bool,
    /// Whether the citizen may rate it now.
    pub can_rate: bool,
}

/// A complaint as a handler sees it: the public view plus internal notes and who handles it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffComplaint {
    #[serde(flatten)]
    pub public: PublicComplaint,
    pub source: String,
    pub handler: Option<String>,
    pub handler_id: Option<i64>,
    /// Whether contact details were given (read them at `/contact`; the read is audited).
    pub has_contact: bool,
    pub rating_comment: Option<String>,
    /// The whole history, internal notes included.
    pub history: Vec<ComplaintUpdate>,
}

/// A handler's action on a complaint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplaintActionRequest {
    pub action: ComplaintAction,
    /// Why (required for triage, mark_duplicate, not_our_responsibility, comment and note).
    #[serde(default)]
    pub note: String,
    /// For `assign`: the handler's username (default: the caller).
    #[serde(default)]
    pub handler: Option<String>,
    /// For `mark_duplicate`: the complaint this one repeats.
    #[serde(default)]
    pub duplicate_of: Option<i64>,
}

/// The tracking code, sent in a body so it never lands in a URL or a log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackingRequest {
    pub code: String,
}

/// The citizen reopens a fixed or closed complaint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    pub code: String,
    pub reason: String,
}

/// The citizen rates how a closed complaint was handled.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    pub code: String,
    /// 1 (bad) to 5 (very good).
    pub rating: i64,
    #[serde(default)]
    pub comment: String,
}

/// A page of the handlers' queue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ComplaintQueue {
    pub items: Vec<QueueItem>,
    /// Pass as `before` for the next page; absent on the last.
    pub next_before: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueueItem {
    pub id: i64,
    pub category: String,
    pub description: String,
    pub status: ComplaintStatus,
    pub ward: Option<String>,
    pub team: String,
    pub handler: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    pub overdue: bool,
    pub photos: i64,
}

/// An Open311 API key, as listed (the key itself is shown only when created).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyInfo {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}
