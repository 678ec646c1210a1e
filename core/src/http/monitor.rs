//! Monitoring over the API: sensors, readings from gateways (with an API key), and alerts.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{get, post};
use q10_core_api::{Alert, AlertAction, AlertStatus, IngestReport, NewSensor, ReadingBatch, ReadingPoint, Sensor};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use super::AppState;
use super::access::{Access, Caller, Routes, Source};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::error::{Error, Result};
use crate::monitor::{self, MANAGERS, READERS};

/// The header a sensor gateway sends its API key in.
pub const API_KEY_HEADER: &str = "x-api-key";

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/api/v1/sensors", Access::Roles(READERS), get(sensors))
        .add(Method::POST, "/api/v1/sensors", Access::Roles(MANAGERS), post(register))
        .add(Method::POST, "/api/v1/sensors/readings", Access::Public, post(ingest))
        .add(Method::GET, "/api/v1/sensors/{id}/readings", Access::Roles(READERS), get(readings))
        .add(Method::GET, "/api/v1/alerts", Access::Roles(READERS), get(alerts))
        .add(Method::POST, "/api/v1/alerts/{id}/actions", Access::Roles(READERS), post(act))
}

/// The sensors of the caller's jurisdiction, with their latest reading.
#[utoipa::path(get, path = "/api/v1/sensors", tag = "monitoring", responses((status = 200, body = Vec<Sensor>)))]
pub(super) async fn sensors(State(state): State<AppState>, Caller(who): Caller) -> Result<Json<Vec<Sensor>>> {
    let mut out = Vec::new();
    for s in state.store.sensors().await? {
        if monitor::may_read(&state, &who, s.jurisdiction_id).await? {
            out.push(monitor::sensor_view(s)?);
        }
    }
    Ok(Json(out))
}

/// Registers a sensor with its thresholds.
#[utoipa::path(post, path = "/api/v1/sensors", tag = "monitoring", request_body = NewSensor, responses(
    (status = 201, body = Sensor),
    (status = 400, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "the code is taken"),
))]
pub(super) async fn register(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiJson(new): ApiJson<NewSensor>,
) -> Result<(StatusCode, Json<Sensor>)> {
    let s = monitor::register(&state, &who, &new, &source, state.now()).await?;
    Ok((StatusCode::CREATED, Json(monitor::sensor_view(s)?)))
}

/// Readings from a sensor gateway, which names itself with an API key (`q10 apikey create`) in
/// the `X-Api-Key` header. All are stored or none; readings already stored are skipped.
#[utoipa::path(post, path = "/api/v1/sensors/readings", tag = "monitoring", request_body = ReadingBatch,
    params(("x-api-key" = String, Header, description = "the gateway's API key")),
    responses(
    (status = 200, body = IngestReport),
    (status = 400, body = q10_core_api::Problem),
    (status = 401, body = q10_core_api::Problem, description = "no API key, or not a valid one"),
))]
pub(super) async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(batch): ApiJson<ReadingBatch>,
) -> Result<Json<IngestReport>> {
    let key = headers.get(API_KEY_HEADER).and_then(|v| v.to_str().ok()).ok_or(Error::Unauthenticated)?;
    let (_, client) =
        state.store.api_key_by_hash(&crate::auth::token_hash(key.trim())).await?.ok_or(Error::Unauthenticated)?;
    Ok(Json(monitor::ingest(&state, &format!("apikey:{client}"), &batch, state.now()).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct RangeQuery {
    /// From (RFC 3339); a day ago unless given.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    from: Option<OffsetDateTime>,
    /// Until (RFC 3339); now unless given.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    to: Option<OffsetDateTime>,
}

/// A sensor's readings over a time range (at most 10,000, oldest first).
#[utoipa::path(get, path = "/api/v1/sensors/{id}/readings", tag = "monitoring", params(("id" = i64, Path), RangeQuery),
    responses((status = 200, body = Vec<ReadingPoint>), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn readings(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<Vec<ReadingPoint>>> {
    let s = state.store.sensor(id).await?.ok_or(Error::NotFound("sensor"))?;
    if !monitor::may_read(&state, &who, s.jurisdiction_id).await? {
        return Err(Error::NotFound("sensor"));
    }
    let to = q.to.unwrap_or_else(|| state.now() + Duration::seconds(1));
    let from = q.from.unwrap_or(to - Duration::days(1));
    let points = state.store.sensor_readings(s.id, from, to, 10_000).await?;
    Ok(Json(points.into_iter().map(|(at, value)| ReadingPoint { at, value }).collect()))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertQuery {
    /// Only alerts in this status; all unless given.
    status: Option<AlertStatus>,
    /// `fiware` for FIWARE Alert entities (crowds and the sensor thresholds the model has a
    /// sub-category for; others are left out).
    format: Option<String>,
}

/// Alerts of the caller's jurisdiction, newest first (at most 500).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "monitoring", params(AlertQuery),
    responses((status = 200, body = Vec<Alert>), (status = 400, body = q10_core_api::Problem)))]
pub(super) async fn alerts(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> Result<Json<serde_json::Value>> {
    let fiware = super::cameras::fiware_format(q.format.as_deref())?;
    let mut out = Vec::new();
    for a in state.store.alerts(q.status.map(AlertStatus::as_str), 500).await? {
        if monitor::may_read(&state, &who, a.jurisdiction_id).await? {
            out.push(monitor::alert_view(a)?);
        }
    }
    if fiware {
        return Ok(Json(serde_json::Value::Array(crate::fiware::alerts(&state, &out).await?)));
    }
    Ok(Json(serde_json::to_value(out).map_err(|e| Error::Internal(e.into()))?))
}

/// Acknowledges, assigns or resolves an alert.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/actions", tag = "monitoring", params(("id" = i64, Path)),
    request_body = AlertAction, responses(
    (status = 200, body = Alert),
    (status = 400, body = q10_core_api::Problem),
    (status = 404, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "resolved, or acknowledged already"),
))]
pub(super) async fn act(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
    ApiJson(action): ApiJson<AlertAction>,
) -> Result<Json<Alert>> {
    let a = monitor::act(&state, &who, id, &action, &source, state.now()).await?;
    Ok(Json(monitor::alert_view(a)?))
}
