//! Accounts and their role grants.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Store, Ts, Tx, on_pool, on_tx};
use crate::Result;
use crate::error::conflict_on_unique;

/// A row of `users`.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub kind: String,
    pub password_hash: String,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// A grant with its jurisdiction's code.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct GrantRow {
    pub user_id: i64,
    pub role: String,
    pub jurisdiction_id: i64,
    pub jurisdiction_code: String,
}

macro_rules! user_columns {
    () => {
        "id, username, display_name, kind, password_hash, disabled, failed_logins, locked_until, created_at"
    };
}
macro_rules! grant_select {
    () => {
        "SELECT g.user_id, g.role, g.jurisdiction_id, j.code AS jurisdiction_code \
     FROM role_grants g JOIN jurisdictions j ON j.id = g.jurisdiction_id"
    };
}

pub(crate) struct NewUserRow<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub kind: &'a str,
    pub password_hash: &'a str,
}

pub(crate) async fn insert(tx: &mut Tx, user: &NewUserRow<'_>, now: OffsetDateTime) -> Result<i64> {
    let result = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO users (username, display_name, kind, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(user.username)
    .bind(user.display_name)
    .bind(user.kind)
    .bind(user.password_hash)
    .bind(Ts(now))
    .fetch_one(c)
    .await);
    result.map_err(|e| conflict_on_unique(e, "an account with this username already exists"))
}

pub(crate) async fn insert_grant(tx: &mut Tx, user_id: i64, role: &str, jurisdiction_id: i64) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query(
        "INSERT INTO role_grants (user_id, role, jurisdiction_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(role)
    .bind(jurisdiction_id)
    .execute(c)
    .await?;
    });
    Ok(())
}

pub(crate) async fn find_for_update(tx: &mut Tx, username: &str) -> Result<Option<UserRow>> {
    let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE username = $1");
    Ok(on_tx!(tx, c => sqlx::query_as(sql).bind(username).fetch_optional(c).await?))
}

pub(crate) async fn record_login_failure(
    tx: &mut Tx,
    id: i64,
    failed_logins: i64,
    locked_until: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query(
        "UPDATE users SET failed_logins = $2, locked_until = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(failed_logins)
    .bind(locked_until.map(Ts))
    .bind(Ts(now))
    .execute(c)
    .await?;
    });
    Ok(())
}

pub(crate) async fn record_login_success(tx: &mut Tx, id: i64, now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(Ts(now))
    .execute(c)
    .await?;
    });
    Ok(())
}

/// Disables an account; returns false if there is no such account.
pub(crate) async fn set_disabled(tx: &mut Tx, id: i64, now: OffsetDateTime) -> Result<bool> {
    let n = on_tx!(tx, c => sqlx::query("UPDATE users SET disabled = TRUE, updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(Ts(now))
        .execute(c)
        .await?
        .rows_affected());
    Ok(n == 1)
}

impl Store {
    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(id).fetch_optional(p).await?))
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE username = $1");
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(username).fetch_optional(p).await?))
    }

    pub async fn users(&self) -> Result<Vec<UserRow>> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users ORDER BY username");
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await?))
    }

    /// Users holding any role on `jurisdiction_id` itself.
    pub async fn users_granted_on(&self, jurisdiction_id: i64) -> Result<Vec<UserRow>> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id IN (SELECT user_id FROM role_grants WHERE jurisdiction_id = $1) ORDER BY username"
        );
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(jurisdiction_id).fetch_all(p).await?))
    }

    pub async fn grants_of(&self, user_id: i64) -> Result<Vec<GrantRow>> {
        let sql = concat!(grant_select!(), " WHERE g.user_id = $1 ORDER BY g.role, j.code");
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(user_id).fetch_all(p).await?))
    }

    pub async fn all_grants(&self) -> Result<Vec<GrantRow>> {
        let sql = concat!(grant_select!(), " ORDER BY g.user_id, g.role, j.code");
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await?))
    }

    pub async fn count_users(&self) -> Result<i64> {
        Ok(on_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(p).await?))
    }
}
