//! Procedures, holidays, dossiers, their actions and documents.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Backend, Store, Ts, Tx, json_ids, on_pool, on_tx};
use crate::Result;

#[derive(Debug, Clone, FromRow)]
pub struct ProcedureRow {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub level: String,
    pub documents: String,
    pub fee: i64,
    pub working_days: i64,
    pub office: String,
}

/// A dossier with its procedure's and ward's names.
#[derive(Debug, Clone, FromRow)]
pub struct DossierRow {
    pub id: i64,
    pub code: String,
    pub procedure_code: String,
    pub procedure_name_vi: String,
    pub procedure_name_en: String,
    pub procedure_documents: String,
    pub ward_id: i64,
    pub ward_code: String,
    pub ward_name: String,
    pub office_id: i64,
    pub applicant: Vec<u8>,
    pub status: String,
    pub is_open: bool,
    pub handler_id: Option<i64>,
    pub handler_name: Option<String>,
    pub source: String,
    pub fee: i64,
    pub fee_paid: bool,
    pub received_at: OffsetDateTime,
    pub due_at: OffsetDateTime,
    pub step_due_at: Option<OffsetDateTime>,
    pub result_at: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    pub on_time: Option<bool>,
    pub apologies: i64,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
    pub updated_at: OffsetDateTime,
}

macro_rules! dossier_select {
    () => {
        "SELECT d.id, d.code, d.procedure_code, p.name_vi AS procedure_name_vi, p.name_en AS procedure_name_en, \
         p.documents AS procedure_documents, d.ward_id, w.code AS ward_code, w.name_vi AS ward_name, d.office_id, \
         d.applicant, d.status, d.is_open, d.handler_id, u.display_name AS handler_name, d.source, d.fee, d.fee_paid, \
         d.received_at, d.due_at, d.step_due_at, d.result_at, d.closed_at, d.on_time, d.apologies, d.rating, \
         d.rating_comment, d.updated_at \
         FROM dossiers d JOIN procedures p ON p.code = d.procedure_code \
         JOIN jurisdictions w ON w.id = d.ward_id LEFT JOIN users u ON u.id = d.handler_id"
    };
}

#[derive(Debug, Clone, FromRow)]
pub struct DossierActionRow {
    pub action: String,
    pub status_after: String,
    pub actor: String,
    pub public: bool,
    pub note: String,
    pub step_due_at: Option<OffsetDateTime>,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, FromRow)]
pub struct DocumentRow {
    pub id: String,
    pub doc_key: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_at: OffsetDateTime,
}

#[derive(FromRow)]
struct DocumentWithContent {
    #[sqlx(flatten)]
    meta: DocumentRow,
    content: Vec<u8>,
}

pub(crate) struct NewDossierRow<'a> {
    pub code: &'a str,
    pub procedure: &'a str,
    pub ward_id: i64,
    pub office_id: i64,
    pub applicant: &'a [u8],
    pub id_index: &'a str,
    pub status: &'a str,
    pub source: &'a str,
    pub fee: i64,
    pub due_at: OffsetDateTime,
}

pub(crate) async fn insert(tx: &mut Tx, d: &NewDossierRow<'_>, now: OffsetDateTime) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO dossiers (code, procedure_code, ward_id, office_id, applicant, id_index, status, is_open, source, \
         fee, fee_paid, received_at, due_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $9, $10, $11, $12, $11) RETURNING id",
    )
    .bind(d.code)
    .bind(d.procedure)
    .bind(d.ward_id)
    .bind(d.office_id)
    .bind(d.applicant)
    .bind(d.id_index)
    .bind(d.status)
    .bind(d.source)
    .bind(d.fee)
    .bind(d.fee == 0)
    .bind(Ts(now))
    .bind(Ts(d.due_at))
    .fetch_one(c)
    .await?))
}

pub(crate) struct NewActionRow<'a> {
    pub dossier_id: i64,
    pub action: &'a str,
    pub status_before: Option<&'a str>,
    pub status_after: &'a str,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub public: bool,
    pub note: &'a str,
    pub detail: &'a str,
    pub step_due_at: Option<OffsetDateTime>,
}

pub(crate) async fn insert_action(tx: &mut Tx, a: &NewActionRow<'_>, now: OffsetDateTime) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO dossier_actions (dossier_id, action, status_before, status_after, actor_id, actor, public, note, \
         detail, step_due_at, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(a.dossier_id)
    .bind(a.action)
    .bind(a.status_before)
    .bind(a.status_after)
    .bind(a.actor_id)
    .bind(a.actor)
    .bind(a.public)
    .bind(a.note)
    .bind(a.detail)
    .bind(a.step_due_at.map(Ts))
    .bind(Ts(now))
    .fetch_one(c)
    .await?))
}

pub(crate) struct NewDocumentRow<'a> {
    pub id: &'a str,
    pub dossier_id: i64,
    pub key: &'a str,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub sealed: &'a [u8],
}

