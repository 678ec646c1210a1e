//! Operational endpoints: liveness, readiness, metrics, the API description.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json};
use q10_core_api::{Health, Readiness, ReadinessCheck};
use utoipa::openapi::OpenApi;

use super::AppState;
use super::access::{Access, Routes};

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/healthz", Access::Public, get(healthz))
        .add(Method::GET, "/readyz", Access::Public, get(readyz))
        .add(Method::GET, "/metrics", Access::Public, get(metrics))
        .add(Method::GET, "/openapi.json", Access::Public, get(openapi_json))
        .add(Method::GET, "/api/docs", Access::Public, get(api_docs))
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
pub(super) async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health { status: "ok".into(), roles: state.roles.clone(), version: env!("CARGO_PKG_VERSION").into() })
}

/// Readiness: the database answers and every migration is applied.
#[utoipa::path(get, path = "/readyz", tag = "system", responses(
    (status = 200, body = Readiness, description = "ready"),
    (status = 503, body = Readiness, description = "not ready; the checks say why"),
))]
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    let db = match state.store.ping().await {
        Ok(()) => ReadinessCheck { name: "database".into(), ok: true, detail: "ok".into() },
        Err(_) => ReadinessCheck { name: "database".into(), ok: false, detail: "the database does not answer".into() },
    };
    let migrations = match state.store.pending_migrations().await {
        Ok(p) if p.is_empty() => ReadinessCheck { name: "migrations".into(), ok: true, detail: "ok".into() },
        Ok(p) => ReadinessCheck { name: "migrations".into(), ok: false, detail: format!("{} not applied", p.len()) },
        Err(_) => {
            ReadinessCheck { name: "migrations".into(), ok: false, detail: "cannot read the migration table".into() }
        }
    };
    let ready = db.ok && migrations.ok;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Readiness { ready, checks: vec![db, migrations] })).into_response()
}

/// Metrics in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, content_type = "text/plain", body = String)))]
pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// This API described in OpenAPI 3.1, with who may call each operation.
#[utoipa::path(get, path = "/openapi.json", tag = "system", responses((status = 200, content_type = "application/json", body = Object)))]
pub(super) async fn openapi_json(Extension(doc): Extension<Arc<OpenApi>>) -> Json<OpenApi> {
    Json((*doc).clone())
}

/// The API reference as a page for people.
#[utoipa::path(get, path = "/api/docs", tag = "system", responses((status = 200, content_type = "text/html", body = String)))]
pub(super) async fn api_docs(Extension(doc): Extension<Arc<OpenApi>>) -> Html<String> {
    Html(super::openapi::reference_page(&doc))
}

/// Counts requests and their durations by route and status.
pub(super) async fn track_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let path =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("path", path), ("status", status)];
    metrics::counter!("q10_http_requests_total", &labels).increment(1);
    metrics::histogram!("q10_http_request_duration_seconds", &labels).record(start.elapsed().as_secs_f64());
    response
}
