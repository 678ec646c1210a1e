//! The civil-status registry over the API: books, CSV import, search, records and their actions,
//! certified extracts, and the public page that verifies an extract.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use q10_core_api::{
    Book, CivilRecord, Extract, NewBook, NewRecord, RecordActionRequest, RecordImportReport, RecordSearch,
    RecordSearchResult,
};
use serde::Deserialize;

use super::AppState;
use super::access::{Access, Caller, Routes, Source};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::error::{Error, Result};
use crate::registry::{self, extract};

/// A digitised book of a hundred thousand rows and more.
const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/api/v1/registry/books", Access::Roles(registry::READERS), get(books))
        .add(Method::POST, "/api/v1/registry/books", Access::Roles(registry::CLERKS), post(open_book))
        .add(
            Method::POST,
            "/api/v1/registry/books/{id}/import",
            Access::Roles(registry::CLERKS),
            post(import).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .add(Method::POST, "/api/v1/registry/search", Access::Roles(registry::READERS), post(search))
        .add(Method::POST, "/api/v1/registry/records", Access::Roles(registry::CLERKS), post(create))
        .add(Method::GET, "/api/v1/registry/records/{id}", Access::Roles(registry::READERS), get(one))
        .add(Method::POST, "/api/v1/registry/records/{id}/actions", Access::Roles(registry::CLERKS), post(act))
        .add(Method::POST, "/api/v1/registry/records/{id}/extracts", Access::Roles(registry::CLERKS), post(issue))
        .add(Method::GET, "/api/v1/registry/extracts/{id}", Access::Roles(registry::READERS), get(extract_one))
        .add(Method::GET, "/verify/{token}", Access::Public, get(verify))
}

/// The registry's books.
#[utoipa::path(get, path = "/api/v1/registry/books", tag = "registry", responses((status = 200, body = Vec<Book>)))]
pub(super) async fn books(State(state): State<AppState>) -> Result<Json<Vec<Book>>> {
    let rows = state.store.registry_books().await?;
    Ok(Json(rows.into_iter().map(registry::book_view).collect::<Result<Vec<_>>>()?))
}

/// Opens a book in a unit the clerk keeps.
#[utoipa::path(post, path = "/api/v1/registry/books", tag = "registry", request_body = NewBook, responses(
    (status = 201, body = Book),
    (status = 400, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "the unit has that book already"),
))]
pub(super) async fn open_book(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiJson(new): ApiJson<NewBook>,
) -> Result<(StatusCode, Json<Book>)> {
    let b = registry::open_book(&state, &who, &new, &source, state.now()).await?;
    Ok((StatusCode::CREATED, Json(registry::book_view(b)?)))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct ImportQuery {
    /// Check every row and report, adding nothing.
    #[serde(default)]
    dry_run: bool,
}

/// Imports a digitised book from CSV (`text/csv`, UTF-8; columns in `docs/registry.md`). All
/// rows are added or none; rows already in the book unchanged are skipped.
#[utoipa::path(post, path = "/api/v1/registry/books/{id}/import", tag = "registry",
    params(("id" = i64, Path), ImportQuery), request_body(content = String, content_type = "text/csv"), responses(
    (status = 200, body = RecordImportReport),
    (status = 400, body = q10_core_api::Problem),
    (status = 413, body = q10_core_api::Problem),
    (status = 415, body = q10_core_api::Problem),
))]
pub(super) async fn import(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<RecordImportReport>> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("text/csv") {
        return Err(Error::UnsupportedMediaType("send the book as text/csv".into()));
    }
    let text = std::str::from_utf8(&body).map_err(|_| Error::invalid("csv", "the file is not UTF-8"))?;
    Ok(Json(registry::import::import(&state, &who, id, text, q.dry_run, &source, state.now()).await?))
}

/// Searches records: by name (accents optional, near spellings found), kind, dates, book and
/// entry, a parent's name, or an exact ID number (sent in the body, never in a URL).
#[utoipa::path(post, path = "/api/v1/registry/search", tag = "registry", request_body = RecordSearch,
    responses((status = 200, body = RecordSearchResult), (status = 400, body = q10_core_api::Problem)))]
pub(super) async fn search(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiJson(q): ApiJson<RecordSearch>,
) -> Result<Json<RecordSearchResult>> {
    Ok(Json(registry::search::search(&state, &who, &q).await?))
}

/// Writes a new record (a draft, held by the clerk).
#[utoipa::path(post, path = "/api/v1/registry/records", tag = "registry", request_body = NewRecord, responses(
    (status = 201, body = CivilRecord),
    (status = 400, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "the entry is taken"),
))]
pub(super) async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiJson(new): ApiJson<NewRecord>,
) -> Result<(StatusCode, Json<CivilRecord>)> {
    let r = registry::create(&state, &who, &new, &source, state.now()).await?;
    Ok((StatusCode::CREATED, Json(registry::view(&state, &who, &r, &source).await?)))
}

