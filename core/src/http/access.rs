//! Who may call what. Every route is added through [`Routes::add`] with an [`Access`] rule, so no
//! endpoint exists without one (deny by default); the rule is checked before the handler runs and
//! is published in the OpenAPI document.
//!
//! Authentication: a bearer token (`Authorization: Bearer …`) or the session cookie. Unsafe
//! requests made with the cookie must carry the session's CSRF token in `X-CSRF-Token`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum_extra::extract::CookieJar;
use q10_core_api::{CSRF_HEADER, Role, SESSION_COOKIE};

use super::AppState;
use crate::auth::{self, Principal, SessionKind};
use crate::error::Error;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, logged in or not.
    Public,
    /// Any logged-in account.
    Authenticated,
    /// Accounts holding one of these roles (somewhere; handlers check where).
    Roles(&'static [Role]),
}

impl Access {
    /// Whether a caller (or nobody) passes this rule.
    pub fn admits(&self, who: Option<&Principal>) -> Result<(), Error> {
        match (self, who) {
            (Access::Public, _) => Ok(()),
            (_, None) => Err(Error::Unauthenticated),
            (Access::Authenticated, Some(_)) => Ok(()),
            (Access::Roles(roles), Some(p)) if p.has_any_role(roles) => Ok(()),
            (Access::Roles(roles), Some(_)) => {
                let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
                Err(Error::Forbidden(format!("this needs one of the roles: {}", names.join(", "))))
            }
        }
    }

    /// The roles named, for documentation.
    pub fn describe(&self) -> String {
        match self {
            Access::Public => "anyone".into(),
            Access::Authenticated => "any logged-in account".into(),
            Access::Roles(roles) => roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
        }
    }
}

/// One endpoint and its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// A router that records every route's access rule.
pub struct Routes {
    router: Router<AppState>,
    endpoints: Vec<Endpoint>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

impl Routes {
    pub fn new() -> Routes {
        Routes { router: Router::new(), endpoints: Vec::new() }
    }

    /// Adds `handler` (which must answer `method` only) at `path`, behind `access`.
    pub fn add(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        handler: MethodRouter<AppState>,
    ) -> Routes {
        assert!(
            !self.endpoints.iter().any(|e| e.method == method && e.path == path),
            "{method} {path} registered twice"
        );
        let guarded = handler.route_layer(axum::middleware::from_fn(move |req: Request, next: Next| async move {
            let who = req.extensions().get::<Principal>();
            match access.admits(who) {
                Ok(()) => next.run(req).await,
                Err(e) => e.into_response(),
            }
        }));
        self.router = self.router.route(path, guarded);
        self.endpoints.push(Endpoint { method, path, access });
        self
    }

    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// Finds the caller from a bearer token or the session cookie, checks CSRF on cookie-borne
/// unsafe requests, and leaves the [`Principal`] in the request's extensions.
pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    // The providers' simulators stand for other sites: they never see our sessions.
    if parts.uri.path().starts_with("/sim/") {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let from_bearer = bearer(&parts).map(str::to_string);
    let token = match from_bearer {
        Some(t) => Some(t),
        None => CookieJar::from_headers(&parts.headers).get(SESSION_COOKIE).map(|c| c.value().to_string()),
    };
    if let Some(token) = token {
        match auth::authenticate(&state.store, &token, state.now()).await {
            Ok(Some(principal)) => {
                let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
                if principal.session_kind == SessionKind::Cookie && !safe {
                    let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                    if !auth::csrf_matches(&principal, presented) {
                        return Error::Forbidden("missing or wrong CSRF token (send it in X-CSRF-Token)".into())
                            .into_response();
                    }
                }
                parts.extensions.insert(principal);
            }
            Ok(None) => {}
            Err(e) => return e.into_response(),
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The authenticated caller; rejects with 401 when there is none.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().map(Caller).ok_or(Error::Unauthenticated)
    }
}

/// The caller if there is one.
pub struct MaybeCaller(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeCaller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeCaller(parts.extensions.get::<Principal>().cloned()))
    }
}

/// Where a request came from, for the audit log: the peer's address, or "local" when served
/// without a socket (tests).
pub struct Source(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        Ok(Source(addr.unwrap_or_else(|| "local".into())))
    }
}
