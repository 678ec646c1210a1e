//! Open311 GeoReport v2 at `/open311/v2/`, in JSON and XML, with mySociety's
//! `servicerequestupdates` and extended statuses. Services are the complaint categories; service
//! requests are the complaints (their public facts only: never contact details).
//!
//! Errors take Open311's own shape (`[{"code": 400, "description": "…"}]`, or `<errors>` in
//! XML) rather than problem+json, as Open311 clients expect.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use q10_core_api::{ComplaintContact, ComplaintStatus, NewComplaint};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::AppState;
use super::access::{Access, Routes, Source};
use super::extract::ApiPath;
use crate::complaint::{self, Filing};
use crate::error::Error;
use crate::store::complaints::{ActionRow, CategoryRow, ComplaintRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

/// `name.json` or `name.xml` split into its name and format.
fn split(file: &str) -> Option<(&str, Format)> {
    if let Some(n) = file.strip_suffix(".json") {
        Some((n, Format::Json))
    } else {
        file.strip_suffix(".xml").map(|n| (n, Format::Xml))
    }
}

pub(super) fn routes(r: Routes) -> Routes {
    fn both(
        r: Routes,
        method: Method,
        json: &'static str,
        xml: &'static str,
        handler: impl Fn(Format) -> MethodRouter<AppState>,
    ) -> Routes {
        r.add(method.clone(), json, Access::Public, handler(Format::Json)).add(
            method,
            xml,
            Access::Public,
            handler(Format::Xml),
        )
    }
    let r = both(r, Method::GET, "/open311/v2/discovery.json", "/open311/v2/discovery.xml", |f| {
        get(move |s: State<AppState>, h: HeaderMap| discovery(s, h, f))
    });
    let r = both(r, Method::GET, "/open311/v2/services.json", "/open311/v2/services.xml", |f| {
        get(move |s: State<AppState>| services(s, f))
    });
    let r = both(r, Method::GET, "/open311/v2/requests.json", "/open311/v2/requests.xml", |f| {
        get(move |s: State<AppState>, h: HeaderMap, q: RawQuery| requests(s, h, q, f))
    });
    let r = both(r, Method::POST, "/open311/v2/requests.json", "/open311/v2/requests.xml", |f| {
        post(move |s: State<AppState>, src: Source, req: Request| create(s, src, req, f))
    });
    let r =
        both(r, Method::GET, "/open311/v2/servicerequestupdates.json", "/open311/v2/servicerequestupdates.xml", |f| {
            get(move |s: State<AppState>, h: HeaderMap, q: RawQuery| updates(s, h, q, f))
        });
    r.add(Method::GET, "/open311/v2/services/{file}", Access::Public, get(service))
        .add(Method::GET, "/open311/v2/requests/{file}", Access::Public, get(request))
        .add(Method::GET, "/open311/v2/tokens/{file}", Access::Public, get(token))
}

use axum::extract::RawQuery;

/// The Open311 operations for the OpenAPI document: `(method, path, summary)`.
pub(super) const DESCRIBED: &[(&str, &str, &str)] = &[
    ("GET", "/open311/v2/discovery.json", "Open311 service discovery (JSON)"),
    ("GET", "/open311/v2/discovery.xml", "Open311 service discovery (XML)"),
    ("GET", "/open311/v2/services.json", "Open311 services: the complaint categories (JSON)"),
    ("GET", "/open311/v2/services.xml", "Open311 services: the complaint categories (XML)"),
    ("GET", "/open311/v2/services/{file}", "Open311 service definition: {service_code}.json or .xml"),
    (
        "GET",
        "/open311/v2/requests.json",
        "Open311 service requests, filtered by service_request_id, service_code, start_date, end_date, status (JSON)",
    ),
    ("GET", "/open311/v2/requests.xml", "Open311 service requests (XML)"),
    (
        "POST",
        "/open311/v2/requests.json",
        "Open311: file a service request with an api_key (form-encoded; JSON answer)",
    ),
    ("POST", "/open311/v2/requests.xml", "Open311: file a service request with an api_key (form-encoded; XML answer)"),
    ("GET", "/open311/v2/requests/{file}", "Open311: one service request, {service_request_id}.json or .xml"),
    ("GET", "/open311/v2/tokens/{file}", "Open311: the request id of a token, {token}.json or .xml"),
    ("GET", "/open311/v2/servicerequestupdates.json", "mySociety's Open311 updates in a period (JSON)"),
    ("GET", "/open311/v2/servicerequestupdates.xml", "mySociety's Open311 updates in a period (XML)"),
];

/// An Open311 error answer.
struct Open311Error {
    status: StatusCode,
    description: String,
    format: Format,
}

#[derive(Serialize)]
struct ErrorItem {
    code: u16,
    description: String,
}

#[derive(Serialize)]
#[serde(rename = "errors")]
struct Errors<'a> {
    error: &'a [ErrorItem],
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let items = [ErrorItem { code: self.status.as_u16(), description: self.description }];
        let mut res = respond(self.format, &items, &Errors { error: &items });
        *res.status_mut() = self.status;
        res
    }
}

