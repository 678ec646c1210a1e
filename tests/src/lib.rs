//! Test harness: fresh databases of both engines, a core served on a real loopback socket, and an
//! HTTP client for it.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (an account allowed to create databases); each test
//! gets a database of its own, dropped afterwards. Without the variable the PostgreSQL half of a
//! test is skipped with a note, except under CI (`CI` set), where it fails. [`camera`] runs the
//! test street camera.

pub mod camera;

use std::net::SocketAddr;
use std::sync::Arc;

use std::collections::BTreeMap;

use q10_core::clock::{Clock, ManualClock, SystemClock};
use q10_core::http::AppState;
use q10_core::outbox::Outbound;
use q10_core::secrets::Secrets;
use q10_core::store::Store;
use q10_core_api::{Problem, Role, TokenResponse};
use rand::RngCore;
use reqwest::StatusCode;
use secrecy::SecretSlice;
use serde_json::json;
use sqlx::Connection;

/// Runs each named async test body, `fn(Engine)`, once per engine: `sqlite::name` and
/// `postgres::name`. The calling file imports `Engine`.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Engine::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Engine::Postgres).await })*
        }
    };
}

/// Which engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A fresh, empty database; removed when dropped.
pub struct TestDb {
    pub url: String,
    pub engine: Engine,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// A new database of `engine`, or `None` if PostgreSQL is not configured outside CI.
    pub async fn new(engine: Engine) -> Option<TestDb> {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("q10.db").display());
                Some(TestDb { url, engine, _dir: Some(dir), pg: None })
            }
            Engine::Postgres => {
                let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
                    assert!(
                        std::env::var_os("CI").is_none(),
                        "TEST_DATABASE_URL must name a PostgreSQL server in CI (tests/run sets it)"
                    );
                    eprintln!("note: TEST_DATABASE_URL is not set; skipping the PostgreSQL half of this test");
                    return None;
                };
                let name = format!("q10_test_{}_{:08x}", std::process::id(), rand::rng().next_u32());
                let mut conn = sqlx::PgConnection::connect(&admin).await.expect("TEST_DATABASE_URL answers");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("CREATE DATABASE");
                conn.close().await.ok();
                let url = with_database(&admin, &name);
                Some(TestDb { url, engine, _dir: None, pg: Some((admin, name)) })
            }
        }
    }

    /// Opens the store and applies the migrations.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url).await.expect("the test database opens");
        store.migrate().await.expect("migrations apply");
        store
    }
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg.take() else {
            return;
        };
        // Drop runs outside any runtime we may block on: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await;
                }
            })
        })
        .join();
    }
}

/// Fresh random keys.
/// The VNPay hash secret the test servers' simulated merchant account uses.
pub const TEST_VNPAY_SECRET: &[u8] = b"test-vnpay-hash-secret-0123456789";
/// The secret the test servers' simulated bank signs credit notices with.
pub const TEST_BANK_SECRET: &[u8] = b"test-bank-notice-secret-0123456789";

pub fn test_secrets() -> Secrets {
    let key = |_: u8| {
        let mut b = vec![0u8; 32];
        rand::rng().fill_bytes(&mut b);
        SecretSlice::from(b)
    };
    Secrets { token_signing: key(0), data_encryption: key(1), audit: q10_core::audit::AuditKey(key(2)) }
}

/// A core served on 127.0.0.1 with a port of its own.
pub struct Server {
    pub base: String,
    pub state: AppState,
    task: tokio::task::JoinHandle<()>,
    /// The footage folder, removed with the server.
    _footage: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Stands in for the signaling key in API tests: the "token" spells out the grant, so tests can
/// check what the core asked for (`room|identity|role|unit`, and `|no-record` when the holder
/// may not record). Real tokens are covered by the signaling crate and the browser
/// tests, which go through `q10 serve`.
pub struct GrantEcho;

impl q10_core::meeting::RoomTokens for GrantEcho {
    fn mint(&self, g: &q10_core::meeting::RoomGrant, _now: time::OffsetDateTime) -> anyhow::Result<String> {
        let role = match (g.host, g.listen_only) {
            (true, _) => "host",
            (false, true) => "listener",
            (false, false) => "speaker",
        };
        let token = format!("{}|{}|{}|{}", g.room, g.identity, role, g.unit.as_deref().unwrap_or("-"));
        Ok(if g.record { token } else { format!("{token}|no-record") })
    }
}

impl Server {
    /// Serves the core on `store` with the system clock.
    pub async fn start(store: Store) -> Server {
        Server::start_with_clock(store, Arc::new(SystemClock)).await
    }