pub(crate) async fn insert_document(tx: &mut Tx, d: &NewDocumentRow<'_>, now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO dossier_documents (id, dossier_id, doc_key, filename, content_type, size, sha256, content, \
             uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(d.id)
        .bind(d.dossier_id)
        .bind(d.key)
        .bind(d.filename)
        .bind(d.content_type)
        .bind(d.size)
        .bind(d.sha256)
        .bind(d.sealed)
        .bind(Ts(now))
        .execute(c)
        .await?;
    });
    Ok(())
}

/// The fields an action may change.
pub(crate) struct DossierChange {
    pub id: i64,
    pub status: String,
    pub is_open: bool,
    pub handler_id: Option<i64>,
    pub due_at: OffsetDateTime,
    pub step_due_at: Option<OffsetDateTime>,
    pub result_at: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    pub on_time: Option<bool>,
    pub apologies: i64,
    pub rating: Option<(i64, String)>,
}

pub(crate) async fn update(tx: &mut Tx, d: &DossierChange, now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query(
            "UPDATE dossiers SET status = $2, is_open = $3, handler_id = $4, due_at = $5, step_due_at = $6, \
             result_at = $7, closed_at = $8, on_time = $9, apologies = $10, rating = $11, rating_comment = $12, \
             rated_at = CASE WHEN $11 IS NOT NULL AND rated_at IS NULL THEN $13 ELSE rated_at END, updated_at = $13 \
             WHERE id = $1",
        )
        .bind(d.id)
        .bind(&d.status)
        .bind(d.is_open)
        .bind(d.handler_id)
        .bind(Ts(d.due_at))
        .bind(d.step_due_at.map(Ts))
        .bind(d.result_at.map(Ts))
        .bind(d.closed_at.map(Ts))
        .bind(d.on_time)
        .bind(d.apologies)
        .bind(d.rating.as_ref().map(|r| r.0))
        .bind(d.rating.as_ref().map(|r| r.1.as_str()))
        .bind(Ts(now))
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Marks a dossier's fee paid (or unpaid again, on a refund).
pub(crate) async fn set_fee_paid(tx: &mut Tx, id: i64, paid: bool, now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query("UPDATE dossiers SET fee_paid = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(paid)
            .bind(Ts(now))
            .execute(c)
            .await?;
    });
    Ok(())
}

/// Reads a dossier inside a write transaction, locking its row on PostgreSQL.
pub(crate) async fn for_update(tx: &mut Tx, id: i64) -> Result<Option<DossierRow>> {
    Ok(match tx {
        Tx::Sqlite(t, _) => {
            sqlx::query_as(concat!(dossier_select!(), " WHERE d.id = $1")).bind(id).fetch_optional(&mut **t).await?
        }
        Tx::Postgres(t) => {
            sqlx::query_as(concat!(dossier_select!(), " WHERE d.id = $1 FOR UPDATE OF d"))
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }
    })
}

/// Which dossiers the officers' queue shows.
#[derive(Debug, Default)]
pub struct DossierFilter<'a> {
    /// Only dossiers processed by these offices; `None`: all.
    pub offices: Option<&'a [i64]>,
    pub status: Option<&'a str>,
    pub open_only: bool,
    pub overdue_at: Option<OffsetDateTime>,
    pub handler_id: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// Dossier figures for the scorecard: `(returned, returned on time, received, received online)`.
#[derive(Debug, Clone, Copy, Default, FromRow)]
pub struct DossierCounts {
    pub returned: i64,
    pub on_time: i64,
    pub received: i64,
    pub online: i64,
}

