//! Online dossiers (the one-stop shop): the procedure catalogue, applying, following a dossier by
//! its code, and the officers' queue and actions.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

/// An enum that travels as its snake_case name.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

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
pub(crate) use named_enum;

named_enum! {
    /// Where a dossier stands, per the one-stop forms. Derived from its history of actions.
    DossierStatus {
        /// Received, with a receipt and an appointment to return the result.
        Received = "received",
        /// The officer asked for more documents; the clock restarts when they arrive.
        SupplementRequested = "supplement_requested",
        /// Refused, with the reason.
        Refused = "refused",
        /// Being processed, handed from officer to officer.
        InProcess = "in_process",
        /// The result is ready to collect.
        ResultReady = "result_ready",
        /// The result was handed back.
        Returned = "returned",
    }
}

impl DossierStatus {
    /// Still with the office.
    pub fn is_open(self) -> bool {
        !matches!(self, DossierStatus::Refused | DossierStatus::Returned)
    }
}

named_enum! {
    /// What an officer or the applicant does to a dossier.
    DossierAction {
        /// The applicant submits (online, at a kiosk, or at the counter).
        Submit = "submit",
        /// The officer asks for more documents (a note says which).
        RequestSupplement = "request_supplement",
        /// The applicant sends what was asked for.
        Supplement = "supplement",
        /// The officer refuses the dossier (a note says why).
        Refuse = "refuse",
        /// The officer takes the dossier into processing.
        Accept = "accept",
        /// One officer hands it to the next, with a deadline for that step.
        HandOff = "hand_off",
        /// The result is ready.
        ResultReady = "result_ready",
        /// The result is handed to the applicant (the fee must be paid).
        Return = "return",
        /// An overdue dossier: the office apologises and sets a new date.
        Apologize = "apologize",
        /// A public message to the applicant.
        Comment = "comment",
        /// A note for staff only.
        Note = "note",
        /// The applicant rates the service once the result is returned.
        Rate = "rate",
    }
}

named_enum! {
    /// Whether a procedure can be done fully online.
    ProcedureLevel {
        FullOnline = "full_online",
        PartialOnline = "partial_online",
    }
}

/// A document a procedure asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RequiredDocument {
    pub key: String,
    pub name_vi: String,
    pub name_en: String,
    pub required: bool,
}

/// A procedure of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Procedure {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub level: ProcedureLevel,
    pub documents: Vec<RequiredDocument>,
    /// Fee in VND (0: free).
    pub fee: i64,
    /// Processing time in working days.
    pub working_days: i64,
    /// `ward` or `district`: which office processes it.
    pub office: String,
}

/// The applicant, as they give themselves. Sealed at rest; staff see the ID number masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Applicant {
    pub full_name: String,
    /// The 12-digit citizen identity (CCCD) number.
    pub id_number: String,
    pub phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub address: String,
}

/// An application, as the `dossier` part of the multipart form.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewDossier {
    /// The procedure's code.
    pub procedure: String,
    /// The applicant's ward code.
    pub ward: String,
    pub applicant: Applicant,
    #[serde(default)]
    pub note: String,
}

/// What the applicant gets on applying: keep the code, it opens the dossier.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DossierReceipt {
    pub id: i64,
    pub code: String,
    pub status: DossierStatus,
    pub procedure: String,
    pub ward: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The appointment to return the result.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    pub fee: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DossierCodeRequest {
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DossierRatingRequest {
    pub code: String,
    /// 1 to 5.
    pub rating: i64,
    #[serde(default)]
    pub comment: String,
}

/// The `supplement` part of a supplement upload.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DossierSupplement {
    pub code: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProcedureRef {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WardRef {
    pub code: String,
    pub name: String,
}

/// One entry of a dossier's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DossierHistoryEntry {
    pub action: DossierAction,
    pub status: DossierStatus,
    pub note: String,
    /// Staff view only: who acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Staff view only: whether the applicant sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
    /// A hand-off's deadline.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub step_due: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A dossier as its applicant sees it, by code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicDossier {
    pub code: String,
    pub procedure: ProcedureRef,
    pub documents_required: Vec<RequiredDocument>,
    pub ward: WardRef,
    pub status: DossierStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    pub overdue: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub result_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub returned_at: Option<OffsetDateTime>,
    pub fee: i64,
    pub fee_paid: bool,
    /// The payment under way or made for the fee.
    pub payment_reference: Option<String>,
    /// What the officer asked for, while a supplement is awaited.
    pub supplement_note: Option<String>,
    pub history: Vec<DossierHistoryEntry>,
    pub rating: Option<i64>,
    pub can_rate: bool,
}

/// The applicant as staff see them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffApplicant {
    pub full_name: String,
    /// The ID number with all but its last four digits hidden.
    pub id_number_masked: String,
    pub phone: String,
    pub email: Option<String>,
    pub address: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DossierDocument {
    pub id: String,
    pub key: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub uploaded_at: OffsetDateTime,
}

/// A dossier as officers see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffDossier {
    pub id: i64,
    #[serde(flatten)]
    pub public: PublicDossier,
    pub applicant: StaffApplicant,
    pub handler: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub step_due_at: Option<OffsetDateTime>,
    pub documents: Vec<DossierDocument>,
}

/// A row of the officers' queue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DossierQueueItem {
    pub id: i64,
    pub code: String,
    pub procedure: String,
    pub procedure_name_vi: String,
    pub ward: String,
    pub ward_name: String,
    pub status: DossierStatus,
    pub handler: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    pub overdue: bool,
    pub fee: i64,
    pub fee_paid: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DossierQueue {
    pub total: i64,
    pub items: Vec<DossierQueueItem>,
}

/// An officer's action.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DossierActionRequest {
    pub action: DossierAction,
    #[serde(default)]
    pub note: String,
    /// `hand_off`: the next officer's username.
    #[serde(default)]
    pub handler: Option<String>,
    /// `hand_off`: working days allowed for the step.
    #[serde(default)]
    pub step_days: Option<i64>,
    /// `apologize`: the new appointment.
    #[serde(default, with = "crate::iso_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub new_due: Option<Date>,
}

/// A day off besides weekends.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Holiday {
    #[serde(with = "crate::iso_date")]
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HolidayRequest {
    pub name: String,
}
