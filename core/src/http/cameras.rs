//! Street cameras over the API: operators register and change them; those who watch the
//! district list them. Stream URLs are returned without their credentials.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use q10_core_api::{Camera, CameraAreaCount, CameraChange, CameraCount, CameraWatch, FootageSegment, NewCamera};
use time::OffsetDateTime;

use super::AppState;
use super::access::{Access, Caller, Routes, Source};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::camera::{self, camera_view};
use crate::error::{Error, Result};
use crate::footage::{self, FOOTAGE_ROLES};
use crate::monitor::{self, MANAGERS, READERS};

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/api/v1/cameras", Access::Roles(READERS), get(cameras))
        .add(Method::POST, "/api/v1/cameras", Access::Roles(MANAGERS), post(register))
        .add(Method::GET, "/api/v1/cameras/{id}", Access::Roles(READERS), get(one))
        .add(Method::PATCH, "/api/v1/cameras/{id}", Access::Roles(MANAGERS), patch(change))
        .add(Method::POST, "/api/v1/cameras/{id}/watch", Access::Roles(READERS), post(watch))
        .add(Method::GET, "/api/v1/cameras/{id}/counts", Access::Roles(READERS), get(counts))
        .add(Method::GET, "/api/v1/cameras/{id}/counts/areas", Access::Roles(READERS), get(area_counts))
        .add(Method::GET, "/api/v1/cameras/{id}/footage", Access::Roles(FOOTAGE_ROLES), get(play))
        .add(Method::GET, "/api/v1/cameras/{id}/footage/segments", Access::Roles(FOOTAGE_ROLES), get(segments))
}

