//! The civil-status registry (Law on Civil Status 60/2014/QH13): books, records of births,
//! marriages, deaths and recognitions, their history of actions, bulk import, search and
//! certified extracts.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::dossier::named_enum;

named_enum! {
    /// The kind of a book and of its records.
    RecordKind {
        Birth = "birth",
        Marriage = "marriage",
        Death = "death",
        /// Recognition of a father, mother or child.
        Recognition = "recognition",
    }
}

named_enum! {
    /// Where a record stands (OpenCRVS's life cycle). Derived from its history of actions.
    RecordStatus {
        /// Being written; not yet declared.
        Draft = "draft",
        /// Declared, waiting for registration.
        Declared = "declared",
        /// Entered in the book.
        Registered = "registered",
        /// Registered, with at least one certified extract issued.
        Certified = "certified",
        /// Registered, then corrected (the original stays in the history).
        Corrected = "corrected",
        /// Archived: read-only.
        Archived = "archived",
    }
}

named_enum! {
    /// What a registry clerk does to a record.
    RecordAction {
        /// Created (by hand or by import).
        Create = "create",
        /// The clerk takes the record; only the holder edits it.
        Assign = "assign",
        /// Edits a draft.
        Update = "update",
        /// The declaration is made.
        Declare = "declare",
        /// Entered in the book.
        Register = "register",
        /// A correction of a registered record: reason and supporting document required.
        Correct = "correct",
        /// A note of a later change (change of name, divorce, court decision…), with its document.
        Annotate = "annotate",
        /// A certified extract was issued.
        Certify = "certify",
        Archive = "archive",
        /// Imported from a digitised book (registered as it stood in the book).
        Import = "import",
    }
}

/// A book of the registry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Book {
    pub id: i64,
    pub kind: RecordKind,
    /// The book's volume (quyển số), e.g. "01/2024".
    pub volume: String,
    pub year: i32,
    /// The registering ward or district (code).
    pub unit: String,
    pub unit_name: String,
    pub records: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewBook {
    pub kind: RecordKind,
    pub volume: String,
    pub year: i32,
    /// The registering ward or district (code).
    pub unit: String,
}

/// A record as created by hand: its place in a book and its fields (by kind; see
/// `docs/registry.md`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewRecord {
    pub book_id: i64,
    pub page: i64,
    pub entry: i64,
    /// The registration date, `YYYY-MM-DD`.
    pub registered_on: String,
    /// The record's fields, by kind.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
}

/// A clerk's action.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordActionRequest {
    pub action: RecordAction,
    /// Why (required for `correct`, `annotate`, `archive`).
    #[serde(default)]
    pub reason: String,
    /// The supporting document (decision number, court judgment…), required for `correct` and
    /// `annotate`.
    #[serde(default)]
    pub document_ref: Option<String>,
    /// `update` and `correct`: the fields to change (only those given change).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub fields: Option<serde_json::Value>,
    /// `annotate`: what kind of later change (`change_of_name`, `divorce`, `court_decision`,
    /// `other`).
    #[serde(default)]
    pub note_kind: Option<String>,
}

/// One entry of a record's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordHistoryEntry {
    pub action: RecordAction,
    pub status: RecordStatus,
    pub actor: String,
    pub reason: String,
    pub document_ref: Option<String>,
    pub note_kind: Option<String>,
    /// The fields this action changed, as they were before (with ID numbers masked).
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The same fields after.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A record, in full.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CivilRecord {
    pub id: i64,
    pub kind: RecordKind,
    pub status: RecordStatus,
    pub book_id: i64,
    pub volume: String,
    pub page: i64,
    pub entry: i64,
    pub registered_on: String,
    pub unit: String,
    pub unit_name: String,
    /// The fields; ID numbers masked unless the caller is a clerk of the record's unit.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    pub assignee: Option<String>,
    /// A record this one may repeat, flagged on declaring, for review.
    pub possible_duplicate_of: Option<i64>,
    pub history: Vec<RecordHistoryEntry>,
}

/// A search hit.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordSummary {
    pub id: i64,
    pub kind: RecordKind,
    pub status: RecordStatus,
    pub volume: String,
    pub page: i64,
    pub entry: i64,
    pub registered_on: String,
    pub unit: String,
    /// The person the record is about (the child, the deceased, the spouses…).
    pub name: String,
    /// The date of the event (birth, marriage, death, recognition).
    pub event_date: Option<String>,
    pub place: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordSearchResult {
    pub total: i64,
    pub items: Vec<RecordSummary>,
    /// How long the search took in the database, in milliseconds.
    pub took_ms: f64,
}

/// One rejected row of an import.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RejectedRow {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub reasons: Vec<String>,
}

/// What an import did (or, on a dry run, would do). A file with any rejected row adds nothing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordImportReport {
    pub dry_run: bool,
    /// Whether the rows were added (not a dry run, and no row rejected).
    pub applied: bool,
    pub rows: u64,
    /// Rows that would be (or were) added.
    pub added: u64,
    /// Rows already in the book, identical: skipped.
    pub unchanged: u64,
    pub rejected: Vec<RejectedRow>,
    pub took_ms: f64,
}

/// A certified extract.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Extract {
    pub id: String,
    pub record_id: i64,
    pub kind: RecordKind,
    /// What the extract shows (ID numbers masked).
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    pub issued_by: String,
    /// The public page that confirms the extract (the QR code's target).
    pub verify_url: String,
    /// The QR code as SVG markup.
    pub qr_svg: String,
}

/// A search of the registry (sent in the body: it may carry an ID number).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct RecordSearch {
    /// A name, with or without accents; near spellings match too.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Option<RecordKind>,
    /// The event's date from / to, `YYYY-MM-DD`.
    #[serde(default)]
    pub event_from: Option<String>,
    #[serde(default)]
    pub event_to: Option<String>,
    #[serde(default)]
    pub book_id: Option<i64>,
    #[serde(default)]
    pub entry: Option<i64>,
    /// A parent's name (births, recognitions).
    #[serde(default)]
    pub parent: Option<String>,
    /// An exact 12-digit ID number.
    #[serde(default)]
    pub id_number: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub offset: Option<i64>,
}
