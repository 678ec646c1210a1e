//! Login sessions: stored by the hash of their token, so a copy of the database opens none.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Store, Ts, Tx, on_pool, on_tx};
use crate::Result;

pub(crate) struct NewSession<'a> {
    pub token_hash: &'a str,
    pub csrf_hash: Option<&'a str>,
    pub user_id: i64,
    pub kind: &'a str,
    pub expires_at: OffsetDateTime,
}

/// A live session joined with its account.
#[derive(Debug, Clone, FromRow)]
pub struct LiveSession {
    pub session_id: i64,
    pub kind: String,
    pub csrf_hash: Option<String>,
    pub expires_at: OffsetDateTime,
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub user_kind: String,
}

pub(crate) async fn insert(tx: &mut Tx, s: &NewSession<'_>, now: OffsetDateTime) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO sessions (token_hash, csrf_hash, user_id, kind, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(s.token_hash)
    .bind(s.csrf_hash)
    .bind(s.user_id)
    .bind(s.kind)
    .bind(Ts(now))
    .bind(Ts(s.expires_at))
    .fetch_one(c)
    .await?))
}

pub(crate) async fn revoke(tx: &mut Tx, session_id: i64, now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(session_id)
        .bind(Ts(now))
        .execute(c)
        .await?;
    });
    Ok(())
}

pub(crate) async fn revoke_all_of(tx: &mut Tx, user_id: i64, now: OffsetDateTime) -> Result<u64> {
    Ok(on_tx!(tx, c => sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .bind(Ts(now))
        .execute(c)
        .await?
        .rows_affected()))
}

impl Store {
    /// The live session with this token hash, if it is neither expired, revoked, nor of a
    /// disabled account.
    pub async fn live_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<LiveSession>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT s.id AS session_id, s.kind, s.csrf_hash, s.expires_at, u.id AS user_id, u.username, \
                    u.display_name, u.kind AS user_kind \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND NOT u.disabled",
        )
        .bind(token_hash)
        .bind(Ts(now))
        .fetch_optional(p)
        .await?))
    }
}
