//! Settings: defaults, then `q10.toml`, then `Q10_*` environment variables, then command-line
//! flags, each overriding the one before.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use q10_sfu::SfuConfig;
use serde::{Deserialize, Serialize};

/// Which parts of the system a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ServiceRole {
    /// Everything: core, signaling and SFU (the default).
    All,
    /// The core HTTP API and the web UI.
    Core,
    /// Rooms and signaling.
    Signaling,
    /// The media plane.
    Sfu,
}

impl ServiceRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceRole::All => "all",
            ServiceRole::Core => "core",
            ServiceRole::Signaling => "signaling",
            ServiceRole::Sfu => "sfu",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Logins and sessions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    pub max_failed_logins: i64,
    pub lockout_minutes: i64,
    pub session_hours: i64,
    pub token_days: i64,
    /// Mark the session cookie Secure (set this when serving over HTTPS).
    pub secure_cookies: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            max_failed_logins: 5,
            lockout_minutes: 15,
            session_hours: 12,
            token_days: 30,
            secure_cookies: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address of the HTTP listener.
    pub http: SocketAddr,
    /// The data directory: the embedded database, generated keys, demo passwords.
    pub data: PathBuf,
    /// A `postgres://` URL for cluster mode; the embedded SQLite database when absent.
    pub database: Option<String>,
    /// Where the secret keys are; `<data>/secrets` when absent.
    pub secrets_dir: Option<PathBuf>,
    /// Load the demo district and accounts.
    pub demo: bool,
    pub role: ServiceRole,
    pub log_format: LogFormat,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// Seconds to let requests in flight finish after SIGTERM or SIGINT.
    pub shutdown_grace_seconds: u64,
    pub auth: AuthSettings,
    pub signaling: SignalingSettings,
    pub turn: TurnSettings,
    pub cluster: ClusterSettings,
    pub sfu: SfuConfig,
    /// Systems that receive events (complaint created or changed, …), such as the city's 1022
    /// portal: each a `[[webhooks]]` table.
    pub webhooks: Vec<WebhookSettings>,
    pub payments: PaymentSettings,
    /// An MQTT broker to take sensor readings from (`[mqtt]`); none when absent.
    pub mqtt: Option<MqttConfig>,
    /// Counting people and vehicles in the cameras (`[counting]`); off when absent.
    pub counting: Option<CountingConfig>,
    /// Where and how camera footage is kept (`[footage]`).
    pub footage: FootageConfig,
}

/// Camera footage (`docs/cameras.md`, "Footage"): segment files under `folder`, removed past
/// each camera's retention period and, oldest first, beyond the disk budget.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FootageConfig {
    /// `<data>/footage` when absent.
    pub folder: Option<PathBuf>,
    /// Seconds of video a segment file holds (cut at the next keyframe).
    pub segment_seconds: u64,
    /// The most disk all footage may take, in gigabytes.
    pub budget_gb: f64,
}

impl Default for FootageConfig {
    fn default() -> Self {
        FootageConfig { folder: None, segment_seconds: 60, budget_gb: 100.0 }
    }
}

impl FootageConfig {
    pub fn folder(&self, data: &std::path::Path) -> PathBuf {
        self.folder.clone().unwrap_or_else(|| data.join("footage"))
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!((2..=3600).contains(&self.segment_seconds), "footage.segment_seconds must be from 2 to 3600");
        anyhow::ensure!(
            self.budget_gb.is_finite() && self.budget_gb > 0.0,
            "footage.budget_gb must be a positive number"
        );
        Ok(())
    }

    pub fn budget_bytes(&self) -> u64 {
        (self.budget_gb * 1e9) as u64
    }
}

/// Counting people and vehicles in street cameras' keyframes (`docs/cameras.md`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountingConfig {
    /// The detector, an ONNX file (YOLOv8/YOLO11- or NanoDet-style outputs).
    pub model: PathBuf,
    /// ONNX Runtime's shared library (`deploy/lib/onnxruntime.sh` installs one).
    pub runtime: PathBuf,
    /// The least time between two analysed frames of a camera (its keyframes set the most).
    #[serde(default = "CountingConfig::default_interval")]
    pub interval_seconds: f64,
    /// Counting threads.
    #[serde(default = "CountingConfig::default_threads")]
    pub threads: usize,
    /// A crowd: this many people in view of one camera …
    #[serde(default = "CountingConfig::default_crowd_people")]
    pub crowd_people: u32,
    /// … for this long raises an alert.
    #[serde(default = "CountingConfig::default_crowd_seconds")]
    pub crowd_seconds: u64,
}

