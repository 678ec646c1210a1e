//! The one error type of the core, and its single mapping to RFC 9457 problem+json.
//!
//! Client errors say what is wrong and which field; server errors are logged with their cause and
//! answered with a bare 500, so no internal detail (or personal data) reaches the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use q10_core_api::Problem;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is not acceptable; `field` names the part at fault.
    #[error("{detail}")]
    Invalid { field: Option<&'static str>, detail: String },
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    LoginFailed(&'static str),
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    TooLarge,
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// A part of the system this request needs is not running in this deployment.
    #[error("{0}")]
    Unavailable(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn invalid(field: &'static str, detail: impl Into<String>) -> Self {
        Error::Invalid { field: Some(field), detail: detail.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Invalid { .. } => StatusCode::BAD_REQUEST,
            Error::Unauthenticated | Error::LoginFailed(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (slug, detail, field) = match self {
            Error::Invalid { field, detail } => ("invalid-input", Some(detail.clone()), field.map(str::to_string)),
            Error::Unauthenticated => ("unauthenticated", Some(self.to_string()), None),
            Error::LoginFailed(_) => ("login-failed", Some(self.to_string()), None),
            Error::Forbidden(_) => ("forbidden", Some(self.to_string()), None),
            Error::NotFound(_) => ("not-found", Some(self.to_string()), None),
            Error::Conflict(_) => ("conflict", Some(self.to_string()), None),
            Error::TooLarge => ("too-large", Some(self.to_string()), None),
            Error::UnsupportedMediaType(_) => ("unsupported-media-type", Some(self.to_string()), None),
            Error::Unavailable(_) => ("unavailable", Some(self.to_string()), None),
            Error::Database(_) | Error::Internal(_) => ("internal", None, None),
        };
        Problem {
            kind: format!("/problems/{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail,
            field,
        }
    }
}

/// Turns a unique-constraint violation into a conflict with the given message.
pub fn conflict_on_unique(err: sqlx::Error, message: &str) -> Error {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict(message.to_string()),
        _ => Error::Database(err),
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() && !matches!(self, Error::Unavailable(_)) {
            // The cause goes to the log only; the client sees a bare problem.
            tracing::error!(error = ?self, "request failed");
        }
        let mut response = (status, Json(self.problem())).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if matches!(self, Error::Unauthenticated) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"q10\""));
        }
        response
    }
}
