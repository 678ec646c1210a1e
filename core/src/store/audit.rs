//! Audit log persistence: the chain rows and the authenticated head.

use sqlx::FromRow;

use super::{Backend, Store, Tx, on_pool, on_tx};
use crate::Result;

/// A row of `audit_log`, exactly as stored and hashed.
#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub detail: String,
    pub source: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The `audit_head` row.
#[derive(Debug, Clone, FromRow)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
    pub mac: String,
}

macro_rules! columns {
    () => {
        "seq, at, actor_id, actor, action, object_type, object_id, detail, source, prev_hash, hash"
    };
}

/// Reads the head for an append, holding the lock that orders appends until `tx` ends.
pub(crate) async fn lock_head(tx: &mut Tx) -> Result<Option<Head>> {
    if tx.backend() == Backend::Postgres {
        // SQLite's BEGIN IMMEDIATE already holds the write lock; PostgreSQL needs one taken.
        on_tx!(tx, c => {
            sqlx::query("SELECT pg_advisory_xact_lock(7310001)").execute(c).await?;
        });
    }
    Ok(on_tx!(tx, c => sqlx::query_as("SELECT seq, hash, mac FROM audit_head WHERE id = 1").fetch_optional(c).await?))
}

pub(crate) async fn insert(tx: &mut Tx, row: &AuditRow, head_mac: &str) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor_id, actor, action, object_type, object_id, detail, source, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(row.seq)
        .bind(&row.at)
        .bind(row.actor_id)
        .bind(&row.actor)
        .bind(&row.action)
        .bind(&row.object_type)
        .bind(&row.object_id)
        .bind(&row.detail)
        .bind(&row.source)
        .bind(&row.prev_hash)
        .bind(&row.hash)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac",
        )
        .bind(row.seq)
        .bind(&row.hash)
        .bind(head_mac)
        .execute(c)
        .await?;
    });
    Ok(())
}

impl Store {
    /// Up to `limit` rows after sequence number `after`, in order.
    pub async fn audit_rows_after(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
        let sql = concat!("SELECT ", columns!(), " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(after).bind(limit).fetch_all(p).await?))
    }

    /// The authenticated head of the chain, if any row was ever written.
    pub async fn audit_head(&self) -> Result<Option<Head>> {
        Ok(
            on_pool!(self, p => sqlx::query_as("SELECT seq, hash, mac FROM audit_head WHERE id = 1").fetch_optional(p).await?),
        )
    }

    /// The newest rows, newest first, optionally before a sequence number (for paging).
    pub async fn audit_page(&self, before: Option<i64>, limit: i64) -> Result<Vec<AuditRow>> {
        let sql = concat!("SELECT ", columns!(), " FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2");
        let before = before.unwrap_or(i64::MAX);
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(before).bind(limit).fetch_all(p).await?))
    }
}
