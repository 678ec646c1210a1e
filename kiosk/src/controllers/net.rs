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

/// Sends the request `make` builds as the kiosk when it has an account and can sign in, so that
/// the core records what came from a kiosk; otherwise as anyone on the street would send it. When
/// the core no longer takes the kiosk's token (it restarted with new keys), the kiosk signs in
/// again and sends the request once more.
pub async fn send_as_kiosk(
    session: Option<&Session>,
    http: &reqwest::Client,
    make: impl Fn() -> reqwest::RequestBuilder,
) -> reqwest::Result<reqwest::Response> {
    let Some(s) = session else { return make().send().await };
    let Ok(token) = s.token(http).await else { return make().send().await };
    let res = make().bearer_auth(token).send().await?;
    if res.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Ok(res);
    }
    s.forget();
    match s.token(http).await {
        Ok(token) => make().bearer_auth(token).send().await,
        Err(_) => make().send().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A core on loopback that has restarted with new keys: it refuses the token `old`, signs the
    /// kiosk in with the token `new`, and takes a ticket sent with it. Returns what it was sent.
    async fn core(listener: tokio::net::TcpListener) -> Vec<String> {
        let mut seen = Vec::new();
        for _ in 0..3 {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let n = conn.read(&mut buf).await.unwrap();
            let request = String::from_utf8_lossy(&buf[..n]).to_lowercase();
            let first = request.lines().next().unwrap_or_default().to_string();
            let (status, body) = if first.starts_with("post /api/v1/auth/token") {
                ("200 OK", r#"{"access_token":"new","token_type":"Bearer","expires_at":"2026-12-05T08:00:00Z"}"#)
            } else if request.contains("authorization: bearer new") {
                ("201 Created", r#"{"number":7}"#)
            } else {
                ("401 Unauthorized", r#"{"title":"Unauthorized","status":401}"#)
            };
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            conn.write_all(head.as_bytes()).await.unwrap();
            conn.write_all(body.as_bytes()).await.unwrap();
            let token = if request.contains("bearer new") { "new" } else { "old" };
            seen.push(format!("{first} {token}"));
        }
        seen
    }

    #[tokio::test]
    async fn a_token_the_core_no_longer_takes_is_replaced_and_the_request_sent_again() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = tokio::spawn(core(listener));
        let account = Account { username: "kiosk.ward1".into(), password: "secret".into() };
        let session = Session::new(&base, account);
        *session.token.lock().unwrap() = Some("old".into());
        let http = client().unwrap();
        let url = format!("{base}/api/v1/queue/tickets");
        let res = send_as_kiosk(Some(&session), &http, || http.post(&url).body("{}")).await.unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        assert_eq!(session.token.lock().unwrap().as_deref(), Some("new"));
        let seen = served.await.unwrap();
        assert_eq!(
            seen,
            [
                "post /api/v1/queue/tickets http/1.1 old",
                "post /api/v1/auth/token http/1.1 old",
                "post /api/v1/queue/tickets http/1.1 new"
            ]
        );
        // The password never left for anywhere but the login.
        assert!(format!("{session:?}").contains("kiosk.ward1") && !format!("{session:?}").contains("secret"));
    }
}