    pub async fn start_with_clock(store: Store, clock: Arc<dyn Clock>) -> Server {
        Server::start_full(store, clock, Outbound::default()).await
    }

    /// Serves the core with a clock and outbound destinations of the test's choosing. Payments go
    /// through this server's simulators, with [`TEST_VNPAY_SECRET`] and [`TEST_BANK_SECRET`].
    pub async fn start_full(store: Store, clock: Arc<dyn Clock>, outbound: Outbound) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("bound address");
        let footage = tempfile::tempdir().expect("a footage folder");
        let state = AppState {
            store,
            secrets: test_secrets(),
            policy: Default::default(),
            clock,
            metrics: None,
            roles: vec!["core".into()],
            secure_cookies: false,
            body_limit: 64 * 1024,
            room_tokens: Some(Arc::new(GrantEcho)),
            wards: Default::default(),
            feed: Default::default(),
            outbound: Arc::new(outbound),
            outbox_wake: Default::default(),
            payments: Arc::new(q10_core::payment::Settings::simulated(
                &format!("http://{addr}"),
                secrecy::SecretSlice::from(TEST_VNPAY_SECRET.to_vec()),
                secrecy::SecretSlice::from(TEST_BANK_SECRET.to_vec()),
            )),
            footage: Some(footage.path().to_path_buf()),
        };
        let app = q10_core::http::app(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .expect("the test server runs");
        });
        Server { base: format!("http://{addr}"), state, task, _footage: footage }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// A served core with the demo loaded, and the demo accounts' passwords.
pub struct Demo {
    pub server: Server,
    pub passwords: BTreeMap<Role, (String, String)>,
    pub http: reqwest::Client,
}

/// A fresh database of `engine` with the demo loaded and served; `None` where the engine is not
/// available (PostgreSQL outside CI).
pub async fn demo_for(engine: Engine) -> Option<(TestDb, Demo)> {
    let db = TestDb::new(engine).await?;
    let demo = demo_with(db.store().await, None, Default::default()).await;
    Some((db, demo))
}

pub async fn demo_with(store: Store, clock: Option<Arc<ManualClock>>, outbound: Outbound) -> Demo {
    let clock: Arc<dyn Clock> = match clock {
        Some(c) => c,
        None => Arc::new(SystemClock),
    };
    let server = Server::start_full(store, clock, outbound).await;
    let dir = tempfile::tempdir().unwrap();
    let now = server.state.now();
    let accounts = q10_core::demo::load(&server.state.store, &server.state.secrets.audit, dir.path(), now)
        .await
        .expect("demo data loads");
    let passwords = accounts.into_iter().map(|a| (a.role, (a.username, a.password))).collect();
    Demo { server, passwords, http: reqwest::Client::new() }
}

impl Demo {
    pub async fn token(&self, role: Role) -> String {
        let (user, password) = &self.passwords[&role];
        let res = self
            .http
            .post(self.server.url("/api/v1/auth/token"))
            .json(&json!({ "username": user, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "login of {user}");
        res.json::<TokenResponse>().await.unwrap().access_token
    }

    pub fn get(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http.get(self.server.url(path)).bearer_auth(token)
    }

    /// GETs `path` with the token and reads the JSON answer, whatever its status.
    pub async fn get_json(&self, path: &str, token: &str) -> serde_json::Value {
        self.get(path, token).send().await.expect("the server answers").json().await.expect("a JSON answer")
    }

    pub fn post(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http.post(self.server.url(path)).bearer_auth(token)
    }
}

/// Reads a problem+json answer, checking its shape.
pub async fn problem(res: reqwest::Response) -> (StatusCode, Problem) {
    let status = res.status();
    let ct = res.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_string();
    assert_eq!(ct, "application/problem+json", "errors are problem+json");
    let p: Problem = res.json().await.unwrap();
    assert_eq!(p.status, status.as_u16());
    (status, p)
}
