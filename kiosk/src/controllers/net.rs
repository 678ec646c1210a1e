//! Talking to the core off the interface's thread: a request runs on a thread of its own with a
//! small runtime, and its answer comes back to the interface's thread.

use std::future::Future;

/// An HTTP client that gives up after 10 s.
pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()
}

/// Runs `ask` on a thread of its own, then `then` with its answer on the interface's thread. When
/// no runtime can be made (the machine out of threads), `then` is not called and the error is
/// logged.
pub fn on_thread<T, F, Fut, G>(ask: F, then: G)
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    G: FnOnce(T) + Send + 'static,
{
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("cannot start a runtime to reach the core: {e}");
                return;
            }
        };
        let answer = rt.block_on(ask());
        if let Err(e) = slint::invoke_from_event_loop(move || then(answer)) {
            eprintln!("the answer came after the window closed: {e}");
        }
    });
}

/// The kiosk's machine account at the core. Its password stays out of `Debug`.
#[derive(Clone)]
pub struct Account {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account").field("username", &self.username).finish_non_exhaustive()
    }
}

/// The kiosk signed in at the core: logs in when it first needs a token and again when the core
/// no longer takes the one it has.
#[derive(Debug)]
pub struct Session {
    pub core: String,
    account: Account,
    token: std::sync::Mutex<Option<String>>,
}

impl Session {
    pub fn new(core: &str, account: Account) -> Session {
        Session { core: core.trim_end_matches('/').to_string(), account, token: Default::default() }
    }

    pub async fn token(&self, http: &reqwest::Client) -> anyhow::Result<String> {
        if let Some(t) = self.token.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(t);
        }
        let login = q10_core_api::LoginRequest {
            username: self.account.username.clone(),
            password: self.account.password.clone(),
        };
        let res = http.post(format!("{}/api/v1/auth/token", self.core)).json(&login).send().await?;
        anyhow::ensure!(res.status().is_success(), "the core refused the kiosk's login ({})", res.status());
        let token = res.json::<q10_core_api::TokenResponse>().await?.access_token;
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        Ok(token)
    }

    /// The core said 401: log in again next time.
    pub fn forget(&self) {
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// `req` sent as the kiosk when it has an account and can sign in, so that the core records what
/// came from a kiosk; otherwise as anyone on the street would send it.
pub async fn as_kiosk(
    session: Option<&Session>,
    http: &reqwest::Client,
    req: reqwest::RequestBuilder,
) -> reqwest::RequestBuilder {
    match session {
        Some(s) => match s.token(http).await {
            Ok(token) => req.bearer_auth(token),
            Err(_) => req,
        },
        None => req,
    }
}
