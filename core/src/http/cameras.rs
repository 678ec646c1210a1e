//! Street cameras over the API: operators register and change them; those who watch the
//! district list them. Stream URLs are returned without their credentials.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, patch, post};
use q10_core_api::{Camera, CameraChange, CameraWatch, NewCamera};

use super::AppState;
use super::access::{Access, Caller, Routes, Source};
use super::extract::{ApiJson, ApiPath};
use crate::camera::{self, camera_view};
use crate::error::{Error, Result};
use crate::monitor::{self, MANAGERS, READERS};

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/api/v1/cameras", Access::Roles(READERS), get(cameras))
        .add(Method::POST, "/api/v1/cameras", Access::Roles(MANAGERS), post(register))
        .add(Method::GET, "/api/v1/cameras/{id}", Access::Roles(READERS), get(one))
        .add(Method::PATCH, "/api/v1/cameras/{id}", Access::Roles(MANAGERS), patch(change))
        .add(Method::POST, "/api/v1/cameras/{id}/watch", Access::Roles(READERS), post(watch))
}

/// The cameras of the caller's jurisdiction.
#[utoipa::path(get, path = "/api/v1/cameras", tag = "cameras", responses((status = 200, body = Vec<Camera>)))]
pub(super) async fn cameras(State(state): State<AppState>, Caller(who): Caller) -> Result<Json<Vec<Camera>>> {
    let mut out = Vec::new();
    for c in state.store.cameras().await? {
        if monitor::may_read(&state, &who, c.jurisdiction_id).await? {
            out.push(camera_view(c, &state)?);
        }
    }
    Ok(Json(out))
}

/// Registers a camera: where it stands and looks, and its RTSP stream (credentials may be in the
/// URL; they are stored sealed and never returned).
#[utoipa::path(post, path = "/api/v1/cameras", tag = "cameras", request_body = NewCamera, responses(
    (status = 201, body = Camera),
    (status = 400, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "the code is taken"),
))]
pub(super) async fn register(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiJson(new): ApiJson<NewCamera>,
) -> Result<(StatusCode, Json<Camera>)> {
    let c = camera::register(&state, &who, &new, &source, state.now()).await?;
    Ok((StatusCode::CREATED, Json(camera_view(c, &state)?)))
}

/// One camera.
#[utoipa::path(get, path = "/api/v1/cameras/{id}", tag = "cameras", params(("id" = i64, Path)),
    responses((status = 200, body = Camera), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn one(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Camera>> {
    let c = state.store.camera(id).await?.ok_or(Error::NotFound("camera"))?;
    if !monitor::may_read(&state, &who, c.jurisdiction_id).await? {
        return Err(Error::NotFound("camera"));
    }
    Ok(Json(camera_view(c, &state)?))
}

/// Changes a camera: its name, place, heading, stream, transport, or whether it is relayed.
#[utoipa::path(patch, path = "/api/v1/cameras/{id}", tag = "cameras", params(("id" = i64, Path)),
    request_body = CameraChange, responses(
    (status = 200, body = Camera),
    (status = 400, body = q10_core_api::Problem),
    (status = 404, body = q10_core_api::Problem),
))]
pub(super) async fn change(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
    ApiJson(change): ApiJson<CameraChange>,
) -> Result<Json<Camera>> {
    let c = camera::change(&state, &who, id, &change, &source, state.now()).await?;
    Ok(Json(camera_view(c, &state)?))
}

/// A token to watch the camera live over WHEP (`POST` the offer to `whep` with it as bearer).
#[utoipa::path(post, path = "/api/v1/cameras/{id}/watch", tag = "cameras", params(("id" = i64, Path)), responses(
    (status = 200, body = CameraWatch),
    (status = 404, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "the camera is switched off"),
    (status = 503, body = q10_core_api::Problem, description = "live video is not running"),
))]
pub(super) async fn watch(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CameraWatch>> {
    let c = state.store.camera(id).await?.ok_or(Error::NotFound("camera"))?;
    if !monitor::may_read(&state, &who, c.jurisdiction_id).await? {
        return Err(Error::NotFound("camera"));
    }
    Ok(Json(camera::watch(&state, &who, &c, &source, state.now()).await?))
}
