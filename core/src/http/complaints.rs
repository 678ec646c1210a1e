//! Complaints over the core's own API: filing (JSON, or multipart with photos), following by
//! tracking code, reopening and rating; the handlers' queue, view, actions and (audited) contact
//! details.

use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use q10_core_api::{
    ComplaintAction, ComplaintActionRequest, ComplaintCategory, ComplaintContact, ComplaintQueue, ComplaintReceipt,
    NearbyComplaint, NewComplaint, PublicComplaint, RatingRequest, ReopenRequest, Role, StaffComplaint,
    TrackingRequest,
};
use serde::Deserialize;

use super::AppState;
use super::access::{Access, Caller, MaybeCaller, Routes, Source};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::complaint::{self, Filing, photo, rules};
use crate::error::{Error, Result};
use crate::store::complaints::{ComplaintRow, QueueFilter};

/// A filing with photos: the JSON and up to three photos of 8 MiB.
const FILING_LIMIT: usize = photo::MAX_PHOTOS * photo::MAX_PHOTO_BYTES + 256 * 1024;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/api/v1/complaint-categories", Access::Public, get(categories))
        .add(
            Method::POST,
            "/api/v1/complaints",
            Access::Public,
            post(submit).layer(DefaultBodyLimit::max(FILING_LIMIT)),
        )
        .add(Method::GET, "/api/v1/complaints/nearby", Access::Public, get(nearby))
        .add(Method::POST, "/api/v1/complaints/track", Access::Public, post(track))
        .add(Method::POST, "/api/v1/complaints/reopen", Access::Public, post(reopen))
        .add(Method::POST, "/api/v1/complaints/rate", Access::Public, post(rate))
        .add(Method::GET, "/api/v1/complaint-photos/{photo}", Access::Public, get(photo_file))
        .add(Method::GET, "/api/v1/complaints", Access::Roles(complaint::STAFF), get(queue))
        .add(Method::GET, "/api/v1/complaints/{id}", Access::Roles(complaint::STAFF), get(one))
        .add(Method::POST, "/api/v1/complaints/{id}/actions", Access::Roles(complaint::STAFF), post(act))
        .add(Method::GET, "/api/v1/complaints/{id}/contact", Access::Roles(complaint::CONTACT_READERS), get(contact))
}

/// The categories citizens choose from.
#[utoipa::path(get, path = "/api/v1/complaint-categories", tag = "complaints",
    responses((status = 200, body = Vec<ComplaintCategory>)))]
pub(super) async fn categories(State(state): State<AppState>) -> Result<Json<Vec<ComplaintCategory>>> {
    let rows = state.store.complaint_categories().await?;
    Ok(Json(
        rows.into_iter()
            .map(|c| ComplaintCategory {
                code: c.code,
                name_vi: c.name_vi,
                name_en: c.name_en,
                description: c.description,
                group: c.grp,
                sla_hours: c.sla_hours,
            })
            .collect(),
    ))
}

/// A filing's body: JSON, or multipart/form-data with a `complaint` part (JSON) and `photo` parts.
pub(super) struct FilingBody {
    complaint: NewComplaint,
    photos: Vec<Vec<u8>>,
}

impl<S: Send + Sync> FromRequest<S> for FilingBody {
    type Rejection = Error;

