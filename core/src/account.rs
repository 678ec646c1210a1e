//! Staff and machine accounts: validated usernames and passwords, argon2id hashes, role grants.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use q10_core_api::{AccountKind, Grant, NewUser, Role, User};
use time::OffsetDateTime;

use crate::audit::{self, Actor, AuditKey, Event};
use crate::error::{Error, Result};
use crate::store::users::{GrantRow, NewUserRow, UserRow};
use crate::store::{Store, jurisdictions, sessions, users};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 256;

/// A login name: 3–64 characters of lower-case letters, digits, '.', '_' and '-'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username> {
        let s = raw.trim().to_lowercase();
        let ok_chars = s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !(3..=64).contains(&s.len()) || !ok_chars {
            return Err(Error::invalid(
                "username",
                "a username has 3 to 64 characters: letters a-z, digits, '.', '_' or '-'",
            ));
        }
        Ok(Username(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a new password against the policy.
pub fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(Error::invalid("password", format!("a password has at least {MIN_PASSWORD_CHARS} characters")));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(Error::invalid("password", format!("a password has at most {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(anyhow::anyhow!("hashing a password failed: {e}")))
}

/// Whether `password` matches the stored PHC string. A malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
}

fn display_name(raw: &str) -> Result<String> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > 128 || s.chars().any(char::is_control) {
        return Err(Error::invalid("display_name", "a display name has 1 to 128 printable characters"));
    }
    Ok(s.to_string())
}

/// Creates an account with its grants, audited, in one transaction. The grants' jurisdictions
/// must be valid on the day of creation.
pub async fn create(
    store: &Store,
    key: &AuditKey,
    actor: Actor,
    source: &str,
    new: &NewUser,
    now: OffsetDateTime,
) -> Result<User> {
    let username = Username::parse(&new.username)?;
    let display = display_name(&new.display_name)?;
    check_password(&new.password)?;
    if new.grants.is_empty() {
        return Err(Error::invalid("grants", "an account needs at least one role grant"));
    }
    if new.kind == AccountKind::Device && new.grants.iter().any(|g| g.role != Role::KioskDevice) {
        return Err(Error::invalid("grants", "a device account can only hold the kiosk_device role"));
    }
    if new.kind == AccountKind::Person && new.grants.iter().any(|g| g.role == Role::KioskDevice) {
        return Err(Error::invalid("grants", "the kiosk_device role is for device accounts"));
    }
    let hash = hash_password(&new.password)?;
    let mut tx = store.begin().await?;
    let row = NewUserRow {
        username: username.as_str(),
        display_name: &display,
        kind: new.kind.as_str(),
        password_hash: &hash,
    };
    let id = users::insert(&mut tx, &row, now).await?;
    for grant in &new.grants {
        let unit =
            jurisdictions::find_valid_at_tx(&mut tx, &grant.jurisdiction, now.date()).await?.ok_or_else(|| {
                Error::invalid("grants", format!("no current jurisdiction has code '{}'", grant.jurisdiction))
            })?;
        users::insert_grant(&mut tx, id, grant.role.as_str(), unit.id).await?;
    }
    let event = Event::new(actor, "user.create", "user", id)
        .detail(serde_json::json!({ "username": username.as_str(), "kind": new.kind.as_str(), "grants": new.grants }))
        .source(source);
    audit::append(&mut tx, key, event, now).await?;
    tx.commit().await?;
    let row = store.user_by_id(id).await?.ok_or(Error::NotFound("user"))?;
    let grants = store.grants_of(id).await?;
    Ok(to_api(&row, &grants))
}

/// Disables an account and ends its sessions.
pub async fn disable(
    store: &Store,
    key: &AuditKey,
    actor: Actor,
    source: &str,
    id: i64,
    now: OffsetDateTime,
) -> Result<()> {
    let mut tx = store.begin().await?;
    if !users::set_disabled(&mut tx, id, now).await? {
        return Err(Error::NotFound("user"));
    }
    let ended = sessions::revoke_all_of(&mut tx, id, now).await?;
    let event = Event::new(actor, "user.disable", "user", id)
        .detail(serde_json::json!({ "sessions_ended": ended }))
        .source(source);
    audit::append(&mut tx, key, event, now).await?;
    tx.commit().await
}

/// The API view of an account.
pub fn to_api(row: &UserRow, grants: &[GrantRow]) -> User {
    User {
        id: row.id,
        username: row.username.clone(),
        display_name: row.display_name.clone(),
        kind: AccountKind::parse(&row.kind).unwrap_or(AccountKind::Person),
        disabled: row.disabled,
        grants: api_grants(grants.iter().filter(|g| g.user_id == row.id)),
        locked_until: row.locked_until,
        created_at: row.created_at,
    }
}

/// Grants as the API shows them. Rows naming a role this build does not know are skipped.
pub fn api_grants<'a>(grants: impl IntoIterator<Item = &'a GrantRow>) -> Vec<Grant> {
    grants
        .into_iter()
        .filter_map(|g| Some(Grant { role: g.role.parse().ok()?, jurisdiction: g.jurisdiction_code.clone() }))
        .collect()
}

/// An enabled account named in a request (to assign work to, or to ask into a call), with its
/// grants; refused as the `username` field's fault otherwise.
pub async fn colleague(store: &Store, username: &str) -> Result<(UserRow, Vec<GrantRow>)> {
    let u = store
        .user_by_username(username.trim())
        .await?
        .filter(|u| !u.disabled)
        .ok_or(Error::invalid("username", "no such account"))?;
    let grants = store.grants_of(u.id).await?;
    Ok((u, grants))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(Username::parse(" Ward7.Chair ").unwrap().as_str(), "ward7.chair");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("nguyễn").is_err());
        assert!(Username::parse("a b c").is_err());
    }

    #[test]
    fn passwords_are_checked_and_hashes_verify() {
        assert!(check_password("short").is_err());
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not-a-hash"));
    }
}
