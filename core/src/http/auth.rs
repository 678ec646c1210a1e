//! Login, logout and "who am I".

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use q10_core_api::{CsrfToken, LoginRequest, LoginResponse, Me, SESSION_COOKIE, TokenResponse};

use super::AppState;
use super::access::{Access, Caller, Routes, Source};
use super::extract::ApiJson;
use crate::auth::{self, SessionKind};
use crate::error::Result;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::POST, "/api/v1/auth/login", Access::Public, post(login))
        .add(Method::POST, "/api/v1/auth/token", Access::Public, post(token))
        .add(Method::POST, "/api/v1/auth/logout", Access::Authenticated, post(logout))
        .add(Method::GET, "/api/v1/me", Access::Authenticated, get(me))
        .add(Method::GET, "/api/v1/auth/csrf", Access::Authenticated, get(csrf))
}

async fn open_session(
    state: &AppState,
    source: &str,
    req: &LoginRequest,
    kind: SessionKind,
) -> Result<auth::NewSession> {
    let attempt = auth::LoginAttempt { username: &req.username, password: &req.password, kind, source };
    auth::login(&state.store, &state.secrets.audit, &state.policy, attempt, state.now()).await
}

/// Logs in for the web UI: sets the session cookie (HttpOnly, SameSite=Strict) and returns the
/// CSRF token to send in `X-CSRF-Token` on every unsafe request.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = LoginResponse),
    (status = 401, body = q10_core_api::Problem, description = "wrong credentials, or the account is locked"),
))]
pub(super) async fn login(
    State(state): State<AppState>,
    Source(source): Source,
    jar: CookieJar,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<(CookieJar, Json<LoginResponse>)> {
    let session = open_session(&state, &source, &req, SessionKind::Cookie).await?;
    let cookie = Cookie::build((SESSION_COOKIE, session.token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.secure_cookies)
        .path("/")
        .max_age(state.policy.session_ttl)
        .build();
    let body = LoginResponse {
        user: session.principal.me(),
        csrf_token: session.csrf_token.expect("cookie sessions always get a CSRF token"),
        expires_at: session.expires_at,
    };
    Ok((jar.add(cookie), Json(body)))
}

/// Logs in an API client or a kiosk: returns a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenResponse),
    (status = 401, body = q10_core_api::Problem, description = "wrong credentials, or the account is locked"),
))]
pub(super) async fn token(
    State(state): State<AppState>,
    Source(source): Source,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>> {
    let session = open_session(&state, &source, &req, SessionKind::Bearer).await?;
    Ok(Json(TokenResponse { access_token: session.token, token_type: "Bearer".into(), expires_at: session.expires_at }))
}

/// Ends the caller's session (cookie or bearer token).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub(super) async fn logout(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    jar: CookieJar,
) -> Result<Response> {
    auth::logout(&state.store, &state.secrets.audit, &who, &source, state.now()).await?;
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, StatusCode::NO_CONTENT).into_response())
}

/// The caller's account and grants.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Me)))]
pub(super) async fn me(Caller(who): Caller) -> Json<Me> {
    Json(who.me())
}

/// The CSRF token of the caller's browser session, for a page opened after login (in a new tab,
/// say) to send in `X-CSRF-Token`. Bearer tokens need none.
#[utoipa::path(get, path = "/api/v1/auth/csrf", tag = "auth", responses(
    (status = 200, body = CsrfToken),
    (status = 400, body = q10_core_api::Problem, description = "the caller uses a bearer token"),
))]
pub(super) async fn csrf(Caller(who): Caller, jar: CookieJar) -> Result<Json<CsrfToken>> {
    let cookie = jar.get(SESSION_COOKIE).map(|c| c.value().to_string());
    match (who.session_kind, cookie) {
        (SessionKind::Cookie, Some(token)) => Ok(Json(CsrfToken { csrf_token: auth::csrf_for(&token) })),
        _ => Err(crate::error::Error::invalid("session", "only browser sessions (the cookie) use a CSRF token")),
    }
}
