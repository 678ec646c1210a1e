//! Administrative units: public reference data, changed by administrators.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use q10_core_api::{ImportReport, Jurisdiction, Role};
use serde::Deserialize;
use time::Date;

use super::AppState;
use super::access::{Access, Caller, Routes, Source};
use super::extract::{ApiPath, ApiQuery};
use crate::error::{Error, Result};
use crate::jurisdiction;

/// Largest reference-data file accepted (boundaries are large).
const IMPORT_LIMIT: usize = 32 * 1024 * 1024;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/api/v1/jurisdictions", Access::Public, get(list))
        .add(Method::GET, "/api/v1/jurisdictions/boundaries", Access::Public, get(boundaries))
        .add(Method::GET, "/api/v1/jurisdictions/{code}", Access::Public, get(one))
        .add(
            Method::POST,
            "/api/v1/jurisdictions/import",
            Access::Roles(&[Role::Admin]),
            post(import).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct AtQuery {
    /// The day to look at (YYYY-MM-DD); today if absent.
    #[param(value_type = Option<String>, format = Date)]
    at: Option<String>,
    /// Only units of this kind (e.g. "ward").
    kind: Option<String>,
}

impl AtQuery {
    fn day(&self, state: &AppState) -> Result<Date> {
        match &self.at {
            None => Ok(state.now().date()),
            Some(s) => Date::parse(s, &time::format_description::well_known::Iso8601::DEFAULT)
                .map_err(|_| Error::invalid("at", "a date like 2025-07-01")),
        }
    }
}

/// Units valid on a day.
#[utoipa::path(get, path = "/api/v1/jurisdictions", tag = "jurisdictions", params(AtQuery),
    responses((status = 200, body = Vec<Jurisdiction>)))]
pub(super) async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> Result<Json<Vec<Jurisdiction>>> {
    let rows = state.store.jurisdictions_at(q.day(&state)?, q.kind.as_deref()).await?;
    Ok(Json(rows.iter().map(jurisdiction::to_api).collect()))
}

/// Units valid on a day with their boundaries, as a GeoJSON FeatureCollection.
#[utoipa::path(get, path = "/api/v1/jurisdictions/boundaries", tag = "jurisdictions", params(AtQuery),
    responses((status = 200, content_type = "application/geo+json", body = Object)))]
pub(super) async fn boundaries(State(state): State<AppState>, ApiQuery(q): ApiQuery<AtQuery>) -> Result<Response> {
    let rows = state.store.jurisdictions_at(q.day(&state)?, q.kind.as_deref()).await?;
    let body = jurisdiction::to_geojson(&rows).to_string();
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], body).into_response())
}

/// One unit as it was on a day.
#[utoipa::path(get, path = "/api/v1/jurisdictions/{code}", tag = "jurisdictions",
    params(("code" = String, Path, description = "administrative code"), AtQuery),
    responses((status = 200, body = Jurisdiction), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn one(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> Result<Json<Jurisdiction>> {
    let row = state.store.jurisdiction_at(&code, q.day(&state)?).await?.ok_or(Error::NotFound("jurisdiction"))?;
    Ok(Json(jurisdiction::to_api(&row)))
}

/// Loads units from a GeoJSON FeatureCollection (properties: code, kind, parent, name_vi,
/// name_en, valid_from, valid_to, source_note). All or nothing.
#[utoipa::path(post, path = "/api/v1/jurisdictions/import", tag = "jurisdictions",
    request_body(content = Object, content_type = "application/geo+json"),
    responses((status = 200, body = ImportReport), (status = 400, body = q10_core_api::Problem)))]
pub(super) async fn import(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    body: Bytes,
) -> Result<Json<ImportReport>> {
    let text = std::str::from_utf8(&body).map_err(|_| Error::invalid("file", "the file is not UTF-8"))?;
    let report =
        jurisdiction::import(&state.store, &state.secrets.audit, who.actor(), &source, text, state.now()).await?;
    Ok(Json(report))
}
