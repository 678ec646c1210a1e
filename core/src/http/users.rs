//! Staff and device accounts.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use q10_core_api::{NewUser, Role, User};

use super::AppState;
use super::access::{Access, Caller, Routes, Source};
use super::extract::{ApiJson, ApiPath};
use crate::account;
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::store::users::UserRow;

const STAFF_VIEWERS: &[Role] = &[Role::Admin, Role::DistrictOfficial, Role::WardOfficial];

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/api/v1/users", Access::Roles(&[Role::Admin]), get(list))
        .add(Method::POST, "/api/v1/users", Access::Roles(&[Role::Admin]), post(create))
        .add(Method::POST, "/api/v1/users/{id}/disable", Access::Roles(&[Role::Admin]), post(disable))
        .add(Method::GET, "/api/v1/jurisdictions/{code}/staff", Access::Roles(STAFF_VIEWERS), get(staff))
}

/// Records that `who` read the listed accounts (names are personal data).
async fn audit_read(state: &AppState, who: &Principal, source: &str, scope: &str, rows: &[UserRow]) -> Result<()> {
    let mut tx = state.store.begin().await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let event = Event::new(who.actor(), "personal_data.read", "user", scope)
        .detail(serde_json::json!({ "user_ids": ids }))
        .source(source);
    audit::append(&mut tx, &state.secrets.audit, event, state.now()).await?;
    tx.commit().await
}

/// Every account.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = Vec<User>)))]
pub(super) async fn list(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
) -> Result<Json<Vec<User>>> {
    let rows = state.store.users().await?;
    let grants = state.store.all_grants().await?;
    audit_read(&state, &who, &source, "*", &rows).await?;
    Ok(Json(rows.iter().map(|r| account::to_api(r, &grants)).collect()))
}

/// Creates an account with its role grants.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser, responses(
    (status = 201, body = User),
    (status = 400, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "the username is taken"),
))]
pub(super) async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<User>)> {
    let user = account::create(&state.store, &state.secrets.audit, who.actor(), &source, &new, state.now()).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Disables an account and ends its sessions.
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "users",
    params(("id" = i64, Path, description = "account id")),
    responses((status = 204), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn disable(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    if id == who.user_id {
        return Err(Error::Conflict("you cannot disable your own account".into()));
    }
    account::disable(&state.store, &state.secrets.audit, who.actor(), &source, id, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The staff of one unit. Officials see the units they hold a role on, and those below.
#[utoipa::path(get, path = "/api/v1/jurisdictions/{code}/staff", tag = "users",
    params(("code" = String, Path, description = "administrative code")),
    responses((status = 200, body = Vec<User>), (status = 403, body = q10_core_api::Problem)))]
pub(super) async fn staff(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<User>>> {
    let unit = state.store.jurisdiction_at(&code, state.now().date()).await?.ok_or(Error::NotFound("jurisdiction"))?;
    if !who.may_act_on(&state.store, STAFF_VIEWERS, unit.id).await? {
        return Err(Error::Forbidden("this unit is outside your jurisdiction".into()));
    }
    let rows = state.store.users_granted_on(unit.id).await?;
    let grants = state.store.all_grants().await?;
    audit_read(&state, &who, &source, &code, &rows).await?;
    Ok(Json(rows.iter().map(|r| account::to_api(r, &grants)).collect()))
}
