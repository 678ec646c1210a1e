//! Meetings: create, list, join (a join token for the conference room), documents, attendance.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use q10_core_api::{Attendance, Meeting, MeetingDocument, MeetingJoin, NewMeeting};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::{Duration, UtcOffset};

use super::AppState;
use super::access::{Access, Caller, Routes, Source};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::meeting::{self, ATTENDEES, HOSTS, RoomGrant};
use crate::store::meetings::{MeetingRow, MeetingUnitRow, NewDocumentRow, NewMeetingRow};

/// Largest meeting document accepted.
const DOCUMENT_LIMIT: usize = 25 * 1024 * 1024;

/// Meetings listed: those starting from this long ago on.
const LISTED_SINCE: Duration = Duration::days(7);

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/api/v1/meetings", Access::Roles(ATTENDEES), get(list))
        .add(Method::POST, "/api/v1/meetings", Access::Roles(HOSTS), post(create))
        .add(Method::GET, "/api/v1/meetings/{id}", Access::Roles(ATTENDEES), get(one))
        .add(Method::POST, "/api/v1/meetings/{id}/join", Access::Roles(ATTENDEES), post(join))
        .add(Method::GET, "/api/v1/meetings/{id}/documents", Access::Roles(ATTENDEES), get(documents))
        .add(
            Method::POST,
            "/api/v1/meetings/{id}/documents",
            Access::Roles(HOSTS),
            post(upload).layer(DefaultBodyLimit::max(DOCUMENT_LIMIT)),
        )
        .add(Method::GET, "/api/v1/meetings/{id}/documents/{doc}", Access::Roles(ATTENDEES), get(document))
        .add(Method::GET, "/api/v1/meetings/{id}/attendance", Access::Roles(ATTENDEES), get(attendance))
        .add(Method::GET, "/api/v1/meetings/{id}/attendance.csv", Access::Roles(ATTENDEES), get(attendance_csv))
}

/// The meeting and its units, if the caller may attend it. A meeting the caller may not see is
/// reported as missing, so ids reveal nothing.
async fn visible(state: &AppState, who: &Principal, id: i64) -> Result<(MeetingRow, Vec<MeetingUnitRow>)> {
    let m = state.store.meeting(id).await?.ok_or(Error::NotFound("meeting"))?;
    let units = state.store.meeting_units(&[m.id]).await?;
    if !meeting::may_attend(&state.store, who, &m, &units).await? {
        return Err(Error::NotFound("meeting"));
    }
    Ok((m, units))
}

fn check_title(title: &str) -> Result<String> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
        return Err(Error::invalid("title", "a title is 1 to 200 characters without control characters"));
    }
    Ok(title.to_string())
}

/// Meetings the caller is invited to, from a week ago on, soonest first.
#[utoipa::path(get, path = "/api/v1/meetings", tag = "meetings", responses((status = 200, body = Vec<Meeting>)))]
pub(super) async fn list(State(state): State<AppState>, Caller(who): Caller) -> Result<Json<Vec<Meeting>>> {
    let rows = state.store.meetings_since(state.now() - LISTED_SINCE).await?;
    let ids: Vec<i64> = rows.iter().map(|m| m.id).collect();
    let units = state.store.meeting_units(&ids).await?;
    let mut out = Vec::new();
    for m in &rows {
        let mine: Vec<MeetingUnitRow> = units.iter().filter(|u| u.meeting_id == m.id).cloned().collect();
        if meeting::may_attend(&state.store, &who, m, &mine).await? {
            out.push(meeting::to_api(m, &mine, who.user_id));
        }
    }
    Ok(Json(out))
}

