//! Street kiosks as a fleet (heartbeat, settings, screenshots) and their calls to the officer on
//! duty.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// The state of a kiosk's receipt printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    /// No printer is configured.
    None,
    Ready,
    NoPaper,
    /// Configured but not answering.
    Offline,
}

impl PrinterState {
    pub fn as_str(self) -> &'static str {
        match self {
            PrinterState::None => "none",
            PrinterState::Ready => "ready",
            PrinterState::NoPaper => "no_paper",
            PrinterState::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<PrinterState> {
        [PrinterState::None, PrinterState::Ready, PrinterState::NoPaper, PrinterState::Offline]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// What a kiosk says of itself every 30 seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskHeartbeat {
    /// The kiosk program's version (1–40 characters).
    pub version: String,
    /// Seconds since the kiosk program started.
    pub uptime_seconds: u64,
    pub printer: PrinterState,
    /// How the kiosk is connected, in a few words (`ethernet`, `wifi -61 dBm`, …; at most 80
    /// characters).
    pub network: String,
}

/// What the operators set for a kiosk; the answer to its heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KioskConfig {
    /// Quiet seconds before the kiosk asks "still there?" and then wipes the session.
    pub idle_seconds: u32,
    /// Languages offered, the first the default (`vi`, `en`).
    pub languages: Vec<String>,
    /// Where the kiosk stands, when set remotely: longitude, latitude.
    pub location: Option<[f64; 2]>,
    /// An operator asked for a screenshot: send one (`PUT /api/v1/kiosk/screenshot`).
    pub screenshot_requested: bool,
}

/// Settings an operator changes; those left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskSettings {
    /// 30 to 3600 seconds.
    #[serde(default)]
    pub idle_seconds: Option<u32>,
    /// One or both of `vi` and `en`, the first the default.
    #[serde(default)]
    pub languages: Option<Vec<String>>,
    /// Longitude, latitude within the district's area.
    #[serde(default)]
    pub location: Option<[f64; 2]>,
}

/// A kiosk as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Kiosk {
    /// The kiosk's machine account.
    pub id: i64,
    pub username: String,
    pub name: String,
    /// The ward it belongs to.
    pub unit_code: String,
    pub unit_name: String,
    /// Heard from within the last 90 seconds.
    pub online: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen_at: Option<OffsetDateTime>,
    pub version: Option<String>,
    pub uptime_seconds: Option<u64>,
    pub printer: Option<PrinterState>,
    pub network: Option<String>,
    pub config: KioskConfig,
    /// When the last screenshot was taken, if there is one.
    #[serde(with = "time::serde::rfc3339::option")]
    pub screenshot_at: Option<OffsetDateTime>,
}

/// Where a kiosk's call to the officer on duty is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KioskCallStatus {
    Ringing,
    Answered,
    Ended,
    /// Nobody answered.
    Missed,
}

impl KioskCallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KioskCallStatus::Ringing => "ringing",
            KioskCallStatus::Answered => "answered",
            KioskCallStatus::Ended => "ended",
            KioskCallStatus::Missed => "missed",
        }
    }

    pub fn parse(s: &str) -> Option<KioskCallStatus> {
        [KioskCallStatus::Ringing, KioskCallStatus::Answered, KioskCallStatus::Ended, KioskCallStatus::Missed]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// A kiosk's call to the officer on duty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KioskCall {
    pub id: i64,
    pub kiosk_id: i64,
    pub kiosk_name: String,
    pub unit_code: String,
    pub unit_name: String,
    pub status: KioskCallStatus,
    /// Who answered.
    pub officer: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
}

/// A call with leave to join its room: for the kiosk that makes it and the officer who answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KioskCallJoin {
    pub call: KioskCall,
    /// The conference room of the call.
    pub room: String,
    /// The join token for the signaling WebSocket (`/rtc/v1`).
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}
