//! Online dossiers over the API: the procedure catalogue and holidays, applying with documents,
//! following by code, supplements and ratings; the officers' queue, view, actions and documents.

use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use q10_core_api::{
    DossierActionRequest, DossierCodeRequest, DossierQueue, DossierRatingRequest, DossierReceipt, DossierStatus,
    DossierSupplement, Holiday, HolidayRequest, NewDossier, Procedure, ProcedureLevel, PublicDossier, Role,
    StaffDossier,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::AppState;
use super::access::{Access, Caller, MaybeCaller, Routes, Source};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::dossier::{self, Upload, calendar};
use crate::error::{Error, Result};
use crate::store::dossiers::DossierFilter;

/// An application with its documents.
const UPLOAD_LIMIT: usize = dossier::MAX_DOCS * dossier::MAX_DOC_BYTES + 256 * 1024;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/api/v1/procedures", Access::Public, get(procedures))
        .add(Method::GET, "/api/v1/holidays", Access::Public, get(holidays))
        .add(Method::PUT, "/api/v1/holidays/{date}", Access::Roles(&[Role::Admin]), put(put_holiday))
        .add(Method::DELETE, "/api/v1/holidays/{date}", Access::Roles(&[Role::Admin]), delete(delete_holiday))
        .add(Method::POST, "/api/v1/dossiers", Access::Public, post(apply).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .add(Method::POST, "/api/v1/dossiers/track", Access::Public, post(track))
        .add(
            Method::POST,
            "/api/v1/dossiers/supplement",
            Access::Public,
            post(supplement).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .add(Method::POST, "/api/v1/dossiers/rate", Access::Public, post(rate))
        .add(Method::GET, "/api/v1/dossiers", Access::Roles(dossier::STAFF), get(queue))
        .add(Method::GET, "/api/v1/dossiers/{id}", Access::Roles(dossier::STAFF), get(one))
        .add(Method::POST, "/api/v1/dossiers/{id}/actions", Access::Roles(dossier::STAFF), post(act))
        .add(Method::GET, "/api/v1/dossiers/{id}/documents/{doc}", Access::Roles(dossier::STAFF), get(document))
}

/// The procedures citizens can apply for, with their documents, fees and processing times.
#[utoipa::path(get, path = "/api/v1/procedures", tag = "dossiers", responses((status = 200, body = Vec<Procedure>)))]
pub(super) async fn procedures(State(state): State<AppState>) -> Result<Json<Vec<Procedure>>> {
    let rows = state.store.procedures().await?;
    let mut out = Vec::with_capacity(rows.len());
    for p in rows {
        out.push(Procedure {
            documents: dossier::required_documents(&p.documents)?,
            level: ProcedureLevel::parse(&p.level).unwrap_or(ProcedureLevel::PartialOnline),
            code: p.code,
            name_vi: p.name_vi,
            name_en: p.name_en,
            fee: p.fee,
            working_days: p.working_days,
            office: p.office,
        });
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct YearQuery {
    /// The year (default: this year).
    year: Option<i32>,
}

/// Public holidays of a year: days off besides weekends, which deadlines skip.
#[utoipa::path(get, path = "/api/v1/holidays", tag = "dossiers", params(YearQuery),
    responses((status = 200, body = Vec<Holiday>), (status = 400, body = q10_core_api::Problem)))]
pub(super) async fn holidays(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> Result<Json<Vec<Holiday>>> {
    let year = q.year.unwrap_or_else(|| calendar::local_date(state.now()).year());
    if !(2000..=2100).contains(&year) {
        return Err(Error::invalid("year", "a year from 2000 to 2100"));
    }
    let rows = state.store.holidays(&format!("{year}-01-01"), &format!("{year}-12-31")).await?;
    Ok(Json(
        rows.into_iter()
            .filter_map(|(day, name)| calendar::parse_iso(&day).map(|date| Holiday { date, name }))
            .collect(),
    ))
}

fn holiday_date(s: &str) -> Result<time::Date> {
    calendar::parse_iso(s).ok_or_else(|| Error::invalid("date", "a date is YYYY-MM-DD"))
}

/// Adds or renames a public holiday. Deadlines already set keep their dates.
#[utoipa::path(put, path = "/api/v1/holidays/{date}", tag = "dossiers", params(("date" = String, Path)),
    request_body = HolidayRequest,
    responses((status = 200, body = Holiday), (status = 400, body = q10_core_api::Problem)))]
pub(super) async fn put_holiday(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(date): ApiPath<String>,
    ApiJson(req): ApiJson<HolidayRequest>,
) -> Result<Json<Holiday>> {
    let date = holiday_date(&date)?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "a holiday's name is 1 to 120 characters"));
    }
    state.store.put_holiday(&calendar::iso(date), name).await?;
    audit_holiday(&state, &who, "holiday.put", date, &source).await?;
    Ok(Json(Holiday { date, name: name.to_string() }))
}

