//! Kiosks over the API: what a kiosk sends (heartbeat, screenshot, a call to the officer on duty)
//! and what the console does with the fleet (list, settings, screenshots, answering calls).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use q10_core_api::{Kiosk, KioskCall, KioskCallJoin, KioskConfig, KioskHeartbeat, KioskSettings, Role};

use super::AppState;
use super::access::{Access, Caller, Routes, Source};
use super::extract::{ApiJson, ApiPath};
use crate::error::{Error, Result};
use crate::kiosk::{self, MAX_SCREENSHOT};
use crate::monitor::{MANAGERS, READERS};

const KIOSKS: &[Role] = &[Role::KioskDevice];

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::POST, "/api/v1/kiosk/heartbeat", Access::Roles(KIOSKS), post(heartbeat))
        .add(
            Method::PUT,
            "/api/v1/kiosk/screenshot",
            Access::Roles(KIOSKS),
            put(screenshot_put).layer(DefaultBodyLimit::max(MAX_SCREENSHOT)),
        )
        .add(Method::POST, "/api/v1/kiosk/calls", Access::Roles(KIOSKS), post(call))
        .add(Method::GET, "/api/v1/kiosks", Access::Roles(READERS), get(list))
        .add(Method::PATCH, "/api/v1/kiosks/{id}", Access::Roles(MANAGERS), patch(configure))
        .add(Method::POST, "/api/v1/kiosks/{id}/screenshot", Access::Roles(MANAGERS), post(screenshot_request))
        .add(Method::GET, "/api/v1/kiosks/{id}/screenshot", Access::Roles(READERS), get(screenshot_get))
        .add(Method::GET, "/api/v1/kiosk-calls", Access::Roles(READERS), get(calls))
        .add(Method::GET, "/api/v1/kiosk-calls/{id}", Access::Roles(CALL_PARTIES), get(one_call))
        .add(Method::POST, "/api/v1/kiosk-calls/{id}/answer", Access::Roles(READERS), post(answer))
        .add(Method::POST, "/api/v1/kiosk-calls/{id}/end", Access::Roles(CALL_PARTIES), post(end))
}

/// Who takes part in calls: kiosks and those who watch their wards.
const CALL_PARTIES: &[Role] =
    &[Role::KioskDevice, Role::Admin, Role::Operator, Role::DistrictOfficial, Role::WardOfficial];

/// A kiosk says how it is (every 30 s) and hears its settings back.
#[utoipa::path(post, path = "/api/v1/kiosk/heartbeat", tag = "kiosks", request_body = KioskHeartbeat, responses(
    (status = 200, body = KioskConfig),
    (status = 400, body = q10_core_api::Problem),
))]
pub(super) async fn heartbeat(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiJson(hb): ApiJson<KioskHeartbeat>,
) -> Result<Json<KioskConfig>> {
    Ok(Json(kiosk::heartbeat(&state, &who, &hb, state.now()).await?))
}

/// A kiosk sends the screenshot an operator asked for (PNG, at most 4 MiB).
#[utoipa::path(put, path = "/api/v1/kiosk/screenshot", tag = "kiosks",
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses(
    (status = 204, description = "kept"),
    (status = 413, body = q10_core_api::Problem),
    (status = 415, body = q10_core_api::Problem, description = "not a PNG image"),
))]
pub(super) async fn screenshot_put(
    State(state): State<AppState>,
    Caller(who): Caller,
    body: Bytes,
) -> Result<StatusCode> {
    kiosk::put_screenshot(&state, &who, &body, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A kiosk calls the officer on duty: the call rings in the consoles of its ward; the answer
/// carries the kiosk's leave to join the call's room.
#[utoipa::path(post, path = "/api/v1/kiosk/calls", tag = "kiosks", responses(
    (status = 201, body = KioskCallJoin),
    (status = 503, body = q10_core_api::Problem, description = "calls are not running in this deployment"),
))]
pub(super) async fn call(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
) -> Result<(StatusCode, Json<KioskCallJoin>)> {
    Ok((StatusCode::CREATED, Json(kiosk::call(&state, &who, &source, state.now()).await?)))
}

