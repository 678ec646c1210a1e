//! Payment intents, their events, and receipts.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Store, Ts, Tx, on_pool, on_tx};
use crate::Result;

/// A payment with its dossier's code and its receipt's number.
#[derive(Debug, Clone, FromRow)]
pub struct PaymentRow {
    pub id: i64,
    pub reference: String,
    pub purpose: String,
    pub dossier_id: Option<i64>,
    pub dossier_code: Option<String>,
    pub ward_id: Option<i64>,
    pub amount: i64,
    pub description: String,
    pub status: String,
    pub provider: Option<String>,
    pub provider_txn: Option<String>,
    pub request_hash: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub paid_at: Option<OffsetDateTime>,
    pub receipt_number: Option<i64>,
}

macro_rules! payment_select {
    () => {
        "SELECT y.id, y.reference, y.purpose, y.dossier_id, d.code AS dossier_code, y.ward_id, y.amount, y.description, \
         y.status, y.provider, y.provider_txn, y.request_hash, y.created_at, y.updated_at, y.paid_at, \
         r.number AS receipt_number \
         FROM payments y LEFT JOIN dossiers d ON d.id = y.dossier_id LEFT JOIN receipts r ON r.payment_id = y.id"
    };
}

#[derive(Debug, Clone, FromRow)]
pub struct ReceiptRow {
    pub number: i64,
    pub amount: i64,
    pub method: String,
    pub issued_by: String,
    pub issued_at: OffsetDateTime,
}

pub(crate) struct NewPaymentRow<'a> {
    pub reference: &'a str,
    pub purpose: &'a str,
    pub dossier_id: Option<i64>,
    pub ward_id: Option<i64>,
    pub amount: i64,
    pub description: &'a str,
    pub idem_scope: &'a str,
    pub idem_key: &'a str,
    pub request_hash: &'a str,
    pub created_by: Option<i64>,
}

/// Inserts a payment unless one with the same idempotency scope and key exists; the new id, or
/// `None` when the key was taken.
pub(crate) async fn insert(tx: &mut Tx, y: &NewPaymentRow<'_>, now: OffsetDateTime) -> Result<Option<i64>> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO payments (reference, purpose, dossier_id, ward_id, amount, description, status, idem_scope, \
         idem_key, request_hash, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'requires_payment', $7, $8, $9, $10, $11, $11) \
         ON CONFLICT (idem_scope, idem_key) DO NOTHING RETURNING id",
    )
    .bind(y.reference)
    .bind(y.purpose)
    .bind(y.dossier_id)
    .bind(y.ward_id)
    .bind(y.amount)
    .bind(y.description)
    .bind(y.idem_scope)
    .bind(y.idem_key)
    .bind(y.request_hash)
    .bind(y.created_by)
    .bind(Ts(now))
    .fetch_optional(c)
    .await?))
}

pub(crate) async fn by_idempotency_key(tx: &mut Tx, scope: &str, key: &str) -> Result<Option<PaymentRow>> {
    Ok(on_tx!(tx, c => sqlx::query_as(concat!(payment_select!(), " WHERE y.idem_scope = $1 AND y.idem_key = $2"))
        .bind(scope)
        .bind(key)
        .fetch_optional(c)
        .await?))
}

/// Reads a payment inside a write transaction, locking its row on PostgreSQL.
pub(crate) async fn for_update(tx: &mut Tx, reference: &str) -> Result<Option<PaymentRow>> {
    Ok(match tx {
        Tx::Sqlite(t, _) => {
            sqlx::query_as(concat!(payment_select!(), " WHERE y.reference = $1"))
                .bind(reference)
                .fetch_optional(&mut **t)
                .await?
        }
        Tx::Postgres(t) => {
            sqlx::query_as(concat!(payment_select!(), " WHERE y.reference = $1 FOR UPDATE OF y"))
                .bind(reference)
                .fetch_optional(&mut **t)
                .await?
        }
    })
}

pub(crate) async fn set_status(
    tx: &mut Tx,
    id: i64,
    status: &str,
    provider: Option<&str>,
    provider_txn: Option<&str>,
    now: OffsetDateTime,
) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query(
            "UPDATE payments SET status = $2, provider = COALESCE($3, provider), \
             provider_txn = COALESCE($4, provider_txn), updated_at = $5, \
             paid_at = CASE WHEN $2 = 'succeeded' THEN $5 ELSE paid_at END WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(provider)
        .bind(provider_txn)
        .bind(Ts(now))
        .execute(c)
        .await?;
    });
    Ok(())
}

pub(crate) struct NewEventRow<'a> {
    pub payment_id: Option<i64>,
    pub kind: &'a str,
    pub provider: &'a str,
    pub provider_event: Option<&'a str>,
    pub outcome: &'a str,
    pub detail: &'a str,
}