/// Creates a meeting for the district and chosen wards; the caller hosts it.
#[utoipa::path(post, path = "/api/v1/meetings", tag = "meetings", request_body = NewMeeting, responses(
    (status = 201, body = Meeting),
    (status = 400, body = q10_core_api::Problem),
    (status = 403, body = q10_core_api::Problem, description = "a unit is outside the caller's jurisdiction"),
))]
pub(super) async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiJson(new): ApiJson<NewMeeting>,
) -> Result<(StatusCode, Json<Meeting>)> {
    let title = check_title(&new.title)?;
    if new.wards.is_empty() || new.wards.len() > 50 {
        return Err(Error::invalid("wards", "invite 1 to 50 administrative units"));
    }
    let now = state.now();
    let starts_at = new.starts_at.to_offset(UtcOffset::UTC);
    if starts_at < now - Duration::days(1) {
        return Err(Error::invalid("starts_at", "a meeting cannot start more than a day in the past"));
    }
    let mut unit_ids = Vec::new();
    for code in &new.wards {
        let unit = state
            .store
            .jurisdiction_at(code, now.date())
            .await?
            .ok_or_else(|| Error::invalid("wards", format!("no administrative unit has the code '{code}'")))?;
        if !who.may_act_on(&state.store, HOSTS, unit.id).await? {
            return Err(Error::Forbidden(format!("unit {code} is outside your jurisdiction")));
        }
        unit_ids.push(unit.id);
    }
    let room = {
        use rand::Rng;
        let bytes: [u8; 9] = rand::rng().random();
        format!("meeting-{}", hex::encode(bytes))
    };
    let mut tx = state.store.begin().await?;
    let row = NewMeetingRow { title: &title, room: &room, starts_at, created_by: who.user_id, units: &unit_ids };
    let id = crate::store::meetings::insert(&mut tx, &row, now).await?;
    let event = Event::new(who.actor(), "meeting.create", "meeting", id)
        .detail(serde_json::json!({ "units": new.wards }))
        .source(&source);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    let (m, units) = visible(&state, &who, id).await?;
    Ok((StatusCode::CREATED, Json(meeting::to_api(&m, &units, who.user_id))))
}

/// One meeting.
#[utoipa::path(get, path = "/api/v1/meetings/{id}", tag = "meetings",
    params(("id" = i64, Path, description = "meeting id")),
    responses((status = 200, body = Meeting), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn one(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Meeting>> {
    let (m, units) = visible(&state, &who, id).await?;
    Ok(Json(meeting::to_api(&m, &units, who.user_id)))
}

/// A join token for the meeting's room: host for its host, speaker for the invited.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/join", tag = "meetings",
    params(("id" = i64, Path, description = "meeting id")),
    responses((status = 200, body = MeetingJoin), (status = 404, body = q10_core_api::Problem),
        (status = 503, body = q10_core_api::Problem, description = "conferencing is not running")))]
