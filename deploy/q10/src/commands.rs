//! The administrative subcommands. Each opens the configured database (applying migrations) and
//! the keys, does one thing, and records it in the audit log as done from the command line.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use q10_core::audit::Actor;
use q10_core::secrets::Secrets;
use q10_core::store::Store;
use q10_core_api::{AccountKind, Grant, NewUser, Role};
use time::OffsetDateTime;

use crate::config::Config;

/// Opens the database the config names and brings its schema up to date.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    if config.database.is_none() {
        std::fs::create_dir_all(&config.data)
            .with_context(|| format!("cannot create the data directory {}", config.data.display()))?;
    }
    let store = Store::connect(&config.database_url()).await.context("cannot open the database")?;
    store.migrate().await.context("cannot migrate the database")?;
    Ok(store)
}

fn secrets(config: &Config) -> anyhow::Result<Secrets> {
    Secrets::load_or_generate(&config.secrets_dir()).context("cannot load the secret keys")
}

fn cli_actor() -> Actor {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Actor { id: None, name: format!("cli:{who}") }
}

pub async fn migrate(config: Config) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    println!("database is up to date ({:?})", store.backend());
    Ok(ExitCode::SUCCESS)
}

pub struct NewAccount {
    pub username: String,
    pub name: String,
    pub role: Role,
    pub jurisdiction: String,
    pub device: bool,
    pub password_stdin: bool,
}

pub async fn user_add(config: Config, a: NewAccount) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    let keys = secrets(&config)?;
    let (password, generated) = if a.password_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        (s.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        (generate_password(), true)
    };
    let new = NewUser {
        username: a.username,
        display_name: a.name,
        kind: if a.device { AccountKind::Device } else { AccountKind::Person },
        password: password.clone(),
        grants: vec![Grant { role: a.role, jurisdiction: a.jurisdiction }],
    };
    let user =
        q10_core::account::create(&store, &keys.audit, cli_actor(), "cli", &new, OffsetDateTime::now_utc()).await?;
    println!("created account {} (id {})", user.username, user.id);
    if generated {
        println!("password: {password}");
    }
    Ok(ExitCode::SUCCESS)
}

fn generate_password() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 15];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub async fn user_list(config: Config) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    let grants = store.all_grants().await?;
    println!("{:<6} {:<24} {:<8} {:<9} grants", "id", "username", "kind", "state");
    for row in store.users().await? {
        let user = q10_core::account::to_api(&row, &grants);
        let grants: Vec<String> = user.grants.iter().map(|g| format!("{}@{}", g.role, g.jurisdiction)).collect();
        let state = if user.disabled { "disabled" } else { "active" };
        println!("{:<6} {:<24} {:<8} {:<9} {}", user.id, user.username, user.kind.as_str(), state, grants.join(" "));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn user_disable(config: Config, username: &str) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    let keys = secrets(&config)?;
    let username = q10_core::account::Username::parse(username)?;
    let user = store
        .user_by_username(username.as_str())
        .await?
        .with_context(|| format!("no account named {}", username.as_str()))?;
    q10_core::account::disable(&store, &keys.audit, cli_actor(), "cli", user.id, OffsetDateTime::now_utc()).await?;
    println!("disabled {}", user.username);
    Ok(ExitCode::SUCCESS)
}

pub fn token(config: Config, request: q10_signaling::NewJoinToken) -> anyhow::Result<ExitCode> {
    let keys = secrets(&config)?;
    let tokens = q10_signaling::JoinTokens::new(keys.token_signing);
    println!("{}", tokens.mint(&request, OffsetDateTime::now_utc())?);
    Ok(ExitCode::SUCCESS)
}

pub async fn audit_verify(config: Config) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    let keys = secrets(&config)?;
    let v = q10_core::audit::verify(&store, &keys.audit).await?;
    if v.ok {
        println!("audit log intact: {} rows", v.rows);
        Ok(ExitCode::SUCCESS)
    } else {
        println!("audit log BROKEN at row {}: {}", v.first_bad_seq.unwrap_or_default(), v.problem.unwrap_or_default());
        Ok(ExitCode::FAILURE)
    }
}

pub async fn jurisdictions_import(config: Config, file: &Path) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    let keys = secrets(&config)?;
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let r = q10_core::jurisdiction::import(&store, &keys.audit, cli_actor(), "cli", &text, OffsetDateTime::now_utc())
        .await?;
    println!("{} added, {} updated, {} unchanged", r.inserted, r.updated, r.unchanged);
    Ok(ExitCode::SUCCESS)
}

pub async fn jurisdictions_list(config: Config, at: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    let day = match at {
        None => OffsetDateTime::now_utc().date(),
        Some(s) => time::Date::parse(s, &time::format_description::well_known::Iso8601::DEFAULT)
            .context("--at takes a date like 2025-07-01")?,
    };
    for j in store.jurisdictions_at(day, None).await? {
        println!("{:<8} {:<9} {:<8} {} / {}", j.code, j.kind, j.parent_code.unwrap_or_default(), j.name_vi, j.name_en);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn apikey_create(config: Config, name: &str) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    let keys = secrets(&config)?;
    let (info, secret) =
        q10_core::apikey::create(&store, &keys.audit, cli_actor(), name, OffsetDateTime::now_utc()).await?;
    eprintln!("API key '{}' created; it is shown only now:", info.name);
    println!("{secret}");
    Ok(ExitCode::SUCCESS)
}

pub async fn apikey_list(config: Config) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    println!("{:<6} {:<24} {:<10} {:<26} state", "id", "name", "prefix", "created");
    for k in q10_core::apikey::list(&store).await? {
        let created = k.created_at.format(&time::format_description::well_known::Rfc3339)?;
        let state = match k.revoked_at {
            Some(_) => "revoked",
            None => "active",
        };
        println!("{:<6} {:<24} {:<10} {:<26} {state}", k.id, k.name, k.prefix, created);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn apikey_revoke(config: Config, name: &str) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    let keys = secrets(&config)?;
    q10_core::apikey::revoke(&store, &keys.audit, cli_actor(), name, OffsetDateTime::now_utc()).await?;
    println!("revoked {name}");
    Ok(ExitCode::SUCCESS)
}