impl Store {
    pub async fn procedures(&self) -> Result<Vec<ProcedureRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT code, name_vi, name_en, level, documents, fee, working_days, office FROM procedures \
             WHERE active ORDER BY position, code",
        )
        .fetch_all(p)
        .await?))
    }

    /// Holidays from `from` to `to` (ISO dates, inclusive), in order.
    pub async fn holidays(&self, from: &str, to: &str) -> Result<Vec<(String, String)>> {
        Ok(
            on_pool!(self, p => sqlx::query_as("SELECT day, name FROM holidays WHERE day >= $1 AND day <= $2 ORDER BY day")
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await?),
        )
    }

    pub async fn put_holiday(&self, day: &str, name: &str) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("INSERT INTO holidays (day, name) VALUES ($1, $2) ON CONFLICT (day) DO UPDATE SET name = $2")
                .bind(day)
                .bind(name)
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// Removes a holiday; whether there was one.
    pub async fn delete_holiday(&self, day: &str) -> Result<bool> {
        let deleted = on_pool!(self, p => sqlx::query("DELETE FROM holidays WHERE day = $1").bind(day).execute(p).await?.rows_affected());
        Ok(deleted > 0)
    }

    pub async fn dossier(&self, id: i64) -> Result<Option<DossierRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(dossier_select!(), " WHERE d.id = $1"))
            .bind(id)
            .fetch_optional(p)
            .await?))
    }

    pub async fn dossier_by_code(&self, code: &str) -> Result<Option<DossierRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(dossier_select!(), " WHERE d.code = $1"))
            .bind(code)
            .fetch_optional(p)
            .await?))
    }

    pub async fn dossier_actions(&self, id: i64) -> Result<Vec<DossierActionRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT action, status_after, actor, public, note, step_due_at, at FROM dossier_actions \
             WHERE dossier_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(p)
        .await?))
    }

    pub async fn dossier_documents(&self, id: i64) -> Result<Vec<DocumentRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, doc_key, filename, content_type, size, uploaded_at FROM dossier_documents \
             WHERE dossier_id = $1 ORDER BY uploaded_at, id",
        )
        .bind(id)
        .fetch_all(p)
        .await?))
    }

    /// A document's metadata and sealed content.
    pub async fn dossier_document(&self, dossier: i64, id: &str) -> Result<Option<(DocumentRow, Vec<u8>)>> {
        let row: Option<DocumentWithContent> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, doc_key, filename, content_type, size, uploaded_at, content FROM dossier_documents \
             WHERE dossier_id = $1 AND id = $2",
        )
        .bind(dossier)
        .bind(id)
        .fetch_optional(p)
        .await?);
        Ok(row.map(|r| (r.meta, r.content)))
    }

    /// The officers' queue, oldest appointment first, and how many match in all.
    pub async fn dossier_queue(&self, f: &DossierFilter<'_>) -> Result<(i64, Vec<DossierRow>)> {
        macro_rules! filter {
            ($engine:ident) => {
                concat!(
                    " WHERE ($1 IS NULL OR d.status = $1) AND (NOT $2 OR d.is_open) \
                      AND ($3 IS NULL OR (d.is_open AND d.due_at < $3)) AND ($4 IS NULL OR d.handler_id = $4) \
                      AND ($5 OR d.office_id IN ",
                    json_ids!($engine, "$6"),
                    ")"
                )
            };
        }
        macro_rules! both {
            ($engine:ident) => {
                (
                    concat!(dossier_select!(), filter!($engine), " ORDER BY d.due_at, d.id LIMIT $7 OFFSET $8"),
                    concat!("SELECT COUNT(*) FROM dossiers d", filter!($engine)),
                )
            };
        }
        let (rows_sql, count_sql) = match self.backend() {
            Backend::Sqlite => both!(sqlite),
            Backend::Postgres => both!(postgres),
        };
        let all = f.offices.is_none();
        let offices = serde_json::to_string(f.offices.unwrap_or(&[])).expect("ids serialize");
        let total: i64 = on_pool!(self, p => sqlx::query_scalar(count_sql)
            .bind(f.status)
            .bind(f.open_only)
            .bind(f.overdue_at.map(Ts))
            .bind(f.handler_id)
            .bind(all)
            .bind(&offices)
            .fetch_one(p)
            .await?);
        let rows = on_pool!(self, p => sqlx::query_as(rows_sql)
            .bind(f.status)
            .bind(f.open_only)
            .bind(f.overdue_at.map(Ts))
            .bind(f.handler_id)
            .bind(all)
            .bind(&offices)
            .bind(f.limit)
            .bind(f.offset)
            .fetch_all(p)
            .await?);
        Ok((total, rows))
    }

    /// Scorecard counts for a ward (or all) between two instants.
    pub async fn dossier_counts(
        &self,
        ward: Option<i64>,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<DossierCounts> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT \
               CAST(COALESCE(SUM(CASE WHEN d.status = 'returned' AND d.closed_at >= $2 AND d.closed_at < $3 THEN 1 ELSE 0 END), 0) AS BIGINT) AS returned, \
               CAST(COALESCE(SUM(CASE WHEN d.status = 'returned' AND d.closed_at >= $2 AND d.closed_at < $3 AND d.on_time THEN 1 ELSE 0 END), 0) AS BIGINT) AS on_time, \
               CAST(COALESCE(SUM(CASE WHEN d.received_at >= $2 AND d.received_at < $3 THEN 1 ELSE 0 END), 0) AS BIGINT) AS received, \
               CAST(COALESCE(SUM(CASE WHEN d.received_at >= $2 AND d.received_at < $3 AND d.source <> 'counter' THEN 1 ELSE 0 END), 0) AS BIGINT) AS online \
             FROM dossiers d WHERE ($1 IS NULL OR d.ward_id = $1) \
               AND ((d.received_at >= $2 AND d.received_at < $3) OR (d.closed_at >= $2 AND d.closed_at < $3))",
        )
        .bind(ward)
        .bind(Ts(from))
        .bind(Ts(to))
        .fetch_one(p)
        .await?))
    }
}