/// Removes a public holiday.
#[utoipa::path(delete, path = "/api/v1/holidays/{date}", tag = "dossiers", params(("date" = String, Path)),
    responses((status = 204), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn delete_holiday(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(date): ApiPath<String>,
) -> Result<StatusCode> {
    let date = holiday_date(&date)?;
    if !state.store.delete_holiday(&calendar::iso(date)).await? {
        return Err(Error::NotFound("holiday"));
    }
    audit_holiday(&state, &who, "holiday.delete", date, &source).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn audit_holiday(
    state: &AppState,
    who: &Principal,
    action: &'static str,
    date: time::Date,
    source: &str,
) -> Result<()> {
    let mut tx = state.store.begin().await?;
    let event = Event::new(who.actor(), action, "holiday", calendar::iso(date)).source(source);
    audit::append(&mut tx, &state.secrets.audit, event, state.now()).await?;
    tx.commit().await
}

/// A multipart body: one JSON part named `json_part`, and documents in parts named `doc:<key>`.
pub(super) struct WithDocuments<T> {
    json: T,
    uploads: Vec<Upload>,
}

/// Which part holds the JSON of a multipart body.
pub(super) trait JsonPart {
    const NAME: &'static str;
}

impl JsonPart for NewDossier {
    const NAME: &'static str = "dossier";
}

impl JsonPart for DossierSupplement {
    const NAME: &'static str = "supplement";
}

impl<S: Send + Sync, T: DeserializeOwned + JsonPart + Send> FromRequest<S> for WithDocuments<T> {
    type Rejection = Error;

    async fn from_request(req: Request<Body>, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ct.starts_with("multipart/form-data") {
            return Err(Error::UnsupportedMediaType(format!(
                "send multipart/form-data with a '{}' part (JSON) and the documents as 'doc:<key>' parts",
                T::NAME
            )));
        }
        let mut form = Multipart::from_request(req, state)
            .await
            .map_err(|e| Error::Invalid { field: None, detail: e.body_text() })?;
        let mut json = None;
        let mut uploads = Vec::new();
        while let Some(field) = form.next_field().await.map_err(super::complaints::multipart_error)? {
            let name = field.name().unwrap_or("").to_string();
            if name == T::NAME {
                let text = field.text().await.map_err(super::complaints::multipart_error)?;
                json = Some(
                    serde_json::from_str(&text)
                        .map_err(|e| Error::invalid("form", format!("the '{}' part is not valid: {e}", T::NAME)))?,
                );
            } else if let Some(key) = name.strip_prefix("doc:") {
                let filename = field.file_name().unwrap_or("document").to_string();
                let bytes = field.bytes().await.map_err(super::complaints::multipart_error)?;
                if !bytes.is_empty() {
                    uploads.push(Upload { key: key.to_string(), filename, bytes: bytes.to_vec() });
                }
            } else {
                return Err(Error::invalid(
                    "form",
                    format!("unexpected part '{name}': send '{}' and 'doc:<key>' parts", T::NAME),
                ));
            }
        }
        let json = json.ok_or_else(|| Error::invalid("form", format!("the '{}' part is missing", T::NAME)))?;
        Ok(WithDocuments { json, uploads })
    }
}

/// Applies for a procedure: multipart/form-data with a `dossier` part (JSON) and one part per
/// document named `doc:<key>` (PDF, JPEG or PNG, 10 MiB each). Keep the code in the answer.
#[utoipa::path(post, path = "/api/v1/dossiers", tag = "dossiers", request_body(content = NewDossier, content_type = "multipart/form-data"), responses(
    (status = 201, body = DossierReceipt),
    (status = 400, body = q10_core_api::Problem),
    (status = 413, body = q10_core_api::Problem),
    (status = 415, body = q10_core_api::Problem),
))]
pub(super) async fn apply(
    State(state): State<AppState>,
    MaybeCaller(who): MaybeCaller,
    Source(client): Source,
    body: WithDocuments<NewDossier>,
) -> Result<(StatusCode, Json<DossierReceipt>)> {
    let source = match &who {
        Some(p) if p.has_any_role(&[Role::KioskDevice]) => "kiosk",
        Some(p) if p.has_any_role(dossier::STAFF) => "counter",
        _ => "online",
    };
    let receipt = dossier::apply(&state, &body.json, body.uploads, source, &client, state.now()).await?;
    Ok((StatusCode::CREATED, Json(receipt)))
}