    async fn from_request(req: Request<Body>, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        if ct.starts_with("multipart/form-data") {
            let mut form = Multipart::from_request(req, state)
                .await
                .map_err(|e| Error::Invalid { field: None, detail: e.body_text() })?;
            let mut complaint = None;
            let mut photos = Vec::new();
            while let Some(field) = form.next_field().await.map_err(multipart_error)? {
                match field.name() {
                    Some("complaint") => {
                        let text = field.text().await.map_err(multipart_error)?;
                        complaint = Some(serde_json::from_str(&text).map_err(|e| {
                            Error::invalid("complaint", format!("the complaint part is not valid: {e}"))
                        })?);
                    }
                    Some("photo") => {
                        let bytes = field.bytes().await.map_err(multipart_error)?;
                        if !bytes.is_empty() {
                            photos.push(bytes.to_vec());
                        }
                    }
                    Some(other) => {
                        return Err(Error::invalid(
                            "form",
                            format!("unexpected part '{other}': send 'complaint' and 'photo'"),
                        ));
                    }
                    None => return Err(Error::invalid("form", "every part needs a name")),
                }
            }
            let complaint = complaint.ok_or_else(|| Error::invalid("complaint", "the 'complaint' part is missing"))?;
            Ok(FilingBody { complaint, photos })
        } else {
            let ApiJson(complaint) = ApiJson::<NewComplaint>::from_request(req, state).await?;
            Ok(FilingBody { complaint, photos: Vec::new() })
        }
    }
}

pub(super) fn multipart_error(e: axum::extract::multipart::MultipartError) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::TooLarge
    } else {
        Error::Invalid { field: Some("form"), detail: e.body_text() }
    }
}

/// Files a complaint, anonymously or not. Send JSON, or multipart/form-data with the JSON in a
/// `complaint` part and up to three JPEG or PNG `photo` parts (8 MiB each; EXIF and GPS are
/// removed). Keep the tracking code in the answer: it is shown once.
#[utoipa::path(post, path = "/api/v1/complaints", tag = "complaints", request_body = NewComplaint, responses(
    (status = 201, body = ComplaintReceipt),
    (status = 400, body = q10_core_api::Problem),
    (status = 413, body = q10_core_api::Problem),
))]
pub(super) async fn submit(
    State(state): State<AppState>,
    MaybeCaller(who): MaybeCaller,
    Source(client): Source,
    body: FilingBody,
) -> Result<(StatusCode, Json<ComplaintReceipt>)> {
    let source = match &who {
        Some(p) if p.has_any_role(&[Role::KioskDevice]) => "kiosk",
        _ => "web",
    };
    let filing = Filing { complaint: body.complaint, photos: body.photos, source, api_key: None, client };
    let receipt = complaint::submit(&state, filing, state.now()).await?;
    Ok((StatusCode::CREATED, Json(receipt)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct NearbyQuery {
    category: String,
    lat: f64,
    lon: f64,
}

/// Open complaints of a category within 50 m of a point, filed in the last 30 days: ask before
/// filing, and follow one of these instead if it is the same problem.
#[utoipa::path(get, path = "/api/v1/complaints/nearby", tag = "complaints", params(NearbyQuery),
    responses((status = 200, body = Vec<NearbyComplaint>), (status = 400, body = q10_core_api::Problem)))]
pub(super) async fn nearby(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<NearbyQuery>,
) -> Result<Json<Vec<NearbyComplaint>>> {
    if !((-90.0..=90.0).contains(&q.lat) && (-180.0..=180.0).contains(&q.lon)) {
        return Err(Error::invalid("lat", "lat and lon must be WGS 84 degrees"));
    }
    Ok(Json(complaint::nearby(&state.store, q.category.trim(), (q.lat, q.lon), state.now()).await?))
}

async fn public_of(state: &AppState, c: &ComplaintRow) -> Result<PublicComplaint> {
    let actions = state.store.complaint_actions(&[c.id], false).await?;
    let photos = state.store.complaint_photo_ids(c.id).await?;
    Ok(complaint::public_view(c, &actions, &photos, state.now()))
}

/// Follows a complaint by its tracking code (sent in the body, so it stays out of URLs and logs).
#[utoipa::path(post, path = "/api/v1/complaints/track", tag = "complaints", request_body = TrackingRequest,
    responses((status = 200, body = PublicComplaint), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn track(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<TrackingRequest>,
) -> Result<Json<PublicComplaint>> {
    let c = complaint::by_code(&state.store, &req.code).await?;
    Ok(Json(public_of(&state, &c).await?))
}

/// The citizen reopens a complaint fixed or closed in the last 14 days, saying why.
#[utoipa::path(post, path = "/api/v1/complaints/reopen", tag = "complaints", request_body = ReopenRequest, responses(
    (status = 200, body = PublicComplaint),
    (status = 404, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "not fixed or closed, or more than 14 days ago"),
))]
pub(super) async fn reopen(
    State(state): State<AppState>,
    Source(source): Source,
    ApiJson(req): ApiJson<ReopenRequest>,
) -> Result<Json<PublicComplaint>> {
    let reason =
        rules::check_note(&req.reason, true).map_err(|_| Error::invalid("reason", "say what is still wrong"))?;
    let c =
        complaint::citizen_act(&state, &req.code, ComplaintAction::Reopen, &reason, None, &source, state.now()).await?;
    Ok(Json(public_of(&state, &c).await?))
}