fn err(format: Format, e: Error) -> Open311Error {
    let status = e.status();
    let description = e.problem().detail.unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    Open311Error { status, description, format }
}

type R = std::result::Result<Response, Open311Error>;

/// Answers with `json` as JSON, or `xml` as an XML document.
fn respond<T: Serialize + ?Sized, W: Serialize>(format: Format, json: &T, xml: &W) -> Response {
    match format {
        Format::Json => ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], axum::Json(json)).into_response(),
        Format::Xml => match quick_xml::se::to_string(xml) {
            Ok(body) => (
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>{body}"),
            )
                .into_response(),
            Err(e) => Error::Internal(anyhow::anyhow!("XML serialization failed: {e}")).into_response(),
        },
    }
}

/// The base URL clients reached us at, for absolute links.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if state.secure_cookies { "https" } else { "http" };
    format!("{scheme}://{host}")
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[derive(Serialize, Clone)]
struct Endpoint {
    specification: String,
    url: String,
    changeset: String,
    #[serde(rename = "type")]
    kind: String,
    formats: Formats,
}

#[derive(Serialize, Clone)]
struct Formats {
    format: Vec<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename = "discovery")]
struct Discovery {
    changeset: String,
    contact: String,
    key_service: String,
    endpoints: Endpoints,
}

#[derive(Serialize, Clone)]
struct Endpoints {
    endpoint: Vec<Endpoint>,
}

async fn discovery(State(state): State<AppState>, headers: HeaderMap, format: Format) -> Response {
    let base = base_url(&state, &headers);
    let d = Discovery {
        changeset: "2026-11-25T00:00:00Z".into(),
        contact: "Ủy ban nhân dân Quận 10 — District 10 People's Committee".into(),
        key_service: "API keys are issued by the district's system administrators".into(),
        endpoints: Endpoints {
            endpoint: vec![Endpoint {
                specification: "http://wiki.open311.org/GeoReport_v2".into(),
                url: format!("{base}/open311/v2"),
                changeset: "2026-11-25T00:00:00Z".into(),
                kind: "production".into(),
                formats: Formats { format: vec!["text/xml".into(), "application/json".into()] },
            }],
        },
    };
    // Discovery is one object, not a list.
    let json = serde_json::json!({
        "changeset": d.changeset, "contact": d.contact, "key_service": d.key_service,
        "endpoints": d.endpoints.endpoint.iter().map(|e| serde_json::json!({
            "specification": e.specification, "url": e.url, "changeset": e.changeset, "type": e.kind,
            "formats": e.formats.format,
        })).collect::<Vec<_>>(),
    });
    respond(format, &json, &d)
}

#[derive(Serialize, Clone)]
struct Service {
    service_code: String,
    service_name: String,
    description: String,
    metadata: bool,
    #[serde(rename = "type")]
    kind: String,
    keywords: String,
    group: String,
}

#[derive(Serialize)]
#[serde(rename = "services")]
struct Services<'a> {
    service: &'a [Service],
}

fn service_of(c: &CategoryRow) -> Service {
    Service {
        service_code: c.code.clone(),
        service_name: format!("{} / {}", c.name_vi, c.name_en),
        description: c.description.clone(),
        metadata: false,
        kind: "realtime".into(),
        keywords: c.keywords.clone(),
        group: c.grp.clone(),
    }
}

async fn services(State(state): State<AppState>, format: Format) -> R {
    let rows = state.store.complaint_categories().await.map_err(|e| err(format, e))?;
    let list: Vec<Service> = rows.iter().map(service_of).collect();
    Ok(respond(format, &list, &Services { service: &list }))
}

