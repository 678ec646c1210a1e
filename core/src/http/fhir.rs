//! The FHIR R4 façade at `/fhir/`: the CapabilityStatement, Schedule and Slot reads and searches,
//! and Appointment create, read and update, over the same domain calls and access rules as the
//! telehealth API. Answers are `application/fhir+json`; errors are OperationOutcomes.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use q10_core_api::{AppointmentStatus as S, NewAppointment};
use serde_json::Value;

use super::AppState;
use super::access::{Access, Caller, Routes, Source};
use super::extract::ApiPath;
use crate::auth::Principal;
use crate::error::Error;
use crate::store::telehealth::SlotFilter;
use crate::telehealth::fhir::{self, MEDIA_TYPE};
use crate::telehealth::{self, CLINICS, Op, STAFF, Side};

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/fhir/metadata", Access::Public, get(metadata))
        .add(Method::GET, "/fhir/Schedule", Access::Roles(STAFF), get(schedules))
        .add(Method::GET, "/fhir/Schedule/{id}", Access::Roles(STAFF), get(schedule))
        .add(Method::GET, "/fhir/Slot", Access::Roles(STAFF), get(slots))
        .add(Method::GET, "/fhir/Slot/{id}", Access::Roles(STAFF), get(slot))
        .add(Method::POST, "/fhir/Appointment", Access::Roles(CLINICS), axum::routing::post(create))
        .add(Method::GET, "/fhir/Appointment/{id}", Access::Roles(STAFF), get(read))
        .add(Method::PUT, "/fhir/Appointment/{id}", Access::Roles(STAFF), axum::routing::put(update))
}

/// A FHIR answer: a resource, or an OperationOutcome for an error.
pub(super) struct Fhir(StatusCode, Value, Option<i64>);

impl IntoResponse for Fhir {
    fn into_response(self) -> Response {
        let mut r = (self.0, axum::Json(self.1)).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
        if let Some(v) = self.2
            && let Ok(etag) = HeaderValue::from_str(&format!("W/\"{v}\""))
        {
            r.headers_mut().insert(header::ETAG, etag);
        }
        r
    }
}

impl From<Error> for Fhir {
    fn from(e: Error) -> Fhir {
        let status = e.status();
        if status.is_server_error() && !matches!(e, Error::Unavailable(_)) {
            tracing::error!(error = ?e, "FHIR request failed");
        }
        let shown = if status.is_server_error() { "the server could not answer".to_string() } else { e.to_string() };
        Fhir(status, fhir::outcome(fhir::issue_code(&e), &shown), None)
    }
}

type FhirResult = Result<Fhir, Fhir>;

/// Turns the problem+json answers given before a FHIR handler runs (no session, a role that may
/// not call it, a body too large) into OperationOutcomes with the same status and headers.
pub(super) async fn outcomes(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if !req.uri().path().starts_with("/fhir/") {
        return next.run(req).await;
    }
    let res = next.run(req).await;
    let is_problem =
        res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !is_problem {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let detail = problem.get("detail").and_then(Value::as_str).unwrap_or("the request was refused");
    let code = match parts.status {
        StatusCode::UNAUTHORIZED => "login",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "too-costly",
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::UNSUPPORTED_MEDIA_TYPE => "not-supported",
        s if s.is_client_error() => "invalid",
        _ => "exception",
    };
    let body = serde_json::to_vec(&fhir::outcome(code, detail)).unwrap_or_default();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

fn ok(v: Value) -> FhirResult {
    Ok(Fhir(StatusCode::OK, v, None))
}

fn base(state: &AppState) -> String {
    format!("{}/fhir", state.payments.public_url.trim_end_matches('/'))
}

/// The server's CapabilityStatement.
#[utoipa::path(get, path = "/fhir/metadata", tag = "fhir",
    responses((status = 200, content_type = "application/fhir+json", description = "the CapabilityStatement")))]
pub(super) async fn metadata(State(state): State<AppState>) -> Fhir {
    Fhir(StatusCode::OK, fhir::capability_statement(&base(&state), state.now()), None)
}

/// Every doctor's schedule.
#[utoipa::path(get, path = "/fhir/Schedule", tag = "fhir",
    responses((status = 200, content_type = "application/fhir+json", description = "a searchset Bundle of Schedules")))]
pub(super) async fn schedules(State(state): State<AppState>, OriginalUri(uri): OriginalUri) -> FhirResult {
    let actor = query_pairs(uri.query())?.into_iter().find(|(k, _)| k == "actor").map(|(_, v)| v);
    let rows = state.store.th_schedules().await?;
    let list = rows
        .iter()
        .filter(|s| actor.as_deref().is_none_or(|a| a == format!("Practitioner/{}", s.doctor_id)))
        .map(fhir::schedule)
        .collect();
    let base = base(&state);
    ok(fhir::bundle(&format!("{}{uri}", base.trim_end_matches("/fhir")), &base, list))
}

