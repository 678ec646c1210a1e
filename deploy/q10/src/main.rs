//! `q10`: the one binary. `q10 serve` runs the whole system in one process, or one role of a
//! cluster; the other subcommands administer a data directory or database.

mod cameras;
mod commands;
mod config;
mod counts;
mod footage;
mod meetings;
mod serve;
mod telemetry;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use q10_core_api::Role;
use q10_signaling_proto::ParticipantRole;

use crate::config::{LogFormat, Overrides, ServiceRole};

/// Q10: real-time communications and civic services for a district.
#[derive(Debug, Parser)]
#[command(name = "q10", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// A config file (TOML); ./q10.toml is read when present.
    #[arg(long, global = true, env = "Q10_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the system: everything in one process (embedded SQLite), or one role of a cluster.
    Serve(ServeArgs),
    /// Apply database migrations, then exit.
    Migrate(StoreArgs),
    /// Manage staff and device accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Mint a room join token.
    Token(TokenArgs),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage administrative units (reference data).
    #[command(subcommand)]
    Jurisdictions(JurisdictionCommand),
    /// Manage the API keys of Open311 clients.
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// Create a key; it is printed once and kept only as a hash.
    Create {
        /// A name for the client it is given to.
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List keys (names and prefixes, never the keys).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key by name.
    Revoke {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, clap::Args)]
struct StoreArgs {
    #[command(flatten)]
    overrides: Overrides,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    overrides: Overrides,
    /// Load the demo district, its 15 wards and an account for every role (passwords printed).
    #[arg(long)]
    demo: bool,
    /// Run only this part of the system [default: all]
    #[arg(long, value_enum)]
    role: Option<ServiceRole>,
    /// Log lines as text or JSON [default: text]
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
    /// The UDP address all media arrives on [default: 127.0.0.1:50000]; port 0 picks a free one
    #[arg(long, value_name = "ADDR")]
    media_udp: Option<std::net::SocketAddr>,
    /// The IP address announced to peers when the server sits behind 1:1 NAT
    #[arg(long, value_name = "IP")]
    public_ip: Option<std::net::IpAddr>,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from standard input with --password-stdin,
    /// otherwise generated and printed once.
    Add {
        username: String,
        /// Name shown in the UI.
        #[arg(long)]
        name: String,
        /// Role to grant.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Code of the jurisdiction the role applies to (and the units below it).
        #[arg(long)]
        jurisdiction: String,
        /// A machine account (a kiosk), not a person.
        #[arg(long)]
        device: bool,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable an account and end its sessions.
    Disable {
        username: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, clap::Args)]
struct TokenArgs {
    /// Room to admit to.
    #[arg(long)]
    room: String,
    /// Participant identity, stable across reconnections.
    #[arg(long)]
    identity: String,
    /// Name shown to the others [default: the identity]
    #[arg(long)]
    name: Option<String>,
    /// host, speaker, listener or recorder.
    #[arg(long, default_value = "speaker")]
    role: ParticipantRole,
    /// Administrative unit code the participant attends for (shown in a meeting's roll call).
    #[arg(long)]
    unit: Option<String>,
    /// How long the token is valid, e.g. 30m, 1h, 2d (at most 7 days).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    ttl: std::time::Duration,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain; exit with status 1 if any row was edited, inserted or removed.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum JurisdictionCommand {
    /// Load units from a GeoJSON FeatureCollection (see docs/jurisdictions.md).
    Import {
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the units valid on a day.
    List {
        /// The day (YYYY-MM-DD) [default: today]
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse().map_err(|e: q10_core_api::UnknownRole| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime starts");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let file = cli.config.as_deref();
    let load = |o: &Overrides| config::Config::load(file, o);
    match cli.command {
        Command::Serve(args) => {
            let mut config = load(&args.overrides)?;
            if args.demo {
                config.demo = true;
            }
            if let Some(role) = args.role {
                config.role = role;
            }
            if let Some(format) = args.log_format {
                config.log_format = format;
            }
            if let Some(udp) = args.media_udp {
                config.sfu.udp = udp;
            }
            if let Some(ip) = args.public_ip {
                config.sfu.public_ip = Some(ip);
            }
            serve::run(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(s) => commands::migrate(load(&s.overrides)?).await,
        Command::User(UserCommand::Add { username, name, role, jurisdiction, device, password_stdin, store }) => {
            let new = commands::NewAccount { username, name, role, jurisdiction, device, password_stdin };
            commands::user_add(load(&store.overrides)?, new).await
        }
        Command::User(UserCommand::List { store }) => commands::user_list(load(&store.overrides)?).await,
        Command::User(UserCommand::Disable { username, store }) => {
            commands::user_disable(load(&store.overrides)?, &username).await
        }
        Command::Token(t) => {
            let name = t.name.unwrap_or_else(|| t.identity.clone());
            let request = q10_signaling::NewJoinToken {
                room: t.room,
                identity: t.identity,
                name,
                role: t.role,
                unit: t.unit,
                ttl: time::Duration::try_from(t.ttl).map_err(|_| anyhow::anyhow!("ttl out of range"))?,
                no_record: false,
            };
            commands::token(load(&t.store.overrides)?, request)
        }
        Command::Audit(AuditCommand::Verify { store }) => commands::audit_verify(load(&store.overrides)?).await,
        Command::Jurisdictions(JurisdictionCommand::Import { file, store }) => {
            commands::jurisdictions_import(load(&store.overrides)?, &file).await
        }
        Command::Apikey(ApiKeyCommand::Create { name, store }) => {
            commands::apikey_create(load(&store.overrides)?, &name).await
        }
        Command::Apikey(ApiKeyCommand::List { store }) => commands::apikey_list(load(&store.overrides)?).await,
        Command::Apikey(ApiKeyCommand::Revoke { name, store }) => {
            commands::apikey_revoke(load(&store.overrides)?, &name).await
        }
        Command::Jurisdictions(JurisdictionCommand::List { at, store }) => {
            commands::jurisdictions_list(load(&store.overrides)?, at.as_deref()).await
        }
    }
}