#[derive(Serialize, Clone)]
#[serde(rename = "service_definition")]
struct ServiceDefinition {
    service_code: String,
    attributes: Vec<String>,
}

/// A service's definition. Our services take no extra attributes.
async fn service(State(state): State<AppState>, ApiPath(file): ApiPath<String>) -> R {
    let (code, format) = split(&file).ok_or(Open311Error {
        status: StatusCode::NOT_FOUND,
        description: "ask for .json or .xml".into(),
        format: Format::Json,
    })?;
    let rows = state.store.complaint_categories().await.map_err(|e| err(format, e))?;
    let c = rows.iter().find(|c| c.code == code).ok_or_else(|| err(format, Error::NotFound("service")))?;
    let def = ServiceDefinition { service_code: c.code.clone(), attributes: Vec::new() };
    Ok(respond(format, &serde_json::json!({ "service_code": def.service_code, "attributes": [] }), &def))
}

/// mySociety's extended status for one of ours.
pub fn extended_status(s: ComplaintStatus) -> &'static str {
    match s {
        ComplaintStatus::Submitted => "open",
        ComplaintStatus::ForTriage => "for_triage",
        ComplaintStatus::Assigned => "investigating",
        ComplaintStatus::InProgress => "in_progress",
        ComplaintStatus::Fixed => "fixed",
        ComplaintStatus::Closed => "closed",
        ComplaintStatus::Duplicate => "duplicate",
        ComplaintStatus::NotOurResponsibility => "not_councils_responsibility",
        ComplaintStatus::Reopened => "reopen",
    }
}

#[derive(Serialize, Clone)]
struct ServiceRequest {
    service_request_id: String,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_notes: Option<String>,
    service_name: String,
    service_code: String,
    description: String,
    agency_responsible: String,
    service_notice: String,
    requested_datetime: String,
    updated_datetime: String,
    expected_datetime: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(rename = "long", skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_url: Option<String>,
    /// mySociety's extended status.
    extended_status: String,
}

#[derive(Serialize)]
#[serde(rename = "service_requests")]
struct ServiceRequests<'a> {
    request: &'a [ServiceRequest],
}

fn request_of(base: &str, c: &ComplaintRow, photo: Option<&String>, note: Option<&ActionRow>) -> ServiceRequest {
    let status = ComplaintStatus::parse(&c.status).unwrap_or(ComplaintStatus::Submitted);
    ServiceRequest {
        service_request_id: c.id.to_string(),
        status: if status.is_open() { "open" } else { "closed" }.into(),
        status_notes: note.filter(|a| !a.note.is_empty()).map(|a| a.note.clone()),
        service_name: format!("{} / {}", c.category_name_vi, c.category_name_en),
        service_code: c.category_code.clone(),
        description: c.description.clone(),
        agency_responsible: match &c.ward_name {
            Some(w) => format!("{} — {}", c.team, w),
            None => c.team.clone(),
        },
        service_notice: String::new(),
        requested_datetime: rfc3339(c.submitted_at),
        updated_datetime: rfc3339(c.updated_at),
        expected_datetime: rfc3339(c.due_at),
        address: c.address.clone(),
        lat: c.lat,
        lon: c.lon,
        media_url: photo.map(|p| format!("{base}{}", complaint::view::photo_url(p))),
        extended_status: extended_status(status).into(),
    }
}

async fn requests_view(state: &AppState, base: &str, rows: &[ComplaintRow]) -> Result<Vec<ServiceRequest>, Error> {
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let actions = state.store.complaint_actions(&ids, false).await?;
    let mut out = Vec::with_capacity(rows.len());
    for c in rows {
        let photo = if c.photos > 0 { state.store.complaint_photo_ids(c.id).await?.into_iter().next() } else { None };
        let last = actions.iter().rfind(|a| a.complaint_id == c.id);
        out.push(request_of(base, c, photo.as_ref(), last));
    }
    Ok(out)
}

/// Query-string pairs; unknown keys are ignored, as Open311 clients send extras.
fn pairs(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref().map(form_urlencoded).unwrap_or_default()
}

fn form_urlencoded(s: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(s).unwrap_or_default()
}

fn get_param<'a>(p: &'a [(String, String)], key: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