/// The kiosks of the caller's wards, online or not, with what they last reported.
#[utoipa::path(get, path = "/api/v1/kiosks", tag = "kiosks", responses((status = 200, body = Vec<Kiosk>)))]
pub(super) async fn list(State(state): State<AppState>, Caller(who): Caller) -> Result<Json<Vec<Kiosk>>> {
    Ok(Json(kiosk::list(&state, &who, state.now()).await?))
}

/// Changes a kiosk's settings (idle time, languages, where it stands); it hears them within 30 s.
#[utoipa::path(patch, path = "/api/v1/kiosks/{id}", tag = "kiosks", params(("id" = i64, Path)),
    request_body = KioskSettings, responses(
    (status = 200, body = Kiosk),
    (status = 400, body = q10_core_api::Problem),
    (status = 404, body = q10_core_api::Problem),
))]
pub(super) async fn configure(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
    ApiJson(s): ApiJson<KioskSettings>,
) -> Result<Json<Kiosk>> {
    Ok(Json(kiosk::configure(&state, &who, id, &s, &source, state.now()).await?))
}

/// Asks a kiosk for a screenshot; it arrives after the kiosk's next heartbeat.
#[utoipa::path(post, path = "/api/v1/kiosks/{id}/screenshot", tag = "kiosks", params(("id" = i64, Path)),
    responses((status = 202, description = "asked"), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn screenshot_request(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    kiosk::request_screenshot(&state, &who, id, &source, state.now()).await?;
    Ok(StatusCode::ACCEPTED)
}

/// A kiosk's last screenshot.
#[utoipa::path(get, path = "/api/v1/kiosks/{id}/screenshot", tag = "kiosks", params(("id" = i64, Path)),
    responses((status = 200, content_type = "image/png"), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn screenshot_get(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response> {
    kiosk::find(&state, &who, id).await?;
    let (png, _) = state.store.kiosk_screenshot(id).await?.ok_or(Error::NotFound("screenshot"))?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response())
}

/// Calls of the caller's wards: ringing, under way, and ended within the hour; newest first.
#[utoipa::path(get, path = "/api/v1/kiosk-calls", tag = "kiosks", responses((status = 200, body = Vec<KioskCall>)))]
pub(super) async fn calls(State(state): State<AppState>, Caller(who): Caller) -> Result<Json<Vec<KioskCall>>> {
    Ok(Json(kiosk::calls(&state, &who, state.now()).await?))
}

/// One call: for the kiosk that made it, or those who watch its ward.
#[utoipa::path(get, path = "/api/v1/kiosk-calls/{id}", tag = "kiosks", params(("id" = i64, Path)),
    responses((status = 200, body = KioskCall), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn one_call(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<KioskCall>> {
    Ok(Json(kiosk::call_view(kiosk::find_call(&state, &who, id).await?)))
}

/// Answers a ringing call: the first to answer is given leave to join it.
#[utoipa::path(post, path = "/api/v1/kiosk-calls/{id}/answer", tag = "kiosks", params(("id" = i64, Path)),
    responses(
    (status = 200, body = KioskCallJoin),
    (status = 404, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "the call no longer rings"),
    (status = 503, body = q10_core_api::Problem, description = "calls are not running in this deployment"),
))]
pub(super) async fn answer(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<KioskCallJoin>> {
    Ok(Json(kiosk::answer(&state, &who, id, &source, state.now()).await?))
}

/// Hangs up; a call that had ended stays as it was.
#[utoipa::path(post, path = "/api/v1/kiosk-calls/{id}/end", tag = "kiosks", params(("id" = i64, Path)),
    responses((status = 200, body = KioskCall), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn end(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<KioskCall>> {
    Ok(Json(kiosk::hang_up(&state, &who, id, state.now()).await?))
}
