//! The outbox: events to deliver to other systems, and the API keys of Open311 clients.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Store, Ts, Tx, on_pool, on_tx};
use crate::Result;

#[derive(Debug, Clone, FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub destination: String,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub created_at: OffsetDateTime,
    pub attempts: i64,
}

pub(crate) async fn enqueue(
    tx: &mut Tx,
    destination: &str,
    event_id: &str,
    event_type: &str,
    payload: &str,
    now: OffsetDateTime,
) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO outbox (destination, event_id, event_type, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (destination, event_id) DO NOTHING",
        )
        .bind(destination)
        .bind(event_id)
        .bind(event_type)
        .bind(payload)
        .bind(Ts(now))
        .execute(c)
        .await?;
    });
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

impl Store {
    /// Undelivered events whose next attempt is due, oldest first.
    pub async fn outbox_due(&self, now: OffsetDateTime, limit: i64) -> Result<Vec<OutboxRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, destination, event_id, event_type, payload, created_at, attempts FROM outbox \
             WHERE delivered_at IS NULL AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
        )
        .bind(Ts(now))
        .bind(limit)
        .fetch_all(p)
        .await?))
    }

    pub async fn outbox_delivered(&self, id: i64, now: OffsetDateTime) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("UPDATE outbox SET delivered_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1")
                .bind(id)
                .bind(Ts(now))
                .execute(p)
                .await?;
        });
        Ok(())
    }

    pub async fn outbox_failed(&self, id: i64, error: &str, next: OffsetDateTime) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1")
                .bind(id)
                .bind(error)
                .bind(Ts(next))
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// Events not delivered yet, per destination: `(destination, count)`.
    pub async fn outbox_backlog(&self) -> Result<Vec<(String, i64)>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT destination, COUNT(*) FROM outbox WHERE delivered_at IS NULL GROUP BY destination ORDER BY destination",
        )
        .fetch_all(p)
        .await?))
    }

    pub async fn insert_api_key(&self, name: &str, prefix: &str, key_hash: &str, now: OffsetDateTime) -> Result<i64> {
        let r = on_pool!(self, p => sqlx::query_scalar(
            "INSERT INTO api_keys (name, prefix, key_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(prefix)
        .bind(key_hash)
        .bind(Ts(now))
        .fetch_one(p)
        .await);
        r.map_err(|e| crate::error::conflict_on_unique(e, "an API key with that name exists"))
    }

    pub async fn api_keys(&self) -> Result<Vec<ApiKeyRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, name, prefix, created_at, revoked_at FROM api_keys ORDER BY id",
        )
        .fetch_all(p)
        .await?))
    }

    /// Revokes the key named `name`; false if there is no such live key.
    pub async fn revoke_api_key(&self, name: &str, now: OffsetDateTime) -> Result<bool> {
        let done = on_pool!(self, p => sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL")
            .bind(name)
            .bind(Ts(now))
            .execute(p)
            .await?
            .rows_affected());
        Ok(done > 0)
    }

    /// The live key with this hash: `(id, name)`.
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<(i64, String)>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, name FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(p)
        .await?))
    }
}