/// Follows a dossier by its code (sent in the body, so it stays out of URLs and logs).
#[utoipa::path(post, path = "/api/v1/dossiers/track", tag = "dossiers", request_body = DossierCodeRequest,
    responses((status = 200, body = PublicDossier), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn track(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<DossierCodeRequest>,
) -> Result<Json<PublicDossier>> {
    let d = dossier::by_code(&state.store, &req.code).await?;
    Ok(Json(dossier::view::public_view(&state, &d).await?))
}

/// Sends the documents the office asked for: multipart/form-data with a `supplement` part (JSON:
/// code and note) and `doc:<key>` parts. The processing time starts again.
#[utoipa::path(post, path = "/api/v1/dossiers/supplement", tag = "dossiers", request_body(content = DossierSupplement, content_type = "multipart/form-data"), responses(
    (status = 200, body = PublicDossier),
    (status = 404, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "no supplement was asked for"),
))]
pub(super) async fn supplement(
    State(state): State<AppState>,
    Source(source): Source,
    body: WithDocuments<DossierSupplement>,
) -> Result<Json<PublicDossier>> {
    let d = dossier::supplement(&state, &body.json.code, &body.json.note, body.uploads, &source, state.now()).await?;
    Ok(Json(dossier::view::public_view(&state, &d).await?))
}

/// Rates the service once the result is returned: 1 to 5, with an optional comment.
#[utoipa::path(post, path = "/api/v1/dossiers/rate", tag = "dossiers", request_body = DossierRatingRequest, responses(
    (status = 200, body = PublicDossier),
    (status = 400, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "not returned yet, or already rated"),
))]
pub(super) async fn rate(
    State(state): State<AppState>,
    Source(source): Source,
    ApiJson(req): ApiJson<DossierRatingRequest>,
) -> Result<Json<PublicDossier>> {
    let d = dossier::rate(&state, &req.code, req.rating, &req.comment, &source, state.now()).await?;
    Ok(Json(dossier::view::public_view(&state, &d).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct QueueQuery {
    status: Option<String>,
    /// Only dossiers still with the office.
    #[serde(default)]
    open: bool,
    /// Only open dossiers past their appointment.
    #[serde(default)]
    overdue: bool,
    /// Only those the caller holds.
    #[serde(default)]
    mine: bool,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    offset: Option<i64>,
}

/// The offices whose dossiers the caller processes; `None`: all.
async fn offices(state: &AppState, who: &Principal) -> Result<Option<Vec<i64>>> {
    let units = state.store.jurisdictions_at(calendar::local_date(state.now()), None).await?;
    let mut mine = Vec::new();
    for u in &units {
        if who.may_act_on(&state.store, dossier::STAFF, u.id).await? {
            mine.push(u.id);
        }
    }
    Ok(if mine.len() == units.len() { None } else { Some(mine) })
}

/// The officers' queue: dossiers of the caller's offices, nearest appointment first.
#[utoipa::path(get, path = "/api/v1/dossiers", tag = "dossiers", params(QueueQuery),
    responses((status = 200, body = DossierQueue), (status = 400, body = q10_core_api::Problem)))]
pub(super) async fn queue(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<DossierQueue>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::invalid("limit", "limit is 1 to 200"));
    }
    let offset = q.offset.unwrap_or(0);
    if !(0..=1_000_000).contains(&offset) {
        return Err(Error::invalid("offset", "offset is 0 to 1000000"));
    }
    if let Some(s) = &q.status
        && DossierStatus::parse(s).is_none()
    {
        return Err(Error::invalid("status", format!("there is no status '{s}'")));
    }
    let now = state.now();
    let offices = offices(&state, &who).await?;
    let filter = DossierFilter {
        offices: offices.as_deref(),
        status: q.status.as_deref(),
        open_only: q.open,
        overdue_at: q.overdue.then_some(now),
        handler_id: q.mine.then_some(who.user_id),
        limit,
        offset,
    };
    let (total, rows) = state.store.dossier_queue(&filter).await?;
    let items = rows.iter().map(|d| dossier::view::queue_item(d, now)).collect::<Result<Vec<_>>>()?;
    Ok(Json(DossierQueue { total, items }))
}