fn parse_time(format: Format, key: &str, v: Option<&str>) -> Result<Option<OffsetDateTime>, Open311Error> {
    v.map(|s| OffsetDateTime::parse(s, &Rfc3339)).transpose().map_err(|_| Open311Error {
        status: StatusCode::BAD_REQUEST,
        description: format!("{key} must be an ISO 8601 date-time with a time zone"),
        format,
    })
}

async fn requests(State(state): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery, format: Format) -> R {
    let p = pairs(&q);
    let base = base_url(&state, &headers);
    let bad = |d: &str| Open311Error { status: StatusCode::BAD_REQUEST, description: d.into(), format };
    let rows: Vec<ComplaintRow> = if let Some(ids) = get_param(&p, "service_request_id") {
        let mut rows = Vec::new();
        for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()).take(100) {
            let id: i64 = id.parse().map_err(|_| bad("service_request_id is a comma-separated list of numbers"))?;
            if let Some(c) = state.store.complaint(id).await.map_err(|e| err(format, e))? {
                rows.push(c);
            }
        }
        rows
    } else {
        let now = state.now();
        let end = parse_time(format, "end_date", get_param(&p, "end_date"))?.unwrap_or(now + Duration::seconds(1));
        let start = parse_time(format, "start_date", get_param(&p, "start_date"))?.unwrap_or(end - Duration::days(90));
        if start > end {
            return Err(bad("start_date is after end_date"));
        }
        let open = match get_param(&p, "status") {
            None => None,
            Some("open") => Some(true),
            Some("closed") => Some(false),
            Some(_) => return Err(bad("status is open or closed")),
        };
        let code = get_param(&p, "service_code");
        state.store.complaints_between(start, end, code, open, 1000).await.map_err(|e| err(format, e))?
    };
    let list = requests_view(&state, &base, &rows).await.map_err(|e| err(format, e))?;
    Ok(respond(format, &list, &ServiceRequests { request: &list }))
}

/// One service request, as a list of one.
async fn request(State(state): State<AppState>, headers: HeaderMap, ApiPath(file): ApiPath<String>) -> R {
    let (id, format) = split(&file).ok_or(Open311Error {
        status: StatusCode::NOT_FOUND,
        description: "ask for .json or .xml".into(),
        format: Format::Json,
    })?;
    let id: i64 = id.parse().map_err(|_| err(format, Error::NotFound("service request")))?;
    let c = state
        .store
        .complaint(id)
        .await
        .map_err(|e| err(format, e))?
        .ok_or_else(|| err(format, Error::NotFound("service request")))?;
    let list = requests_view(&state, &base_url(&state, &headers), &[c]).await.map_err(|e| err(format, e))?;
    Ok(respond(format, &list, &ServiceRequests { request: &list }))
}

#[derive(Serialize, Clone)]
struct TokenAnswer {
    service_request_id: String,
    token: String,
}

#[derive(Serialize)]
#[serde(rename = "service_requests")]
struct TokenAnswers<'a> {
    request: &'a [TokenAnswer],
}

/// The service request a token stands for.
async fn token(State(state): State<AppState>, ApiPath(file): ApiPath<String>) -> R {
    let (token, format) = split(&file).ok_or(Open311Error {
        status: StatusCode::NOT_FOUND,
        description: "ask for .json or .xml".into(),
        format: Format::Json,
    })?;
    let id = state
        .store
        .complaint_id_by_token(token)
        .await
        .map_err(|e| err(format, e))?
        .ok_or_else(|| err(format, Error::NotFound("token")))?;
    let list = vec![TokenAnswer { service_request_id: id.to_string(), token: token.to_string() }];
    Ok(respond(format, &list, &TokenAnswers { request: &list }))
}

#[derive(Serialize, Clone)]
struct Created {
    service_request_id: String,
    token: String,
    service_notice: String,
}

#[derive(Serialize)]
#[serde(rename = "service_requests")]
struct CreatedList<'a> {
    request: &'a [Created],
}