/// One schedule.
#[utoipa::path(get, path = "/fhir/Schedule/{id}", tag = "fhir", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/fhir+json", description = "the Schedule"),
        (status = 404, content_type = "application/fhir+json", description = "an OperationOutcome")))]
pub(super) async fn schedule(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> FhirResult {
    let s = state.store.th_schedule(fhir_id(&id, "schedule")?).await?.ok_or(Error::NotFound("schedule"))?;
    ok(fhir::schedule(&s))
}

/// A FHIR date search value with its prefix: `ge2026-12-01T00:00:00+07:00`.
fn date_param(value: &str) -> Result<(&str, time::OffsetDateTime), Error> {
    let (prefix, rest) = match value.get(..2) {
        Some(p @ ("ge" | "gt" | "le" | "lt" | "eq")) => (p, &value[2..]),
        _ => ("eq", value),
    };
    let t = time::OffsetDateTime::parse(rest, &time::format_description::well_known::Rfc3339)
        .map_err(|_| Error::invalid("start", "start is a prefix (ge, gt, le, lt) and an RFC 3339 time"))?;
    Ok((prefix, t))
}

/// Slots by schedule, status and start.
#[utoipa::path(get, path = "/fhir/Slot", tag = "fhir",
    params(("schedule" = Option<String>, Query, description = "Schedule/{id} or {id}"),
        ("status" = Option<String>, Query, description = "free, busy or busy-unavailable"),
        ("start" = Option<String>, Query, description = "ge/gt/lt/le and an RFC 3339 time; may repeat")),
    responses((status = 200, content_type = "application/fhir+json", description = "a searchset Bundle of Slots"),
        (status = 400, content_type = "application/fhir+json", description = "an OperationOutcome")))]
pub(super) async fn slots(State(state): State<AppState>, OriginalUri(uri): OriginalUri) -> FhirResult {
    let mut f = SlotFilter { limit: 500, ..SlotFilter::default() };
    let mut status = None;
    let mut after: Option<time::OffsetDateTime> = None;
    for (k, v) in query_pairs(uri.query())? {
        match k.as_str() {
            "schedule" => {
                let id = v.strip_prefix("Schedule/").unwrap_or(&v);
                f.schedule_id = Some(id.parse().map_err(|_| Error::invalid("schedule", "schedule is Schedule/{id}"))?);
            }
            "status" => {
                status = Some(
                    q10_core_api::SlotStatus::parse(&v)
                        .ok_or_else(|| Error::invalid("status", "status is free, busy or busy-unavailable"))?,
                )
            }
            "start" => {
                let (prefix, t) = date_param(&v)?;
                match prefix {
                    "ge" | "eq" => f.from = Some(t),
                    "gt" => after = Some(t),
                    "lt" => f.to = Some(t),
                    _ => f.to = Some(t + time::Duration::microseconds(1)),
                }
            }
            "_count" | "_format" => {}
            other => return Err(Error::invalid("query", format!("unknown search parameter '{other}'")).into()),
        }
    }
    f.status = status.map(|s| s.as_str());
    let rows = state.store.th_slots(&f).await?;
    let list = rows.iter().filter(|s| after.is_none_or(|t| s.start_at > t)).map(fhir::slot).collect();
    let base = base(&state);
    ok(fhir::bundle(&format!("{}{uri}", base.trim_end_matches("/fhir")), &base, list))
}

/// One slot.
#[utoipa::path(get, path = "/fhir/Slot/{id}", tag = "fhir", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/fhir+json", description = "the Slot"),
        (status = 404, content_type = "application/fhir+json", description = "an OperationOutcome")))]
pub(super) async fn slot(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> FhirResult {
    let s = state.store.th_slot(fhir_id(&id, "slot")?).await?.ok_or(Error::NotFound("slot"))?;
    ok(fhir::slot(&s))
}

/// Our resources' ids are numbers; any other FHIR id names nothing here.
fn fhir_id(id: &str, what: &'static str) -> Result<i64, Error> {
    id.parse().map_err(|_| Error::NotFound(what))
}

fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, Error> {
    serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| Error::invalid("query", "the query string is malformed"))
}

fn resource(body: &Bytes) -> Result<Value, Error> {
    serde_json::from_slice(body).map_err(|e| Error::invalid("resource", format!("the body is not JSON: {e}")))
}

async fn appointment_answer(
    state: &AppState,
    who: &Principal,
    a: crate::store::telehealth::AppointmentRow,
    side: Side,
    source: &str,
    status: StatusCode,
) -> FhirResult {
    let version = a.version;
    let view = telehealth::view(state, who, a, source).await?;
    let v = fhir::appointment(&view, side != Side::Clinic);
    Ok(Fhir(status, v, Some(version)))
}

