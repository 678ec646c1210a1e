//! The core's HTTP API: `app(state)` builds the whole router, so tests can call it without a
//! socket, and `q10 serve` mounts it.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::AuthPolicy;
use crate::clock::Clock;
use crate::secrets::Secrets;
use crate::store::Store;

pub mod access;
mod audit_log;
mod auth;
mod cameras;
mod complaints;
mod dashboard;
mod dossiers;
mod extract;
mod fhir;
mod jurisdictions;
mod kiosks;
mod meetings;
mod monitor;
mod open311;
pub mod openapi;
mod payments;
mod queue;
mod registry;
mod simulator;
mod system;
mod telehealth;
mod users;

pub use access::{Access, Endpoint};

/// Everything a request handler may use.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub secrets: Secrets,
    pub policy: AuthPolicy,
    pub clock: Arc<dyn Clock>,
    /// Renders `/metrics`; `None` where no recorder is installed.
    pub metrics: Option<PrometheusHandle>,
    /// Roles this process runs, as reported by `/healthz`.
    pub roles: Vec<String>,
    /// Whether cookies are marked Secure (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Mints conference join tokens; `None` where this deployment runs no conferencing.
    pub room_tokens: Option<crate::meeting::SharedRoomTokens>,
    /// The wards' boundaries, for routing complaints.
    pub wards: crate::complaint::locate::WardIndex,
    /// Live changes for the console and dashboard.
    pub feed: crate::feed::Feed,
    /// Where events are delivered (1022 portal, webhooks) and how citizens are notified.
    pub outbound: Arc<crate::outbox::Outbound>,
    /// Wakes the outbox worker when a change has queued events.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// How payments are taken: providers, their secrets, the simulators.
    pub payments: crate::payment::SharedSettings,
    /// The folder camera footage is kept in; `None` where this deployment keeps none.
    pub footage: Option<std::path::PathBuf>,
}

impl AppState {
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }
}

/// The core's routes with their access rules.
pub fn routes() -> access::Routes {
    let routes = access::Routes::new();
    let routes = system::routes(routes);
    let routes = auth::routes(routes);
    let routes = jurisdictions::routes(routes);
    let routes = users::routes(routes);
    let routes = meetings::routes(routes);
    let routes = complaints::routes(routes);
    let routes = open311::routes(routes);
    let routes = dashboard::routes(routes);
    let routes = dossiers::routes(routes);
    let routes = payments::routes(routes);
    let routes = simulator::routes(routes);
    let routes = registry::routes(routes);
    let routes = telehealth::routes(routes);
    let routes = fhir::routes(routes);
    let routes = monitor::routes(routes);
    let routes = cameras::routes(routes);
    let routes = kiosks::routes(routes);
    let routes = queue::routes(routes);
    audit_log::routes(routes)
}

/// Every endpoint the core serves, with who may call it.
pub fn endpoints() -> Vec<Endpoint> {
    routes().endpoints().to_vec()
}

/// The core's router, ready to serve.
pub fn app(state: AppState) -> Router {
    let body_limit = state.body_limit;
    let routes = routes();
    let openapi = Arc::new(openapi::document(routes.endpoints()));
    routes
        .into_router()
        .layer(axum::Extension(openapi))
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::authenticate))
        .layer(axum::middleware::from_fn(fhir::outcomes))
        .layer(axum::middleware::from_fn(system::track_metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}