/// Files a service request for an Open311 client holding an API key
/// (`application/x-www-form-urlencoded`).
async fn create(State(state): State<AppState>, Source(client): Source, req: Request, format: Format) -> R {
    let bad = |d: String| Open311Error { status: StatusCode::BAD_REQUEST, description: d, format };
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(bad("send the request as application/x-www-form-urlencoded".into()));
    }
    let body = axum::body::Bytes::from_request(req, &state).await.map_err(|e| bad(e.body_text()))?;
    let p = form_urlencoded(std::str::from_utf8(&body).map_err(|_| bad("the body is not UTF-8".into()))?);
    let key = get_param(&p, "api_key").ok_or_else(|| Open311Error {
        status: StatusCode::FORBIDDEN,
        description: "an api_key is required".into(),
        format,
    })?;
    let api_key =
        state.store.api_key_by_hash(&crate::auth::token_hash(key)).await.map_err(|e| err(format, e))?.ok_or_else(
            || Open311Error { status: StatusCode::FORBIDDEN, description: "the api_key is not valid".into(), format },
        )?;
    let number = |k: &str| -> Result<Option<f64>, Open311Error> {
        get_param(&p, k).map(|v| v.parse::<f64>().map_err(|_| bad(format!("{k} must be a number")))).transpose()
    };
    let name =
        [get_param(&p, "first_name"), get_param(&p, "last_name")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let contact = ComplaintContact {
        name: (!name.is_empty()).then_some(name),
        email: get_param(&p, "email").map(str::to_string),
        phone: get_param(&p, "phone").map(str::to_string),
    };
    let has_contact = contact != ComplaintContact::default();
    let new = NewComplaint {
        category: get_param(&p, "service_code").ok_or_else(|| bad("service_code is required".into()))?.to_string(),
        description: get_param(&p, "description").unwrap_or_default().to_string(),
        lat: number("lat")?,
        lon: number("long")?,
        address: get_param(&p, "address_string").map(str::to_string),
        contact: has_contact.then_some(contact),
        notify: None,
    };
    let filing = Filing { complaint: new, photos: Vec::new(), source: "open311", api_key: Some(api_key), client };
    let receipt = complaint::submit(&state, filing, state.now()).await.map_err(|e| err(format, e))?;
    let token =
        state.store.complaint(receipt.id).await.map_err(|e| err(format, e))?.map(|c| c.token).unwrap_or_default();
    let notice = format!("Tracking code for the citizen: {}", receipt.tracking_code);
    let list = vec![Created { service_request_id: receipt.id.to_string(), token, service_notice: notice }];
    let mut res = respond(format, &list, &CreatedList { request: &list });
    *res.status_mut() = StatusCode::CREATED;
    Ok(res)
}

#[derive(Serialize, Clone)]
struct Update {
    update_id: String,
    service_request_id: String,
    status: String,
    updated_datetime: String,
    description: String,
    media_url: String,
}

#[derive(Serialize)]
#[serde(rename = "service_request_updates")]
struct Updates<'a> {
    request_update: &'a [Update],
}

/// mySociety's updates: public changes in a period (default: the last 24 hours).
async fn updates(State(state): State<AppState>, _headers: HeaderMap, RawQuery(q): RawQuery, format: Format) -> R {
    let p = pairs(&q);
    let now = state.now();
    let end = parse_time(format, "end_date", get_param(&p, "end_date"))?.unwrap_or(now + Duration::seconds(1));
    let start = parse_time(format, "start_date", get_param(&p, "start_date"))?.unwrap_or(end - Duration::days(1));
    let rows = state.store.public_actions_between(start, end, 1000).await.map_err(|e| err(format, e))?;
    let list: Vec<Update> = rows
        .iter()
        .map(|a| Update {
            update_id: a.id.to_string(),
            service_request_id: a.complaint_id.to_string(),
            status: extended_status(ComplaintStatus::parse(&a.status_after).unwrap_or(ComplaintStatus::Submitted))
                .into(),
            updated_datetime: rfc3339(a.at),
            description: a.note.clone(),
            media_url: String::new(),
        })
        .collect();
    Ok(respond(format, &list, &Updates { request_update: &list }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_carry_the_format() {
        assert_eq!(split("garbage.json"), Some(("garbage", Format::Json)));
        assert_eq!(split("12.xml"), Some(("12", Format::Xml)));
        assert_eq!(split("12.html"), None);
    }

    #[test]
    fn xml_lists_wrap_their_items() {
        let list = [ErrorItem { code: 400, description: "bad <thing>".into() }];
        let xml = quick_xml::se::to_string(&Errors { error: &list }).unwrap();
        assert_eq!(xml, "<errors><error><code>400</code><description>bad &lt;thing&gt;</description></error></errors>");
    }
}