/// Records an event; `false` when a bank credit with the same provider id was recorded before.
pub(crate) async fn insert_event(tx: &mut Tx, e: &NewEventRow<'_>, now: OffsetDateTime) -> Result<bool> {
    let inserted: Option<i64> = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO payment_events (payment_id, kind, provider, provider_event, outcome, detail, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (provider, provider_event) WHERE kind = 'bank_credit' DO NOTHING RETURNING id",
    )
    .bind(e.payment_id)
    .bind(e.kind)
    .bind(e.provider)
    .bind(e.provider_event)
    .bind(e.outcome)
    .bind(e.detail)
    .bind(Ts(now))
    .fetch_optional(c)
    .await?);
    Ok(inserted.is_some())
}

/// Issues the next receipt number for a payment. The counter row is taken inside the caller's
/// transaction, so a rolled-back payment gives its number back and numbers never skip.
pub(crate) async fn issue_receipt(
    tx: &mut Tx,
    payment_id: i64,
    amount: i64,
    method: &str,
    issued_by: &str,
    now: OffsetDateTime,
) -> Result<i64> {
    on_tx!(tx, c => {
        let number: i64 =
            sqlx::query_scalar("UPDATE counters SET value = value + 1 WHERE name = 'receipt' RETURNING value")
                .fetch_one(&mut *c)
                .await?;
        sqlx::query(
            "INSERT INTO receipts (number, payment_id, amount, method, issued_by, issued_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(number)
        .bind(payment_id)
        .bind(amount)
        .bind(method)
        .bind(issued_by)
        .bind(Ts(now))
        .execute(c)
        .await?;
        Ok(number)
    })
}

/// The cashless share of the scorecard: `(paid, paid other than in cash)`.
#[derive(Debug, Clone, Copy, Default, FromRow)]
pub struct PaidCounts {
    pub paid: i64,
    pub cashless: i64,
}

impl Store {
    pub async fn payment(&self, reference: &str) -> Result<Option<PaymentRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(payment_select!(), " WHERE y.reference = $1"))
            .bind(reference)
            .fetch_optional(p)
            .await?))
    }

    /// The dossier's latest payment.
    pub async fn dossier_payment(&self, dossier: i64) -> Result<Option<PaymentRow>> {
        Ok(
            on_pool!(self, p => sqlx::query_as(concat!(payment_select!(), " WHERE y.dossier_id = $1 ORDER BY y.id DESC LIMIT 1"))
            .bind(dossier)
            .fetch_optional(p)
            .await?),
        )
    }

    /// Payments sent to `provider` and still waiting, last touched before `before`.
    pub async fn payments_waiting(&self, provider: &str, before: OffsetDateTime) -> Result<Vec<PaymentRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(
            payment_select!(),
            " WHERE y.status = 'processing' AND y.provider = $1 AND y.updated_at < $2 ORDER BY y.id LIMIT 100"
        ))
        .bind(provider)
        .bind(Ts(before))
        .fetch_all(p)
        .await?))
    }

    /// The latest payments, newest first.
    pub async fn payments_list(&self, status: Option<&str>, limit: i64) -> Result<Vec<PaymentRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(
            payment_select!(),
            " WHERE ($1 IS NULL OR y.status = $1) ORDER BY y.id DESC LIMIT $2"
        ))
        .bind(status)
        .bind(limit)
        .fetch_all(p)
        .await?))
    }

    pub async fn receipt(&self, payment_id: i64) -> Result<Option<ReceiptRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT number, amount, method, issued_by, issued_at FROM receipts WHERE payment_id = $1",
        )
        .bind(payment_id)
        .fetch_optional(p)
        .await?))
    }

    /// Every receipt number issued, in order (for the audit of gaps).
    pub async fn receipt_numbers(&self) -> Result<Vec<i64>> {
        Ok(on_pool!(self, p => sqlx::query_scalar("SELECT number FROM receipts ORDER BY number").fetch_all(p).await?))
    }

    /// Payments of a ward (or all) that succeeded between two instants.
    pub async fn paid_counts(&self, ward: Option<i64>, from: OffsetDateTime, to: OffsetDateTime) -> Result<PaidCounts> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) AS paid, \
               CAST(COALESCE(SUM(CASE WHEN provider <> 'cash' THEN 1 ELSE 0 END), 0) AS BIGINT) AS cashless \
             FROM payments WHERE status = 'succeeded' AND ($1 IS NULL OR ward_id = $1) AND paid_at >= $2 AND paid_at < $3",
        )
        .bind(ward)
        .bind(Ts(from))
        .bind(Ts(to))
        .fetch_one(p)
        .await?))
    }
}
