//! `q10-kiosk`: the street kiosk's program. So far it checks in with the core as the kiosk's
//! machine account (bearer token) and reports what it sees; the touch UI builds on this client.

use anyhow::Context;
use clap::Parser;
use q10_core_api::{LoginRequest, Me, Readiness, TokenResponse};

/// Check that this kiosk can reach the core and log in with its device account.
#[derive(Debug, Parser)]
#[command(name = "q10-kiosk", version)]
struct Args {
    /// Base URL of the core, e.g. http://127.0.0.1:8080
    #[arg(long, env = "Q10_KIOSK_CORE")]
    core: String,
    /// The kiosk's device account.
    #[arg(long, env = "Q10_KIOSK_USERNAME")]
    username: String,
    /// Its password (prefer the environment variable to the command line).
    #[arg(long, env = "Q10_KIOSK_PASSWORD", hide_env_values = true)]
    password: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let base = args.core.trim_end_matches('/');
    let http = reqwest::Client::new();
    let ready: Readiness =
        http.get(format!("{base}/readyz")).send().await.context("the core does not answer")?.json().await?;
    anyhow::ensure!(ready.ready, "the core is not ready: {:?}", ready.checks);
    let login = LoginRequest { username: args.username, password: args.password };
    let res = http.post(format!("{base}/api/v1/auth/token")).json(&login).send().await?;
    anyhow::ensure!(res.status().is_success(), "login refused: {}", res.text().await.unwrap_or_default());
    let token: TokenResponse = res.json().await?;
    let me: Me = http.get(format!("{base}/api/v1/me")).bearer_auth(&token.access_token).send().await?.json().await?;
    let grants: Vec<String> = me.grants.iter().map(|g| format!("{}@{}", g.role, g.jurisdiction)).collect();
    println!("checked in as {} ({}), token valid until {}", me.username, grants.join(", "), token.expires_at);
    Ok(())
}
