//! Reading and checking the audit log.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use q10_core_api::{AuditEntry, AuditVerification, Role};
use serde::Deserialize;

use super::AppState;
use super::access::{Access, Routes};
use super::extract::ApiQuery;
use crate::error::{Error, Result};

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/api/v1/audit", Access::Roles(&[Role::Admin]), get(list)).add(
        Method::GET,
        "/api/v1/audit/verify",
        Access::Roles(&[Role::Admin]),
        get(verify),
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Page {
    /// Only rows before this sequence number (for the next page).
    before: Option<i64>,
    /// At most this many rows (1–500, default 100).
    limit: Option<i64>,
}

/// The newest audit rows, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(Page), responses((status = 200, body = Vec<AuditEntry>)))]
pub(super) async fn list(
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Vec<AuditEntry>>> {
    let limit = page.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid("limit", "between 1 and 500"));
    }
    let rows = state.store.audit_page(page.before, limit).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditEntry {
                seq: r.seq,
                at: r.at,
                actor: r.actor,
                action: r.action,
                object_type: r.object_type,
                object_id: r.object_id,
                detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::String(r.detail)),
                source: r.source,
            })
            .collect(),
    ))
}

/// Checks the whole chain: every row intact, none missing.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = AuditVerification)))]
pub(super) async fn verify(State(state): State<AppState>) -> Result<Json<AuditVerification>> {
    Ok(Json(crate::audit::verify(&state.store, &state.secrets.audit).await?))
}