impl CountingConfig {
    fn default_interval() -> f64 {
        2.0
    }
    fn default_threads() -> usize {
        1
    }
    fn default_crowd_people() -> u32 {
        20
    }
    fn default_crowd_seconds() -> u64 {
        60
    }

    pub fn options(&self) -> anyhow::Result<q10_sfu::counting::CountingOptions> {
        anyhow::ensure!(
            self.interval_seconds.is_finite() && (0.1..=3600.0).contains(&self.interval_seconds),
            "counting.interval_seconds must be from 0.1 to 3600"
        );
        anyhow::ensure!((1..=64).contains(&self.threads), "counting.threads must be from 1 to 64");
        anyhow::ensure!(self.crowd_people >= 1, "counting.crowd_people must be at least 1");
        let mut o = q10_sfu::counting::CountingOptions::new(self.model.clone(), self.runtime.clone());
        o.interval = Duration::from_secs_f64(self.interval_seconds);
        o.threads = self.threads;
        Ok(o)
    }
}

/// Sensor readings over MQTT: topics `<topic_prefix>/<sensor code>` on a broker such as Mosquitto.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    pub host: String,
    #[serde(default = "MqttConfig::default_port")]
    pub port: u16,
    /// The session's name at the broker; give each core process its own.
    #[serde(default = "MqttConfig::default_client_id")]
    pub client_id: String,
    #[serde(default = "MqttConfig::default_prefix")]
    pub topic_prefix: String,
    pub username: Option<String>,
    /// A file holding the password (with `username`).
    pub password_file: Option<PathBuf>,
}

impl MqttConfig {
    fn default_port() -> u16 {
        1883
    }
    fn default_client_id() -> String {
        "q10-core".into()
    }
    fn default_prefix() -> String {
        "q10/sensors".into()
    }
}

/// How payments are taken.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentSettings {
    /// Where payers' browsers and the providers reach this server (VNPay's return URL is built
    /// on it); `http://<http>` when unset.
    pub public_url: Option<String>,
    /// The office named on receipts.
    pub office: String,
    /// Serve the VNPay and bank simulators under /sim/ and pay through them where no real
    /// provider is configured. On in the demo unless set to false.
    pub simulator: Option<bool>,
    /// Minutes a VNPay payment may stay silent before it is asked about with querydr.
    pub reconcile_minutes: i64,
    pub vnpay: Option<VnpayConfig>,
    pub vietqr: Option<VietqrConfig>,
    /// A file holding the secret the bank (or its aggregator) signs credit notices with.
    pub bank_secret_file: Option<PathBuf>,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        PaymentSettings {
            public_url: None,
            office: "UBND Quận 10".into(),
            simulator: None,
            reconcile_minutes: 5,
            vnpay: None,
            vietqr: None,
            bank_secret_file: None,
        }
    }
}

/// The merchant account at VNPay.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VnpayConfig {
    pub tmn_code: String,
    /// A file holding the hash secret (vnp_HashSecret).
    pub secret_file: PathBuf,
    #[serde(default = "vnpay_pay_url")]
    pub pay_url: String,
    #[serde(default = "vnpay_api_url")]
    pub api_url: String,
}

fn vnpay_pay_url() -> String {
    "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html".into()
}

fn vnpay_api_url() -> String {
    "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction".into()
}

/// The account VietQR transfers go to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VietqrConfig {
    /// The bank's 6-digit BIN (e.g. 970415).
    pub bin: String,
    pub account: String,
    pub account_name: String,
}

/// One receiver of signed events (Standard Webhooks 1.0).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// A name of your choosing, unique, kept with each queued event.
    pub name: String,
    /// Where events are POSTed.
    pub url: String,
    /// A file holding the signing secret (`whsec_` and base64); events are unsigned without one.
    pub secret_file: Option<PathBuf>,
    /// Event types sent (e.g. `complaint.created`, `complaint.changed`); empty: all.
    #[serde(default)]
    pub events: Vec<String>,
}

/// How roles in separate processes reach each other.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSettings {
    /// The NATS server (with JetStream) that carries events between roles, e.g.
    /// `nats://127.0.0.1:4222`; unset on one machine, where the roles share a process.
    pub nats: Option<String>,
}

