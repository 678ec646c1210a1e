//! Street cameras: where each stands and looks, and the RTSP stream the relay ingests. The
//! stream's URL is accepted with its credentials but never returned with them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::dossier::named_enum;

named_enum! {
    /// How RTSP carries the media: interleaved in the TCP connection, or as separate UDP flows.
    RtspTransport {
        Tcp = "tcp",
        Udp = "udp",
    }
}

named_enum! {
    /// Whether a camera is recorded: never, always, or daily within its schedule.
    RecordingMode {
        Off = "off",
        Continuous = "continuous",
        Scheduled = "scheduled",
    }
}

named_enum! {
    /// What a counting area of a camera's picture is.
    AreaShape {
        /// A polygon: objects standing in it are counted, and a crowd in it can raise an alert.
        Zone = "zone",
        /// A line from its first point to its second: objects crossing it are counted, each once
        /// per direction.
        Line = "line",
    }
}

/// A zone or line in a camera's picture where counting looks closer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CameraArea {
    /// Unique among the camera's areas; 1 to 40 characters. Its counts are kept under it.
    pub name: String,
    pub shape: AreaShape,
    /// Fractions of the picture, 0 to 1, `[x, y]` with x to the right and y down: 3 to 32 corners
    /// of a zone in order around it, or the two ends of a line. A line counts objects crossing to
    /// the side its direction turned clockwise points to as `forward` (a line drawn left to right
    /// counts objects going down the picture as forward), the other way as `back`.
    pub points: Vec<[f64; 2]>,
    /// For a zone: a crowd alert when at least this many people stand in it for the configured
    /// time (`[counting] crowd_seconds`).
    pub crowd_people: Option<u32>,
}

named_enum! {
    /// How a relayed camera's stream is doing.
    CameraLink {
        /// Being reached, for the first time or again after a drop.
        Connecting = "connecting",
        /// Frames are arriving.
        Up = "up",
        /// Not reachable, or silent; tried again after a pause.
        Down = "down",
    }
}

/// How a relayed camera is doing, as its ingest last reported.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CameraHealth {
    pub state: CameraLink,
    /// In this state since.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    /// Frames a second.
    pub fps: f64,
    /// Bits a second.
    pub bitrate: f64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_keyframe_at: Option<OffsetDateTime>,
    /// Why it is down: `bad_url`, `unreachable`, `no_h264`, `stream_error`, `ended` or `silent`.
    pub fault: Option<String>,
}

/// A camera to register.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCamera {
    /// A short name unique in the district: letters, digits, `-`, `_` and `.`, 1 to 64.
    pub code: String,
    pub name: String,
    /// The ward (or the district) it stands in.
    pub unit_code: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Where it looks, in degrees clockwise from north.
    pub heading: Option<f64>,
    /// `rtsp://` or `rtsps://` URL of its stream; it may carry `user:password@`.
    pub source: String,
    /// `tcp` unless given.
    pub transport: Option<RtspTransport>,
    /// True unless given.
    pub enabled: Option<bool>,
    /// `continuous` unless given.
    pub recording: Option<RecordingMode>,
    /// For `scheduled` recording: `HH:MM-HH:MM` in Vietnam time (it may run past midnight).
    pub schedule: Option<String>,
    /// Hours its footage is kept: 1 to 2160 (90 days); 168 (a week) unless given.
    pub retention_hours: Option<i64>,
    /// Zones and lines counted in, at most 16; none unless given.
    pub areas: Option<Vec<CameraArea>>,
}

/// Changes to a camera: only the fields given change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CameraChange {
    pub name: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub heading: Option<f64>,
    /// A new stream URL, credentials included.
    pub source: Option<String>,
    pub transport: Option<RtspTransport>,
    pub enabled: Option<bool>,
    pub recording: Option<RecordingMode>,
    /// `HH:MM-HH:MM` in Vietnam time; an empty string removes it.
    pub schedule: Option<String>,
    pub retention_hours: Option<i64>,
    /// The camera's zones and lines, all of them (an empty list removes them).
    pub areas: Option<Vec<CameraArea>>,
}

/// A registered camera. `source` is its stream's URL without user name and password;
/// `has_credentials` says whether the stored one carries them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Camera {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub unit_code: String,
    pub unit_name: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub heading: Option<f64>,
    pub source: String,
    pub has_credentials: bool,
    pub transport: RtspTransport,
    pub enabled: bool,
    pub recording: RecordingMode,
    /// When `scheduled` recording runs: `HH:MM-HH:MM`, Vietnam time.
    pub schedule: Option<String>,
    /// Hours its footage is kept.
    pub retention_hours: i64,
    /// Zones and lines counted in.
    pub areas: Vec<CameraArea>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// How its stream is doing; none until the relay has tried it, or while it is switched off.
    pub health: Option<CameraHealth>,
    /// What counting sees now (the last minute counted, within the last two); in the list only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<CameraNow>,
}

/// A camera's latest minute of counts, for a badge on the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CameraNow {
    #[serde(with = "time::serde::rfc3339")]
    pub minute: OffsetDateTime,
    /// People in view on average over the minute.
    pub people: f64,
    /// Vehicles of every kind in view on average.
    pub vehicles: f64,
}

/// The room a camera's viewers join: the name its watch tokens are minted for.
pub fn camera_room(id: i64) -> String {
    format!("camera-{id}")
}

/// Leave to watch a camera live: a short-lived token for its WHEP endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CameraWatch {
    pub camera_id: i64,
    /// Where to send the WHEP offer (`POST`, `application/sdp`), relative to the server.
    pub whep: String,
    /// The bearer token for `whep`.
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What counting saw on a camera in one minute, for one kind of object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CameraCount {
    /// The minute's start.
    #[serde(with = "time::serde::rfc3339")]
    pub minute: OffsetDateTime,
    /// `person`, `bicycle`, `car`, `motorcycle`, `bus` or `truck`.
    pub kind: String,
    /// Frames analysed in the minute.
    pub frames: i64,
    /// Objects in view on average over those frames (occupancy).
    pub mean: f64,
    /// The most in view at once.
    pub peak: i64,
    /// Objects seen for the first time in the minute (each counted once while it stays in view).
    pub appeared: i64,
}

/// What counting saw in one of a camera's areas in one minute, for one kind of object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CameraAreaCount {
    /// The area's name.
    pub area: String,
    /// The minute's start.
    #[serde(with = "time::serde::rfc3339")]
    pub minute: OffsetDateTime,
    /// `person`, `bicycle`, `car`, `motorcycle`, `bus` or `truck`.
    pub kind: String,
    /// Frames analysed in the minute.
    pub frames: i64,
    /// In a zone: objects standing in it on average over those frames (occupancy).
    pub mean: f64,
    /// In a zone: the most in it at once.
    pub peak: i64,
    /// Over a line: objects that crossed it forward in the minute.
    pub forward: i64,
    /// Over a line: and back.
    pub back: i64,
}

/// One segment file of a camera's footage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FootageSegment {
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ended_at: OffsetDateTime,
    pub bytes: i64,
}