/// Books a slot: an Appointment with one `slot`, the patient contained, the reason in
/// `reasonCode[0].text`.
#[utoipa::path(post, path = "/fhir/Appointment", tag = "fhir",
    request_body(content = Object, content_type = "application/fhir+json", description = "an Appointment"),
    responses((status = 201, content_type = "application/fhir+json", description = "the Appointment booked"),
        (status = 400, content_type = "application/fhir+json", description = "an OperationOutcome"),
        (status = 409, content_type = "application/fhir+json", description = "the slot is not free")))]
pub(super) async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    body: Bytes,
) -> Result<Response, Fhir> {
    let input = fhir::read_appointment(&resource(&body)?)?;
    if !matches!(input.status.as_str(), "booked" | "proposed" | "pending") {
        return Err(Error::invalid("status", "a new Appointment is booked").into());
    }
    let new = NewAppointment {
        slot_id: input.slot_id,
        patient: input.patient.ok_or_else(|| Error::invalid("contained", "the patient is a contained Patient"))?,
        reason: input.reason.ok_or_else(|| Error::invalid("reasonCode", "the reason is reasonCode[0].text"))?,
    };
    let a = telehealth::book(&state, &who, &new, &source, state.now()).await?;
    let location = format!("{}/Appointment/{}/_history/{}", base(&state), a.id, a.version);
    let mut r = appointment_answer(&state, &who, a, Side::Clinic, &source, StatusCode::CREATED).await?.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// One appointment.
#[utoipa::path(get, path = "/fhir/Appointment/{id}", tag = "fhir", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/fhir+json", description = "the Appointment"),
        (status = 404, content_type = "application/fhir+json", description = "an OperationOutcome")))]
pub(super) async fn read(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<String>,
) -> FhirResult {
    let (a, side) = telehealth::visible(&state, &who, fhir_id(&id, "appointment")?).await?;
    appointment_answer(&state, &who, a, side, &source, StatusCode::OK).await
}

/// Updates an appointment: its status (cancelled, noshow, arrived, fulfilled with the note in
/// `comment`) or its slot. Other elements are ours and stay as they are.
#[utoipa::path(put, path = "/fhir/Appointment/{id}", tag = "fhir", params(("id" = String, Path)),
    request_body(content = Object, content_type = "application/fhir+json", description = "the Appointment"),
    responses((status = 200, content_type = "application/fhir+json", description = "the Appointment updated"),
        (status = 400, content_type = "application/fhir+json", description = "an OperationOutcome"),
        (status = 404, content_type = "application/fhir+json", description = "an OperationOutcome"),
        (status = 409, content_type = "application/fhir+json", description = "not allowed in its status"),
        (status = 412, content_type = "application/fhir+json", description = "If-Match names an older version")))]
pub(super) async fn update(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult {
    let id = fhir_id(&id, "appointment")?;
    let v = resource(&body)?;
    if v.get("id").and_then(Value::as_str).is_some_and(|i| i != id.to_string()) {
        return Err(Error::invalid("id", "the resource's id is not the one in the address").into());
    }
    let input = fhir::read_appointment(&v)?;
    let (current, _) = telehealth::visible(&state, &who, id).await?;
    let version = match headers.get(header::IF_MATCH).and_then(|h| h.to_str().ok()) {
        Some(h) => {
            let v = fhir::if_match_version(h)
                .ok_or_else(|| Fhir::from(Error::invalid("If-Match", "If-Match is W/\"version\"")))?;
            if v != current.version {
                return Err(Fhir(
                    StatusCode::PRECONDITION_FAILED,
                    fhir::outcome("conflict", "the appointment has changed since that version"),
                    None,
                ));
            }
            Some(v)
        }
        None => None,
    };
    let now = state.now();
    let mut ops = Vec::new();
    if input.slot_id != current.slot_id {
        ops.push(Op::Reschedule { slot_id: input.slot_id });
    }
    if input.status != current.status {
        ops.push(match S::parse(&input.status) {
            Some(S::Cancelled) => {
                Op::Cancel { reason: input.cancel_reason.clone().unwrap_or_else(|| "cancelled".into()) }
            }
            Some(S::Noshow) => Op::Noshow,
            Some(S::Arrived) => Op::Arrive,
            Some(S::Fulfilled) => Op::Note {
                note: input
                    .comment
                    .clone()
                    .ok_or_else(|| Fhir::from(Error::invalid("comment", "the visit note is the comment")))?,
            },
            _ => {
                return Err(Error::Conflict(format!(
                    "an appointment goes from {} to cancelled, noshow, arrived or fulfilled",
                    current.status
                ))
                .into());
            }
        });
    }
    let mut expected = version;
    let mut latest = current;
    for op in ops {
        latest = telehealth::apply(&state, &who, id, expected, op, &source, now).await?;
        expected = Some(latest.version);
    }
    let (_, side) = telehealth::visible(&state, &who, id).await?;
    appointment_answer(&state, &who, latest, side, &source, StatusCode::OK).await
}