/// TURN servers handed to clients whose network blocks UDP to the media server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnSettings {
    /// `turn:` / `turns:` URLs; none means no TURN.
    pub urls: Vec<String>,
    /// A file holding the secret shared with the TURN server (coturn's `static-auth-secret`).
    pub secret_file: Option<PathBuf>,
    /// How long handed-out credentials are valid.
    pub ttl_hours: u32,
}

/// The signaling service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalingSettings {
    /// Join attempts (WebSocket, WHIP, WHEP) allowed per client address per minute.
    pub joins_per_minute: u32,
    /// Reverse proxies in front of q10, whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for SignalingSettings {
    fn default() -> Self {
        SignalingSettings {
            joins_per_minute: q10_signaling::SignalingConfig::default().joins_per_minute,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("q10-data"),
            database: None,
            secrets_dir: None,
            demo: false,
            role: ServiceRole::All,
            log_format: LogFormat::Text,
            body_limit: 1024 * 1024,
            shutdown_grace_seconds: 10,
            auth: AuthSettings::default(),
            signaling: SignalingSettings::default(),
            turn: TurnSettings { ttl_hours: 12, ..TurnSettings::default() },
            cluster: ClusterSettings::default(),
            sfu: SfuConfig::default(),
            webhooks: Vec::new(),
            payments: PaymentSettings::default(),
            mqtt: None,
            counting: None,
            footage: FootageConfig::default(),
        }
    }
}