async fn handled(state: &AppState, who: &Principal, id: i64) -> Result<crate::store::dossiers::DossierRow> {
    let d = state.store.dossier(id).await?.ok_or(Error::NotFound("dossier"))?;
    if !dossier::may_handle(&state.store, who, &d).await? {
        return Err(Error::Forbidden("this dossier is outside your jurisdiction".into()));
    }
    Ok(d)
}

/// A dossier with its applicant (ID number masked), documents and whole history. Each view is
/// written to the audit log.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}", tag = "dossiers", params(("id" = i64, Path)),
    responses((status = 200, body = StaffDossier), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn one(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<StaffDossier>> {
    let d = handled(&state, &who, id).await?;
    let view = dossier::view::staff_view(&state, &d).await?;
    let mut tx = state.store.begin().await?;
    audit::append(
        &mut tx,
        &state.secrets.audit,
        Event::new(who.actor(), "dossier.view", "dossier", id).source(source),
        state.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// An officer's action: accept, request_supplement, refuse, hand_off, result_ready, return,
/// apologize, comment or note.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/actions", tag = "dossiers", params(("id" = i64, Path)),
    request_body = DossierActionRequest, responses(
    (status = 200, body = StaffDossier),
    (status = 400, body = q10_core_api::Problem),
    (status = 404, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "not allowed in the dossier's state"),
))]
pub(super) async fn act(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<DossierActionRequest>,
) -> Result<Json<StaffDossier>> {
    let d = dossier::act(&state, &who, &source, id, &req, state.now()).await?;
    Ok(Json(dossier::view::staff_view(&state, &d).await?))
}

/// One of a dossier's documents, as uploaded. Each read is written to the audit log.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}/documents/{doc}", tag = "dossiers",
    params(("id" = i64, Path), ("doc" = String, Path)),
    responses((status = 200, content_type = "application/pdf"), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn document(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath((id, doc)): ApiPath<(i64, String)>,
) -> Result<Response> {
    if doc.len() != 32 || !doc.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::NotFound("document"));
    }
    handled(&state, &who, id).await?;
    let (meta, sealed) = state.store.dossier_document(id, &doc).await?.ok_or(Error::NotFound("document"))?;
    let bytes = dossier::open_document(&state.secrets.data_encryption, &sealed)?;
    let mut tx = state.store.begin().await?;
    let event = Event::new(who.actor(), "dossier.document.read", "dossier", id)
        .detail(serde_json::json!({ "document": meta.id, "key": meta.doc_key }))
        .source(source);
    audit::append(&mut tx, &state.secrets.audit, event, state.now()).await?;
    tx.commit().await?;
    let ascii: String = meta
        .filename
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, meta.content_type),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{ascii}\"")),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}
