//! Test harness: fresh databases of both engines, a core served on a real loopback socket, and an
//! HTTP client for it.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (an account allowed to create databases); each test
//! gets a database of its own, dropped afterwards. Without the variable the PostgreSQL half of a
//! test is skipped with a note, except under CI (`CI` set), where it fails.

use std::net::SocketAddr;
use std::sync::Arc;

use q10_core::clock::{Clock, SystemClock};
use q10_core::http::AppState;
use q10_core::secrets::Secrets;
use q10_core::store::Store;
use rand::RngCore;
use secrecy::SecretSlice;
use sqlx::Connection;

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
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Stands in for the signaling key in API tests: the "token" spells out the grant, so tests can
/// check what the core asked for. Real tokens are covered by the signaling crate and the browser
/// tests, which go through `q10 serve`.
pub struct GrantEcho;

impl q10_core::meeting::RoomTokens for GrantEcho {
    fn mint(&self, g: &q10_core::meeting::RoomGrant, _now: time::OffsetDateTime) -> anyhow::Result<String> {
        let role = if g.host { "host" } else { "speaker" };
        Ok(format!("{}|{}|{}|{}", g.room, g.identity, role, g.unit.as_deref().unwrap_or("-")))
    }
}

impl Server {
    /// Serves the core on `store` with the system clock.
    pub async fn start(store: Store) -> Server {
        Server::start_with_clock(store, Arc::new(SystemClock)).await
    }

    pub async fn start_with_clock(store: Store, clock: Arc<dyn Clock>) -> Server {
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
        };
        let app = q10_core::http::app(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("bound address");
        let task = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .expect("the test server runs");
        });
        Server { base: format!("http://{addr}"), state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}