/// Settings given on the command line; `None` leaves the value to the layers below.
#[derive(Debug, Default, Clone, Serialize, clap::Args)]
pub struct Overrides {
    /// Address of the HTTP listener [default: 127.0.0.1:8080]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<SocketAddr>,
    /// The data directory [default: ./q10-data]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// PostgreSQL URL (postgres://…) for cluster mode [default: SQLite in the data directory]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// The top-level setting names, as read from `Q10_*` variables.
const SETTINGS: [&str; 19] = [
    "http",
    "data",
    "database",
    "secrets_dir",
    "demo",
    "role",
    "log_format",
    "body_limit",
    "shutdown_grace_seconds",
    "auth",
    "signaling",
    "turn",
    "cluster",
    "sfu",
    "webhooks",
    "payments",
    "mqtt",
    "counting",
    "footage",
];

impl Config {
    /// Reads the layers. `file` is the config file named with `--config`; otherwise `q10.toml`
    /// in the working directory is read if it exists.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                anyhow::ensure!(path.exists(), "config file {} does not exist", path.display());
                figment = figment.merge(Toml::file_exact(path));
            }
            None => figment = figment.merge(Toml::file("q10.toml")),
        }
        // Only variables naming a setting are read, so unrelated Q10_* variables do no harm.
        let env = Env::prefixed("Q10_").split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            SETTINGS.iter().any(|s| {
                key.strip_prefix(*s)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with("__"))
            })
        });
        figment = figment.merge(env).merge(Serialized::defaults(overrides));
        let config: Config = figment.extract().context("invalid configuration")?;
        Ok(config)
    }

    pub fn secrets_dir(&self) -> PathBuf {
        self.secrets_dir.clone().unwrap_or_else(|| self.data.join("secrets"))
    }

    /// The database URL, defaulting to SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data.join("q10.db").display()),
        }
    }

    pub fn runs(&self, role: ServiceRole) -> bool {
        self.role == ServiceRole::All || self.role == role
    }

    /// The MQTT broker's settings, with the password read; `None` without `[mqtt]`.
    pub fn mqtt(&self) -> anyhow::Result<Option<q10_core::mqtt::MqttSettings>> {
        let Some(m) = &self.mqtt else { return Ok(None) };
        let prefix = m.topic_prefix.trim_end_matches('/');
        anyhow::ensure!(
            !prefix.is_empty() && !prefix.contains(['+', '#']),
            "mqtt.topic_prefix must be a topic without wildcards"
        );
        anyhow::ensure!(!m.client_id.is_empty(), "mqtt.client_id must not be empty");
        let credentials = match (&m.username, &m.password_file) {
            (Some(user), Some(file)) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("mqtt.password_file: reading {}", file.display()))?;
                Some((user.clone(), secrecy::SecretString::from(text.trim_end().to_string())))
            }
            (None, None) => None,
            _ => anyhow::bail!("mqtt: give both username and password_file, or neither"),
        };
        Ok(Some(q10_core::mqtt::MqttSettings {
            host: m.host.clone(),
            port: m.port,
            client_id: m.client_id.clone(),
            topic_prefix: prefix.to_string(),
            credentials,
        }))
    }

    /// The webhook destinations, with their secrets read.
    pub fn outbound(&self) -> anyhow::Result<q10_core::outbox::Outbound> {
        let mut destinations = Vec::new();
        for w in &self.webhooks {
            anyhow::ensure!(
                w.url.starts_with("https://") || w.url.starts_with("http://"),
                "webhook '{}': the url must be http:// or https://",
                w.name
            );
            anyhow::ensure!(
                !destinations.iter().any(|d: &q10_core::outbox::Destination| d.name == w.name)
                    && w.name != q10_core::outbox::NOTIFY,
                "webhook name '{}' is used twice or reserved",
                w.name
            );
            let secret = match &w.secret_file {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("webhook '{}': cannot read {}", w.name, path.display()))?;
                    Some(
                        q10_core::outbox::parse_secret(&text)
                            .map_err(|e| anyhow::anyhow!("webhook '{}': {e}", w.name))?,
                    )
                }
                None => None,
            };
            destinations.push(q10_core::outbox::Destination {
                name: w.name.clone(),
                url: w.url.clone(),
                secret,
                events: w.events.clone(),
            });
        }
        Ok(q10_core::outbox::Outbound { destinations, ..Default::default() })
    }

    /// The payment providers, with their secrets read. With the simulator on, providers not
    /// configured are simulated, with secrets generated into the secrets directory.
    pub fn payments(&self) -> anyhow::Result<q10_core::payment::Settings> {
        use q10_core::payment::{Settings, VietqrSettings, VnpaySettings};
        let p = &self.payments;
        let public_url = match &p.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None if self.http.ip().is_unspecified() => format!("http://127.0.0.1:{}", self.http.port()),
            None => format!("http://{}", self.http),
        };
        anyhow::ensure!(
            public_url.starts_with("http://") || public_url.starts_with("https://"),
            "payments.public_url must be http:// or https://"
        );
        let read = |path: &PathBuf, what: &str| -> anyhow::Result<secrecy::SecretSlice<u8>> {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("{what}: cannot read {}", path.display()))?;
            let text = text.trim();
            anyhow::ensure!(text.len() >= 16, "{what}: {} holds too short a secret", path.display());
            Ok(secrecy::SecretSlice::from(text.as_bytes().to_vec()))
        };
        let mut settings = if p.simulator.unwrap_or(self.demo) {
            let dir = self.secrets_dir();
            std::fs::create_dir_all(&dir)?;
            let vnpay = q10_core::secrets::key_file(&dir.join("vnpay-simulator.key"))?;
            let bank = q10_core::secrets::key_file(&dir.join("bank-simulator.key"))?;
            Settings::simulated(&public_url, vnpay, bank)
        } else {
            Settings { public_url: public_url.clone(), ..Settings::default() }
        };
        settings.office = p.office.clone();
        settings.reconcile_after = time::Duration::minutes(p.reconcile_minutes.max(1));
        if let Some(v) = &p.vnpay {
            settings.vnpay = Some(VnpaySettings {
                tmn_code: v.tmn_code.clone(),
                hash_secret: read(&v.secret_file, "payments.vnpay.secret_file")?,
                pay_url: v.pay_url.clone(),
                api_url: v.api_url.clone(),
            });
        }
        if let Some(q) = &p.vietqr {
            settings.vietqr = Some(VietqrSettings {
                bin: q.bin.clone(),
                account: q.account.clone(),
                account_name: q.account_name.clone(),
            });
        }
        if let Some(path) = &p.bank_secret_file {
            settings.bank_secret = Some(read(path, "payments.bank_secret_file")?);
        }
        Ok(settings)
    }

    pub fn auth_policy(&self) -> q10_core::auth::AuthPolicy {
        let a = &self.auth;
        q10_core::auth::AuthPolicy {
            max_failed_logins: a.max_failed_logins.max(1),
            lockout: time::Duration::minutes(a.lockout_minutes.max(0)),
            session_ttl: time::Duration::hours(a.session_hours.max(1)),
            token_ttl: time::Duration::days(a.token_days.max(1)),
        }
    }
}
