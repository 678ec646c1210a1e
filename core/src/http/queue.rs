//! Queue tickets over the API: taken by anyone (a kiosk, a person on the web), called by the
//! office's staff.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use q10_core_api::{CallNext, NewTicket, QueueState, Role, Serving, Ticket};

use super::AppState;
use super::access::{Access, Caller, MaybeCaller, Routes, Source};
use super::extract::{ApiJson, ApiPath};
use crate::error::Result;
use crate::queue::{self, STAFF};

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::POST, "/api/v1/queue/tickets", Access::Public, post(take))
        .add(Method::GET, "/api/v1/queue/{unit}", Access::Roles(STAFF), get(today))
        .add(Method::POST, "/api/v1/queue/{unit}/next", Access::Roles(STAFF), post(next))
}

/// Takes a ticket for a ward office's desks: at the office named, or at that of the ward a point
/// lies in (a kiosk's place). Says how many wait before it and about how long.
#[utoipa::path(post, path = "/api/v1/queue/tickets", tag = "queue", request_body = NewTicket, responses(
    (status = 201, body = Ticket),
    (status = 400, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "the office gives out no more tickets today"),
))]
pub(super) async fn take(
    State(state): State<AppState>,
    MaybeCaller(who): MaybeCaller,
    ApiJson(t): ApiJson<NewTicket>,
) -> Result<(StatusCode, Json<Ticket>)> {
    let source = match who {
        Some(p) if p.has_any_role(&[Role::KioskDevice]) => "kiosk",
        _ => "web",
    };
    let ticket = queue::take(&state, t.service, t.unit_code.as_deref(), t.at, source, state.now()).await?;
    Ok((StatusCode::CREATED, Json(ticket)))
}

/// The office's queue today: waiting, taken, the pace, and what each desk serves.
#[utoipa::path(get, path = "/api/v1/queue/{unit}", tag = "queue", params(("unit" = String, Path)),
    responses((status = 200, body = QueueState), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn today(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(unit): ApiPath<String>,
) -> Result<Json<QueueState>> {
    Ok(Json(queue::today(&state, &who, &unit, state.now()).await?))
}

/// A desk calls the next person waiting (its last ticket counts as served).
#[utoipa::path(post, path = "/api/v1/queue/{unit}/next", tag = "queue", params(("unit" = String, Path)),
    request_body = CallNext, responses(
    (status = 200, body = Serving),
    (status = 400, body = q10_core_api::Problem),
    (status = 404, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "nobody is waiting"),
))]
pub(super) async fn next(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(unit): ApiPath<String>,
    ApiJson(c): ApiJson<CallNext>,
) -> Result<Json<Serving>> {
    Ok(Json(queue::call_next(&state, &who, &unit, &c.desk, &source, state.now()).await?))
}
