//! `q10 serve`: the composition root. Reads the settings, opens the database and keys, wires the
//! roles this process runs into one HTTP listener, and shuts down gracefully on SIGTERM/SIGINT.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use q10_core::clock::SystemClock;
use q10_core::http::AppState;
use q10_core::secrets::Secrets;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::commands::open_store;
use crate::config::{Config, ServiceRole};
use crate::telemetry;

pub async fn run(config: Config) -> anyhow::Result<()> {
    telemetry::init_logs(config.log_format);
    let metrics = telemetry::init_metrics()?;
    config.sfu.validate().context("invalid sfu settings")?;
    std::fs::create_dir_all(&config.data)
        .with_context(|| format!("cannot create the data directory {}", config.data.display()))?;
    let secrets = Secrets::load_or_generate(&config.secrets_dir()).context("cannot load the secret keys")?;

    let roles: Vec<String> = match config.role {
        ServiceRole::All => ["core", "signaling", "sfu"].map(String::from).to_vec(),
        role => vec![role.as_str().to_string()],
    };
    config.footage.validate().context("invalid footage settings")?;
    let mut store = None;
    // The core's state, for the camera supervisor, when this process also runs the SFU.
    let mut cameras = None;
    // Cameras are ingested, and so recorded, where the core and the SFU share a process.
    let footage =
        (config.runs(ServiceRole::Core) && config.runs(ServiceRole::Sfu)).then(|| config.footage.folder(&config.data));
    let app = if config.runs(ServiceRole::Core) {
        let s = open_store(&config).await?;
        if config.demo {
            let accounts =
                q10_core::demo::load(&s, &secrets.audit, &config.data, time::OffsetDateTime::now_utc()).await?;
            print_demo_accounts(&accounts);
        }
        let outbound = Arc::new(config.outbound()?);
        let outbox_wake = Arc::new(tokio::sync::Notify::new());
        let worker = q10_core::outbox::Worker::new(
            s.clone(),
            outbound.clone(),
            secrets.data_encryption.clone(),
            Arc::new(SystemClock),
        );
        tokio::spawn(q10_core::outbox::run(worker, std::time::Duration::from_secs(5), outbox_wake.clone()));
        let state = AppState {
            store: s.clone(),
            secrets: secrets.clone(),
            policy: config.auth_policy(),
            clock: Arc::new(SystemClock),
            metrics: Some(metrics.clone()),
            roles: roles.clone(),
            secure_cookies: config.auth.secure_cookies,
            body_limit: config.body_limit,
            room_tokens: Some(Arc::new(crate::meetings::MeetingTokens(q10_signaling::JoinTokens::new(
                secrets.token_signing.clone(),
            )))),
            wards: Default::default(),
            feed: Default::default(),
            outbound,
            outbox_wake,
            payments: Arc::new(config.payments().context("invalid payment settings")?),
            footage: footage.clone(),
        };
        tokio::spawn(q10_core::payment::run_reconciler(state.clone(), Duration::from_secs(60)));
        tokio::spawn(q10_core::telehealth::run_reminders(state.clone()));
        tokio::spawn(q10_core::monitor::run_overdue_watch(state.clone()));
        // Cameras are ingested where the core and the SFU share a process (below).
        if config.runs(ServiceRole::Sfu) {
            cameras = Some(state.clone());
        }
        if let Some(mqtt) = config.mqtt().context("invalid MQTT settings")? {
            tokio::spawn(q10_core::mqtt::run(state.clone(), mqtt));
        }
        // A core without signaling in its process hears of the rooms over NATS.
        if !config.runs(ServiceRole::Signaling)
            && let Some(nats) = &config.cluster.nats
        {
            crate::meetings::record_attendance_from_nats(nats, s.clone()).await?;
        }
        store = Some(s);
        q10_core::http::app(state).merge(q10_ui::router())
    } else {
        role_router(roles.clone(), metrics.clone())
    };

    let app = if config.runs(ServiceRole::Signaling) || config.runs(ServiceRole::Sfu) {
        // The media engine runs in the process that signals for it; the two talk in memory.
        let mut media = config.sfu.clone();
        if media.recordings.is_none() {
            media.recordings = Some(q10_sfu::record::default_root(&config.data));
        }
        let sfu = q10_sfu::SfuHandle::start(&media).await.context("cannot start the media server")?;
        if let Some(state) = cameras.take() {
            let recording = match &footage {
                Some(root) => {
                    std::fs::create_dir_all(root)
                        .with_context(|| format!("cannot create the footage folder {}", root.display()))?;
                    crate::footage::recover(&state, root.clone()).await;
                    let (done, segments) = tokio::sync::mpsc::unbounded_channel();
                    tokio::spawn(crate::footage::run(state.clone(), config.footage.clone(), root.clone(), segments));
                    let segment = Duration::from_secs(config.footage.segment_seconds);
                    Some(crate::footage::Recording { root: root.clone(), segment, done })
                }
                None => None,
            };
            tokio::spawn(crate::cameras::run(state, sfu.clone(), config.counting.clone(), recording));
        }
        let tokens = q10_signaling::JoinTokens::new(secrets.token_signing.clone());
        // Attendance goes straight to the core's store when the core runs in this process.
        let observer = match (&store, &config.cluster.nats) {
            (Some(s), _) => Some(crate::meetings::attendance_feed(s.clone()).await?),
            (None, Some(nats)) => Some(crate::meetings::attendance_over_nats(nats).await?),
            (None, None) => {
                tracing::warn!("the core runs elsewhere and cluster.nats is unset: meeting attendance is not recorded");
                None
            }
        };
        let settings = q10_signaling::SignalingConfig {
            joins_per_minute: config.signaling.joins_per_minute,
            trusted_proxies: config.signaling.trusted_proxies.clone(),
            turn: turn(&config.turn)?,
            ..q10_signaling::SignalingConfig::default()
        };
        let signaling = q10_signaling::Signaling::new(tokens, sfu, settings, observer);
        app.merge(q10_signaling::router(signaling))
    } else {
        app
    };

    let listener = TcpListener::bind(config.http).await.with_context(|| format!("cannot listen on {}", config.http))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, roles = ?roles, "serving");
    println!("Q10 is ready at http://{addr}/");

    let stop = Arc::new(Notify::new());
    let server =
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown({
            let stop = stop.clone();
            async move {
                shutdown_signal().await;
                tracing::info!("shutting down: finishing requests in flight");
                stop.notify_one();
            }
        });
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    tokio::select! {
        result = server => result.context("the HTTP server failed")?,
        _ = async { stop.notified().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(seconds = grace.as_secs(), "requests still in flight after the grace period; stopping anyway");
        }
    }
    if let Some(store) = store {
        store.close().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// The TURN servers to hand out, with their secret read from its file.
fn turn(settings: &crate::config::TurnSettings) -> anyhow::Result<Option<Arc<q10_signaling::Turn>>> {
    if settings.urls.is_empty() {
        return Ok(None);
    }
    let path = settings.secret_file.as_ref().context("turn.secret_file is required when turn.urls is set")?;
    let secret = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the TURN secret from {}", path.display()))?;
    let ttl = time::Duration::hours(i64::from(settings.ttl_hours));
    let turn = q10_signaling::Turn::new(settings.urls.clone(), secret.trim().to_string().into(), ttl)
        .map_err(|e| anyhow::anyhow!("invalid turn settings: {e}"))?;
    Ok(Some(Arc::new(turn)))
}

/// Health, readiness and metrics for a process that runs no core.
fn role_router(roles: Vec<String>, metrics: PrometheusHandle) -> Router {
    let health = q10_core_api::Health { status: "ok".into(), roles, version: env!("CARGO_PKG_VERSION").into() };
    let ready = q10_core_api::Readiness { ready: true, checks: vec![] };
    Router::new()
        .route("/healthz", get(move || async move { axum::Json(health) }))
        .route("/readyz", get(move || async move { axum::Json(ready) }))
        .route("/metrics", get(move || async move { metrics.render() }))
}

fn print_demo_accounts(accounts: &[q10_core::demo::DemoAccount]) {
    println!("Demo accounts (demo use only; also in the data directory, {}):", q10_core::demo::ACCOUNTS_FILE);
    for a in accounts {
        println!("  {:<20} {:<18} {:<7} {}", a.username, a.role.as_str(), a.jurisdiction, a.password);
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