/// The citizen rates a closed complaint, once: 1 to 5, with an optional comment.
#[utoipa::path(post, path = "/api/v1/complaints/rate", tag = "complaints", request_body = RatingRequest, responses(
    (status = 200, body = PublicComplaint),
    (status = 400, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "not closed, or already rated"),
))]
pub(super) async fn rate(
    State(state): State<AppState>,
    Source(source): Source,
    ApiJson(req): ApiJson<RatingRequest>,
) -> Result<Json<PublicComplaint>> {
    if !(1..=5).contains(&req.rating) {
        return Err(Error::invalid("rating", "a rating is 1 to 5"));
    }
    let comment = rules::check_note(&req.comment, false)
        .map_err(|_| Error::invalid("comment", "a comment is at most 2000 characters"))?;
    let rating = Some((req.rating, comment.clone()));
    let c = complaint::citizen_act(&state, &req.code, ComplaintAction::Rate, "", rating, &source, state.now()).await?;
    Ok(Json(public_of(&state, &c).await?))
}

/// A complaint's photo (metadata removed).
#[utoipa::path(get, path = "/api/v1/complaint-photos/{photo}", tag = "complaints",
    params(("photo" = String, Path)),
    responses((status = 200, content_type = "image/jpeg"), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn photo_file(State(state): State<AppState>, ApiPath(photo): ApiPath<String>) -> Result<Response> {
    if photo.len() != 32 || !photo.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::NotFound("photo"));
    }
    let p = state.store.complaint_photo(&photo).await?.ok_or(Error::NotFound("photo"))?;
    Ok((
        [
            (header::CONTENT_TYPE, p.content_type),
            (header::CACHE_CONTROL, "public, max-age=86400, immutable".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        p.content,
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct QueueQuery {
    /// Only this status.
    status: Option<String>,
    category: Option<String>,
    /// Only complaints still open.
    #[serde(default)]
    open: bool,
    /// Only open complaints past their SLA.
    #[serde(default)]
    overdue: bool,
    /// Only those assigned to the caller.
    #[serde(default)]
    mine: bool,
    /// Only this ward (code).
    ward: Option<String>,
    /// Page: complaints with a smaller id than this.
    before: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
}

/// The wards whose complaints the caller works; `None`: all, including those no ward contains.
async fn scope(state: &AppState, who: &Principal) -> Result<Option<Vec<i64>>> {
    let wards = state.store.jurisdictions_at(crate::complaint::stats::local_day(state.now()), Some("ward")).await?;
    let mut mine = Vec::new();
    for w in &wards {
        if who.may_act_on(&state.store, complaint::STAFF, w.id).await? {
            mine.push(w.id);
        }
    }
    if mine.len() == wards.len() && who.has_any_role(&[Role::DistrictOfficial, Role::Operator]) {
        Ok(None)
    } else {
        Ok(Some(mine))
    }
}

/// The handlers' queue: complaints of the caller's wards, newest first.
#[utoipa::path(get, path = "/api/v1/complaints", tag = "complaints", params(QueueQuery),
    responses((status = 200, body = ComplaintQueue), (status = 400, body = q10_core_api::Problem)))]
pub(super) async fn queue(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<ComplaintQueue>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::invalid("limit", "limit is 1 to 200"));
    }
    if let Some(s) = &q.status
        && q10_core_api::ComplaintStatus::parse(s).is_none()
    {
        return Err(Error::invalid("status", format!("there is no status '{s}'")));
    }
    let mut wards = scope(&state, &who).await?;
    if let Some(code) = &q.ward {
        let w = state
            .store
            .jurisdiction_at(code, crate::complaint::stats::local_day(state.now()))
            .await?
            .ok_or_else(|| Error::invalid("ward", format!("no ward has the code '{code}'")))?;
        if wards.as_ref().is_some_and(|ws| !ws.contains(&w.id)) {
            return Err(Error::Forbidden(format!("ward {code} is outside your jurisdiction")));
        }
        wards = Some(vec![w.id]);
    }
    let now = state.now();
    let filter = QueueFilter {
        wards: wards.as_deref(),
        status: q.status.as_deref(),
        category: q.category.as_deref(),
        open_only: q.open,
        overdue_at: q.overdue.then_some(now),
        handler_id: q.mine.then_some(who.user_id),
        before: q.before,
        limit: limit + 1,
    };
    let mut rows = state.store.complaint_queue(&filter).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_before = if more { rows.last().map(|r| r.id) } else { None };
    Ok(Json(ComplaintQueue { items: rows.iter().map(|c| complaint::queue_item(c, now)).collect(), next_before }))
}