/// A record with its whole history. ID numbers are shown in full only to the clerks of its unit;
/// every view is audited.
#[utoipa::path(get, path = "/api/v1/registry/records/{id}", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = CivilRecord), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn one(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CivilRecord>> {
    let r = state.store.civil_record(id).await?.ok_or(Error::NotFound("record"))?;
    Ok(Json(registry::view(&state, &who, &r, &source).await?))
}

/// A clerk's action: assign, update, declare, register, correct, annotate or archive.
#[utoipa::path(post, path = "/api/v1/registry/records/{id}/actions", tag = "registry", params(("id" = i64, Path)),
    request_body = RecordActionRequest, responses(
    (status = 200, body = CivilRecord),
    (status = 400, body = q10_core_api::Problem),
    (status = 404, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "not allowed in the record's state, or not assigned"),
))]
pub(super) async fn act(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<RecordActionRequest>,
) -> Result<Json<CivilRecord>> {
    let r = registry::act(&state, &who, id, &req, &source, state.now()).await?;
    Ok(Json(registry::view(&state, &who, &r, &source).await?))
}

/// Issues a certified extract of a registered record.
#[utoipa::path(post, path = "/api/v1/registry/records/{id}/extracts", tag = "registry", params(("id" = i64, Path)),
    responses(
    (status = 201, body = Extract),
    (status = 404, body = q10_core_api::Problem),
    (status = 409, body = q10_core_api::Problem, description = "not registered"),
))]
pub(super) async fn issue(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<Extract>)> {
    let e = extract::issue(&state, &who, id, &source, state.now()).await?;
    Ok((StatusCode::CREATED, Json(extract::view(&state, &e)?)))
}

/// An extract, to print.
#[utoipa::path(get, path = "/api/v1/registry/extracts/{id}", tag = "registry", params(("id" = String, Path)),
    responses((status = 200, body = Extract), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn extract_one(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Extract>> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::NotFound("extract"));
    }
    let e = state.store.civil_extract(&id).await?.ok_or(Error::NotFound("extract"))?;
    let r = state.store.civil_record(e.record_id).await?.ok_or(Error::NotFound("record"))?;
    if !registry::may_read(&state.store, &who, r.jurisdiction_id).await? {
        return Err(Error::Forbidden("this extract is outside your jurisdiction".into()));
    }
    Ok(Json(extract::view(&state, &e)?))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The public page an extract's QR code opens: whether the extract is genuine, and what it shows.
#[utoipa::path(get, path = "/verify/{token}", tag = "registry", params(("token" = String, Path)),
    responses((status = 200, content_type = "text/html", description = "genuine, or not")))]
pub(super) async fn verify(State(state): State<AppState>, ApiPath(token): ApiPath<String>) -> Result<Response> {
    let found = extract::verify(&state, &token).await?;
    let body = match found {
        None => "<h1 class=\"bad\">Không xác thực được</h1><p>Không tìm thấy bản trích lục nào khớp với mã này: \
                 bản trích lục có thể đã bị sửa, hoặc mã bị chép sai. / This extract could not be verified.</p>"
            .to_string(),
        Some(e) => {
            let content: serde_json::Value =
                serde_json::from_str(&e.content).map_err(|err| Error::Internal(err.into()))?;
            let mut rows = String::new();
            if let Some(f) = content.get("fields").and_then(|f| f.as_object()) {
                for (k, v) in f {
                    rows.push_str(&format!(
                        "<tr><th>{}</th><td>{}</td></tr>",
                        escape(k),
                        escape(v.as_str().unwrap_or(""))
                    ));
                }
            }
            let get = |k: &str| {
                content
                    .get(k)
                    .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                    .unwrap_or_default()
            };
            format!(
                "<h1 class=\"ok\">Bản trích lục hợp lệ</h1><p>This extract is genuine. Cấp ngày / issued {} bởi / by {}.</p>\
                 <p>Sổ / book {} · trang / page {} · số / entry {} · đăng ký ngày / registered {} · {}</p>\
                 <table>{}</table>",
                escape(&e.issued_at.date().to_string()),
                escape(&e.issued_by),
                escape(&get("volume")),
                escape(&get("page")),
                escape(&get("entry")),
                escape(&get("registered_on")),
                escape(&get("unit_name")),
                rows
            )
        }
    };
    let html = format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Xác thực trích lục</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#111}}\
         .ok{{color:#0a5c2b}}.bad{{color:#9b1c1c}}th{{text-align:left;padding-right:1rem}}</style></head><body>{body}</body></html>"
    );
    Ok(([(header::CACHE_CONTROL, "no-store"), (header::X_CONTENT_TYPE_OPTIONS, "nosniff")], Html(html)).into_response())
}