pub(super) async fn join(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<MeetingJoin>> {
    let (m, units) = visible(&state, &who, id).await?;
    let Some(tokens) = &state.room_tokens else {
        return Err(Error::Unavailable("conferencing is not running in this deployment".into()));
    };
    let grant = RoomGrant {
        room: m.room.clone(),
        identity: format!("user-{}", who.user_id),
        name: who.display_name.clone(),
        host: m.created_by == who.user_id,
        unit: meeting::attending_unit(&state.store, &who, &units).await?,
        ttl: meeting::JOIN_TTL,
        record: true,
        listen_only: false,
    };
    let token = tokens.mint(&grant, state.now())?;
    Ok(Json(MeetingJoin {
        room: grant.room,
        token,
        identity: grant.identity,
        name: grant.name,
        role: if grant.host { "host" } else { "speaker" }.into(),
        unit: grant.unit,
    }))
}

fn document_api(d: crate::store::meetings::DocumentRow) -> MeetingDocument {
    MeetingDocument {
        id: d.id,
        name: d.name,
        size: d.size,
        sha256: d.sha256,
        uploaded_by: d.uploaded_by,
        uploaded_at: d.uploaded_at,
    }
}

/// The meeting's documents.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/documents", tag = "meetings",
    params(("id" = i64, Path, description = "meeting id")),
    responses((status = 200, body = Vec<MeetingDocument>), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn documents(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<MeetingDocument>>> {
    let (m, _) = visible(&state, &who, id).await?;
    let docs = state.store.meeting_documents(m.id).await?;
    Ok(Json(docs.into_iter().map(document_api).collect()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DocumentName {
    name: String,
}

fn check_file_name(name: &str) -> Result<String> {
    let name = name.trim();
    let bad = name.is_empty()
        || name.chars().count() > 200
        || name.chars().any(|c| c.is_control() || matches!(c, '/' | '\\' | '"'))
        || name.starts_with('.');
    if bad {
        return Err(Error::invalid(
            "name",
            "a file name is 1 to 200 characters, without / \\ \" or control characters",
        ));
    }
    Ok(name.to_string())
}

/// Attaches a PDF to the meeting (its host, before or during it). The body is the file itself.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/documents", tag = "meetings",
    params(("id" = i64, Path, description = "meeting id"), ("name" = String, Query, description = "file name")),
    request_body(content = Vec<u8>, content_type = "application/pdf"),
    responses((status = 201, body = MeetingDocument), (status = 403, body = q10_core_api::Problem),
        (status = 413, body = q10_core_api::Problem), (status = 415, body = q10_core_api::Problem)))]
pub(super) async fn upload(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DocumentName>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<MeetingDocument>)> {
    let (m, _) = visible(&state, &who, id).await?;
    if m.created_by != who.user_id {
        return Err(Error::Forbidden("only the meeting's host attaches documents".into()));
    }
    let name = check_file_name(&q.name)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.trim().eq_ignore_ascii_case("application/pdf") {
        return Err(Error::UnsupportedMediaType("send the document as application/pdf".into()));
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::TooLarge
        } else {
            Error::Invalid { field: None, detail: e.body_text() }
        }
    })?;
    if !body.starts_with(b"%PDF-") {
        return Err(Error::UnsupportedMediaType("the document is not a PDF file".into()));
    }
    let doc_id = {
        use rand::Rng;
        let bytes: [u8; 12] = rand::rng().random();
        hex::encode(bytes)
    };
    let sha = hex::encode(Sha256::digest(&body));
    let now = state.now();
    let mut tx = state.store.begin().await?;
    let row = NewDocumentRow {
        id: &doc_id,
        meeting_id: m.id,
        name: &name,
        sha256: &sha,
        content: &body,
        uploaded_by: who.user_id,
    };
    crate::store::meetings::insert_document(&mut tx, &row, now).await?;
    let event = Event::new(who.actor(), "meeting.document.add", "meeting", m.id)
        .detail(serde_json::json!({ "document": doc_id, "sha256": sha, "size": body.len() }))
        .source(&source);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    let doc = state
        .store
        .meeting_documents(m.id)
        .await?
        .into_iter()
        .find(|d| d.id == doc_id)
        .ok_or(Error::NotFound("document"))?;
    Ok((StatusCode::CREATED, Json(document_api(doc))))
}

/// A document's content, to view in the page (framed by our own pages only) or download.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/documents/{doc}", tag = "meetings",
    params(("id" = i64, Path, description = "meeting id"), ("doc" = String, Path, description = "document id")),
    responses((status = 200, content_type = "application/pdf"), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn document(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath((id, doc)): ApiPath<(i64, String)>,
) -> Result<Response> {
    let (m, _) = visible(&state, &who, id).await?;
    let (name, content) = state.store.meeting_document_content(m.id, &doc).await?.ok_or(Error::NotFound("document"))?;
    let encoded: String = url_encode(&name);
    let disposition = format!("inline; filename=\"document.pdf\"; filename*=UTF-8''{encoded}");
    let mut r = content.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(anyhow::Error::from)?);
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("frame-ancestors 'self'"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(r)
}

/// Percent-encodes a file name for `filename*` (RFC 8187): everything but unreserved ASCII.
fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn report(state: &AppState, who: &Principal, source: &str, id: i64) -> Result<Attendance> {
    let (m, units) = visible(state, who, id).await?;
    let rows = state.store.attendance(m.id).await?;
    // Names of who attended are personal data: reading them is recorded.
    let mut tx = state.store.begin().await?;
    let event = Event::new(who.actor(), "personal_data.read", "meeting_attendance", m.id).source(source);
    audit::append(&mut tx, &state.secrets.audit, event, state.now()).await?;
    tx.commit().await?;
    Ok(meeting::attendance(&m, &units, &rows, state.now()))
}

/// Who attended, when and how long; and the roll call of the invited units.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/attendance", tag = "meetings",
    params(("id" = i64, Path, description = "meeting id")),
    responses((status = 200, body = Attendance), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn attendance(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Attendance>> {
    Ok(Json(report(&state, &who, &source, id).await?))
}

/// The attendance report as a CSV file.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/attendance.csv", tag = "meetings",
    params(("id" = i64, Path, description = "meeting id")),
    responses((status = 200, content_type = "text/csv"), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn attendance_csv(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response> {
    let a = report(&state, &who, &source, id).await?;
    let mut r = meeting::attendance_csv(&a).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"attendance-{}.csv\"", a.meeting_id))
            .map_err(anyhow::Error::from)?,
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(r)
}
