//! Logging in and out, sessions, and who the caller is.
//!
//! A login gives either a browser session (a cookie plus a CSRF token) or a bearer token. Both are
//! 32 random bytes; only their SHA-256 is stored. Repeated failed logins lock the account for a
//! while.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use q10_core_api::{AccountKind, Me, Role};
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::account::{self, Username};
use crate::audit::{self, Actor, AuditKey, Event};
use crate::error::{Error, Result};
use crate::store::users::GrantRow;
use crate::store::{Store, sessions, users};

/// How logins and sessions behave.
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    /// Failed logins in a row that lock an account.
    pub max_failed_logins: i64,
    /// How long a locked account stays locked.
    pub lockout: Duration,
    /// Lifetime of a browser session.
    pub session_ttl: Duration,
    /// Lifetime of a bearer token.
    pub token_ttl: Duration,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        AuthPolicy {
            max_failed_logins: 5,
            lockout: Duration::minutes(15),
            session_ttl: Duration::hours(12),
            token_ttl: Duration::days(30),
        }
    }
}

/// What a login is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Cookie,
    Bearer,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Cookie => "cookie",
            SessionKind::Bearer => "bearer",
        }
    }
}

/// A new session's secrets, handed to the client once.
#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: Option<String>,
    pub expires_at: OffsetDateTime,
    pub principal: Principal,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub kind: AccountKind,
    pub session_id: i64,
    pub session_kind: SessionKind,
    pub csrf_hash: Option<String>,
    pub grants: Vec<GrantRow>,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor::user(self.user_id, &self.username)
    }

    pub fn roles(&self) -> impl Iterator<Item = Role> + '_ {
        self.grants.iter().filter_map(|g| g.role.parse().ok())
    }

    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        self.roles().any(|r| roles.contains(&r))
    }

    /// Whether the caller holds one of `roles` on `unit` or on a unit above it.
    pub async fn may_act_on(&self, store: &Store, roles: &[Role], unit: i64) -> Result<bool> {
        for grant in &self.grants {
            let holds = grant.role.parse().map(|r| roles.contains(&r)).unwrap_or(false);
            if holds && store.jurisdiction_covers(grant.jurisdiction_id, unit).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub fn me(&self) -> Me {
        Me {
            id: self.user_id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            kind: self.kind,
            grants: account::api_grants(&self.grants),
        }
    }
}

/// SHA-256 of a token, hex: what the database keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

const WRONG_CREDENTIALS: &str = "wrong username or password";
const LOCKED: &str = "this account is locked after repeated failed logins; try again later";

/// A hash to verify against when the account does not exist, so that both cases cost the same.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| account::hash_password("not a real password, only for timing").expect("hashing works"))
}

/// One login attempt, as the client made it.
#[derive(Clone, Copy)]
pub struct LoginAttempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub kind: SessionKind,
    /// The client's address, for the audit log.
    pub source: &'a str,
}

impl std::fmt::Debug for LoginAttempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginAttempt")
            .field("username", &self.username)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Checks credentials and opens a session. Failures are counted (and audited) and lock the
