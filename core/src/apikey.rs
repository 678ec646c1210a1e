//! API keys of Open311 clients: created with a name, shown once, kept as a hash, revoked by
//! name. Every change is audited.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use q10_core_api::ApiKeyInfo;
use rand::RngCore;
use time::OffsetDateTime;

use crate::audit::{self, Actor, AuditKey, Event};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::store::outbox::ApiKeyRow;

fn check_name(name: &str) -> Result<&str> {
    let n = name.trim();
    let ok = (2..=64).contains(&n.len()) && n.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !ok {
        return Err(Error::invalid("name", "a key name has 2 to 64 characters: letters, digits, '.', '_' or '-'"));
    }
    Ok(n)
}

pub fn to_api(r: &ApiKeyRow) -> ApiKeyInfo {
    ApiKeyInfo {
        id: r.id,
        name: r.name.clone(),
        prefix: r.prefix.clone(),
        created_at: r.created_at,
        revoked_at: r.revoked_at,
    }
}

/// Creates a key; returns it with the secret, which is not kept and cannot be shown again.
pub async fn create(
    store: &Store,
    key: &AuditKey,
    actor: Actor,
    name: &str,
    now: OffsetDateTime,
) -> Result<(ApiKeyInfo, String)> {
    let name = check_name(name)?;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("q10k_{}", URL_SAFE_NO_PAD.encode(bytes));
    let prefix = secret[..9].to_string();
    let id = store.insert_api_key(name, &prefix, &crate::auth::token_hash(&secret), now).await?;
    let mut tx = store.begin().await?;
    audit::append(
        &mut tx,
        key,
        Event::new(actor, "apikey.create", "api_key", id).detail(serde_json::json!({ "name": name })),
        now,
    )
    .await?;
    tx.commit().await?;
    let info = ApiKeyInfo { id, name: name.to_string(), prefix, created_at: now, revoked_at: None };
    Ok((info, secret))
}

pub async fn list(store: &Store) -> Result<Vec<ApiKeyInfo>> {
    Ok(store.api_keys().await?.iter().map(to_api).collect())
}

/// Revokes the live key called `name`.
pub async fn revoke(store: &Store, key: &AuditKey, actor: Actor, name: &str, now: OffsetDateTime) -> Result<()> {
    if !store.revoke_api_key(name.trim(), now).await? {
        return Err(Error::NotFound("API key"));
    }
    let mut tx = store.begin().await?;
    audit::append(&mut tx, key, Event::new(actor, "apikey.revoke", "api_key", name.trim()), now).await?;
    tx.commit().await
}