async fn handled(state: &AppState, who: &Principal, id: i64) -> Result<ComplaintRow> {
    let c = state.store.complaint(id).await?.ok_or(Error::NotFound("complaint"))?;
    if !complaint::may_handle(&state.store, who, &c).await? {
        return Err(Error::Forbidden("this complaint is outside your jurisdiction".into()));
    }
    Ok(c)
}

async fn staff_of(state: &AppState, c: &ComplaintRow) -> Result<StaffComplaint> {
    let actions = state.store.complaint_actions(&[c.id], true).await?;
    let photos = state.store.complaint_photo_ids(c.id).await?;
    Ok(complaint::staff_view(c, &actions, &photos, state.now()))
}

/// A complaint with its whole history, for its handlers.
#[utoipa::path(get, path = "/api/v1/complaints/{id}", tag = "complaints", params(("id" = i64, Path)),
    responses((status = 200, body = StaffComplaint), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn one(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<StaffComplaint>> {
    let c = handled(&state, &who, id).await?;
    Ok(Json(staff_of(&state, &c).await?))
}

/// Acts on a complaint: triage, assign, start, fix, close, mark_duplicate,
/// not_our_responsibility, comment (public) or note (internal).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/actions", tag = "complaints", params(("id" = i64, Path)),
    request_body = ComplaintActionRequest, responses(
    (status = 200, body = StaffComplaint),
    (status = 400, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "the action does not apply in the complaint's state"),
))]
pub(super) async fn act(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ComplaintActionRequest>,
) -> Result<Json<StaffComplaint>> {
    let c = complaint::act(&state, &who, &source, id, &req, state.now()).await?;
    Ok(Json(staff_of(&state, &c).await?))
}

/// The citizen's contact details, if given. Every read is written to the audit log.
#[utoipa::path(get, path = "/api/v1/complaints/{id}/contact", tag = "complaints", params(("id" = i64, Path)),
    responses((status = 200, body = ComplaintContact), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn contact(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ComplaintContact>> {
    let c = handled(&state, &who, id).await?;
    let sealed = c.contact.as_deref().ok_or(Error::NotFound("contact"))?;
    let contact = complaint::open_contact(&state.secrets.data_encryption, sealed)?;
    let mut tx = state.store.begin().await?;
    let event = Event::new(who.actor(), "complaint.contact.read", "complaint", id).source(source);
    audit::append(&mut tx, &state.secrets.audit, event, state.now()).await?;
    tx.commit().await?;
    Ok(Json(contact))
}