/// account after `policy.max_failed_logins` in a row.
pub async fn login(
    store: &Store,
    key: &AuditKey,
    policy: &AuthPolicy,
    attempt: LoginAttempt<'_>,
    now: OffsetDateTime,
) -> Result<NewSession> {
    let LoginAttempt { username, password, kind, source } = attempt;
    let Ok(username) = Username::parse(username) else {
        return Err(Error::LoginFailed(WRONG_CREDENTIALS));
    };
    if password.len() > 1024 {
        return Err(Error::LoginFailed(WRONG_CREDENTIALS));
    }
    let Some(user) = store.user_by_username(username.as_str()).await? else {
        account::verify_password(password, dummy_hash());
        return Err(Error::LoginFailed(WRONG_CREDENTIALS));
    };
    if user.locked_until.is_some_and(|t| t > now) {
        return Err(Error::LoginFailed(LOCKED));
    }
    // The slow hash runs outside the write transaction.
    let password_ok = account::verify_password(password, &user.password_hash);

    let mut tx = store.begin().await?;
    // Read again under the write lock, so that concurrent failures are all counted.
    let Some(user) = users::find_for_update(&mut tx, username.as_str()).await? else {
        return Err(Error::LoginFailed(WRONG_CREDENTIALS));
    };
    let actor = Actor::user(user.id, &user.username);
    if !password_ok || user.disabled {
        let failed = user.failed_logins + 1;
        let locked_until = (failed >= policy.max_failed_logins).then(|| now + policy.lockout);
        users::record_login_failure(&mut tx, user.id, failed, locked_until, now).await?;
        let action = if locked_until.is_some() { "login.lockout" } else { "login.failure" };
        let event = Event::new(actor, action, "user", user.id)
            .detail(serde_json::json!({ "failed_logins": failed }))
            .source(source);
        audit::append(&mut tx, key, event, now).await?;
        tx.commit().await?;
        return Err(Error::LoginFailed(if locked_until.is_some() { LOCKED } else { WRONG_CREDENTIALS }));
    }
    users::record_login_success(&mut tx, user.id, now).await?;
    let token = random_token();
    let csrf_token = (kind == SessionKind::Cookie).then(|| csrf_for(&token));
    let token_hash = token_hash(&token);
    let csrf_hash = csrf_token.as_deref().map(self::token_hash);
    let expires_at = now + if kind == SessionKind::Cookie { policy.session_ttl } else { policy.token_ttl };
    let session = sessions::NewSession {
        token_hash: &token_hash,
        csrf_hash: csrf_hash.as_deref(),
        user_id: user.id,
        kind: kind.as_str(),
        expires_at,
    };
    let session_id = sessions::insert(&mut tx, &session, now).await?;
    let event = Event::new(actor, "session.create", "session", session_id)
        .detail(serde_json::json!({ "kind": kind.as_str() }))
        .source(source);
    audit::append(&mut tx, key, event, now).await?;
    tx.commit().await?;

    let grants = store.grants_of(user.id).await?;
    let principal = Principal {
        user_id: user.id,
        username: user.username,
        display_name: user.display_name,
        kind: AccountKind::parse(&user.kind).unwrap_or(AccountKind::Person),
        session_id,
        session_kind: kind,
        csrf_hash,
        grants,
    };
    Ok(NewSession { token, csrf_token, expires_at, principal })
}

/// The caller a token belongs to, if the session is live.
pub async fn authenticate(store: &Store, token: &str, now: OffsetDateTime) -> Result<Option<Principal>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let Some(s) = store.live_session(&token_hash(token), now).await? else {
        return Ok(None);
    };
    let grants = store.grants_of(s.user_id).await?;
    Ok(Some(Principal {
        user_id: s.user_id,
        username: s.username,
        display_name: s.display_name,
        kind: AccountKind::parse(&s.user_kind).unwrap_or(AccountKind::Person),
        session_id: s.session_id,
        session_kind: if s.kind == "cookie" { SessionKind::Cookie } else { SessionKind::Bearer },
        csrf_hash: s.csrf_hash,
        grants,
    }))
}

/// Ends the caller's session.
pub async fn logout(store: &Store, key: &AuditKey, who: &Principal, source: &str, now: OffsetDateTime) -> Result<()> {
    let mut tx = store.begin().await?;
    sessions::revoke(&mut tx, who.session_id, now).await?;
    let event = Event::new(who.actor(), "session.end", "session", who.session_id).source(source);
    audit::append(&mut tx, key, event, now).await?;
    tx.commit().await
}

/// The CSRF token of a cookie session, derived from the session's own secret token: whoever holds
/// the cookie can have it again (a page opened in a new tab asks `/api/v1/auth/csrf`), and a
/// page of another site, which can neither read the cookie nor an answer of ours, cannot.
pub fn csrf_for(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"q10 csrf v1\0");
    h.update(session_token.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// Whether a presented CSRF token matches the session's, compared in constant time.
pub fn csrf_matches(principal: &Principal, presented: &str) -> bool {
    let Some(expected) = &principal.csrf_hash else {
        return false;
    };
    use subtle::ConstantTimeEq;
    bool::from(token_hash(presented).as_bytes().ct_eq(expected.as_bytes()))
}