/// The camera, for someone who may read it.
async fn readable(state: &AppState, who: &crate::auth::Principal, id: i64) -> Result<crate::store::cameras::CameraRow> {
    let c = state.store.camera(id).await?.ok_or(Error::NotFound("camera"))?;
    if !monitor::may_read(state, who, c.jurisdiction_id).await? {
        return Err(Error::NotFound("camera"));
    }
    Ok(c)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct SegmentsQuery {
    /// RFC 3339; a day before `to` unless given.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<OffsetDateTime>,
    /// RFC 3339; now unless given.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<OffsetDateTime>,
}

/// The camera's footage segments that overlap a range of at most a day, oldest first: what can
/// be played back.
#[utoipa::path(get, path = "/api/v1/cameras/{id}/footage/segments", tag = "cameras",
    params(("id" = i64, Path), SegmentsQuery),
    responses((status = 200, body = Vec<FootageSegment>), (status = 400, body = q10_core_api::Problem),
        (status = 403, body = q10_core_api::Problem), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn segments(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<SegmentsQuery>,
) -> Result<Json<Vec<FootageSegment>>> {
    let to = q.to.unwrap_or_else(|| state.now());
    let from = q.from.unwrap_or(to - time::Duration::days(1));
    if to <= from || to - from > time::Duration::days(1) {
        return Err(Error::invalid("from", "the range ends after it starts and spans at most a day"));
    }
    let c = readable(&state, &who, id).await?;
    if !who.may_act_on(&state.store, FOOTAGE_ROLES, c.jurisdiction_id).await? {
        return Err(Error::Forbidden("footage is for administrators, operators and district officials".into()));
    }
    let rows = state.store.segments(id, from, to, footage::MAX_LISTED).await?;
    Ok(Json(
        rows.into_iter()
            .map(|s| FootageSegment { started_at: s.started_at, ended_at: s.ended_at, bytes: s.bytes })
            .collect(),
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct FootageQuery {
    /// RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    #[param(value_type = String, format = DateTime)]
    from: OffsetDateTime,
    /// RFC 3339; at most 6 hours after `from`.
    #[serde(with = "time::serde::rfc3339")]
    #[param(value_type = String, format = DateTime)]
    to: OffsetDateTime,
    /// The investigation's case reference: makes this an export, downloaded as a file.
    case: Option<String>,
}

/// The camera's footage of a time range as one MP4 (H.264 as recorded), from the keyframe at or
/// before `from`. Every playback, and every export (with `case`), is written to the audit log.
#[utoipa::path(get, path = "/api/v1/cameras/{id}/footage", tag = "cameras", params(("id" = i64, Path), FootageQuery),
    responses((status = 200, content_type = "video/mp4", body = Vec<u8>),
        (status = 400, body = q10_core_api::Problem), (status = 403, body = q10_core_api::Problem),
        (status = 404, body = q10_core_api::Problem, description = "no such camera, or no footage of that time"),
        (status = 503, body = q10_core_api::Problem, description = "footage is not kept here")))]
pub(super) async fn play(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<FootageQuery>,
) -> Result<Response> {
    footage::span(q.from, q.to)?;
    let c = readable(&state, &who, id).await?;
    let segments = footage::open(&state, &who, &c, (q.from, q.to), q.case.as_deref(), &source, state.now()).await?;
    let root = footage::folder(&state)?;
    let body = Body::from_stream(footage::clip(root, segments, q.from, q.to));
    let mut headers = vec![
        (http::header::CONTENT_TYPE, "video/mp4".to_string()),
        (http::header::CACHE_CONTROL, "no-store".to_string()),
    ];
    if q.case.is_some() {
        let stamp = q.from.unix_timestamp();
        headers.push((
            http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"camera-{}-{stamp}.mp4\"", c.code),
        ));
    }
    let mut res = body.into_response();
    for (k, v) in headers {
        res.headers_mut().insert(k, v.parse().map_err(|_| Error::Internal(anyhow::anyhow!("a header")))?);
    }
    Ok(res)
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
    let mut recent: std::collections::HashMap<i64, Vec<_>> = std::collections::HashMap::new();
    for (id, r) in state.store.recent_counts(state.now() - time::Duration::minutes(2)).await? {
        recent.entry(id).or_default().push(r);
    }
    for c in &mut out {
        c.now = recent.get(&c.id).and_then(|rows| camera::now(rows.iter()));
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
    let c = readable(&state, &who, id).await?;
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
    let c = readable(&state, &who, id).await?;
    Ok(Json(camera::watch(&state, &who, &c, &source, state.now()).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct CountsQuery {
    /// How far back, in minutes (1 to 1440; 60 unless given).
    minutes: Option<i64>,
    /// `fiware` for FIWARE smart data models (CrowdFlowObserved, TrafficFlowObserved).
    format: Option<String>,
}

/// What counting saw on the camera, minute by minute and kind by kind.
#[utoipa::path(get, path = "/api/v1/cameras/{id}/counts", tag = "cameras", params(("id" = i64, Path), CountsQuery),
    responses((status = 200, body = Vec<CameraCount>), (status = 400, body = q10_core_api::Problem),
        (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn counts(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<CountsQuery>,
) -> Result<Json<serde_json::Value>> {
    let minutes = back(q.minutes)?;
    let fiware = fiware_format(q.format.as_deref())?;
    let c = readable(&state, &who, id).await?;
    let since = state.now() - time::Duration::minutes(minutes);
    let rows: Vec<CameraCount> =
        state.store.camera_counts(id, since).await?.into_iter().map(camera::count_view).collect();
    if fiware {
        return Ok(Json(serde_json::Value::Array(rows.iter().map(|r| crate::fiware::count(&c, r)).collect())));
    }
    Ok(Json(serde_json::to_value(rows).map_err(|e| Error::Internal(e.into()))?))
}

/// Whether `format` asks for FIWARE smart data models.
pub(super) fn fiware_format(format: Option<&str>) -> Result<bool> {
    match format {
        None => Ok(false),
        Some("fiware") => Ok(true),
        Some(_) => Err(Error::invalid("format", "only fiware, or none")),
    }
}

/// How far back counts are read: `minutes` (1 to 1440), 60 unless given.
fn back(minutes: Option<i64>) -> Result<i64> {
    let minutes = minutes.unwrap_or(60);
    if !(1..=1440).contains(&minutes) {
        return Err(Error::invalid("minutes", "from 1 to 1440"));
    }
    Ok(minutes)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct AreaCountsQuery {
    /// How far back, in minutes (1 to 1440; 60 unless given).
    minutes: Option<i64>,
    /// `fiware` for FIWARE smart data models (CrowdFlowObserved, TrafficFlowObserved).
    format: Option<String>,
}

/// What counting saw in each of the camera's zones and lines, minute by minute and kind by kind:
/// occupancy of zones, crossings of lines each way.
#[utoipa::path(get, path = "/api/v1/cameras/{id}/counts/areas", tag = "cameras",
    params(("id" = i64, Path), AreaCountsQuery),
    responses((status = 200, body = Vec<CameraAreaCount>), (status = 400, body = q10_core_api::Problem),
        (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn area_counts(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<AreaCountsQuery>,
) -> Result<Json<serde_json::Value>> {
    let minutes = back(q.minutes)?;
    let fiware = fiware_format(q.format.as_deref())?;
    let c = readable(&state, &who, id).await?;
    let since = state.now() - time::Duration::minutes(minutes);
    let rows: Vec<CameraAreaCount> =
        state.store.camera_area_counts(id, since).await?.into_iter().map(camera::areas::count_view).collect();
    if fiware {
        return Ok(Json(serde_json::Value::Array(crate::fiware::area_counts(&c, &rows)?)));
    }
    Ok(Json(serde_json::to_value(rows).map_err(|e| Error::Internal(e.into()))?))
}
