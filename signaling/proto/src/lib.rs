//! Plain serde types of the signaling protocol: the claims of a room join token and the messages
//! of the signaling WebSocket, shared by the server, native clients and tests. The protocol is
//! described for people in `docs/signaling.md`.

use serde::{Deserialize, Serialize};

/// Version of the signaling protocol spoken by this crate.
pub const PROTOCOL_VERSION: u32 = 1;

/// What a participant may do in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    /// Chairs the meeting: may mute, remove, lock and end.
    Host,
    /// May publish audio, video and screen.
    Speaker,
    /// May only subscribe.
    Listener,
    /// A recorder: subscribes to everything, never shown as a participant.
    Recorder,
}

impl ParticipantRole {
    pub const ALL: [ParticipantRole; 4] =
        [ParticipantRole::Host, ParticipantRole::Speaker, ParticipantRole::Listener, ParticipantRole::Recorder];

    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::Host => "host",
            ParticipantRole::Speaker => "speaker",
            ParticipantRole::Listener => "listener",
            ParticipantRole::Recorder => "recorder",
        }
    }

    /// Whether this role may send media.
    pub fn may_publish(self) -> bool {
        matches!(self, ParticipantRole::Host | ParticipantRole::Speaker)
    }
}

impl std::str::FromStr for ParticipantRole {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ParticipantRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown participant role '{s}'; use host, speaker, listener or recorder"))
    }
}

/// The claims of a join token (a JWT signed by the server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinClaims {
    /// Issuer: always "q10".
    pub iss: String,
    /// Audience: always "q10-room".
    pub aud: String,
    /// The participant's identity, stable across reconnections.
    pub sub: String,
    /// Name shown to the others.
    pub name: String,
    /// The room this token admits to.
    pub room: String,
    pub role: ParticipantRole,
    /// The administrative unit (ward or district code) the participant attends for, so a
    /// district-to-ward meeting can call the roll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The room may not be recorded while this participant hosts it (a telehealth call whose
    /// patient did not consent to recording).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_record: bool,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not valid before (Unix seconds).
    pub nbf: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
}

/// The largest signaling message accepted, in bytes. SDP of a large room stays well below it.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// A message from a client to the server over the signaling WebSocket. JSON, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// The first message: who joins, proven by a join token. `room` must match the token's.
    Join {
        /// Protocol version the client speaks; must equal [`PROTOCOL_VERSION`].
        v: u32,
        room: String,
        token: String,
    },
    /// An SDP offer: the first one starts the media session; later ones add or remove media or
    /// restart ICE after a network change.
    Offer {
        sdp: String,
    },
    /// The answer to an offer the server sent.
    Answer {
        sdp: String,
    },
    /// A trickled ICE candidate (the `candidate` attribute value); an empty string ends the trickle.
    Candidate {
        candidate: String,
    },
    /// The most a subscriber wants of a published video: its simulcast layer (rid), or `None`
    /// for the best that fits.
    PreferLayer {
        participant: String,
        mid: String,
        layer: Option<String>,
    },
    /// The client shares its screen on its sending video section `mid`, or stopped (`None`).
    Screen {
        mid: Option<String>,
    },
    /// The client's microphone or camera was muted or unmuted.
    Mute {
        kind: MediaKindName,
        muted: bool,
    },
    /// A chat line, a raised hand or a reaction, shown to the room.
    Chat {
        text: String,
    },
    RaiseHand {
        raised: bool,
    },
    Reaction {
        emoji: String,
    },
    /// The presenter shows page `page` of a meeting document to everyone (`document` is the
    /// core's document id), or stops presenting (`None`). Hosts and speakers only.
    Present {
        document: Option<String>,
        page: u32,
    },
    /// Host controls.
    Moderate {
        action: ModeratorAction,
    },
    /// Keeps the session alive; the server answers with `pong`.
    Ping {
        id: u64,
    },
    Leave,
}

/// Media kinds as named on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKindName {
    Audio,
    Video,
    Screen,
}

/// What a host may do to the room or to a participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModeratorAction {
    /// Asks a participant's client to mute its microphone (it cannot unmute by itself until the
    /// floor is given back).
    Mute {
        participant: String,
    },
    /// Removes a participant; its token no longer admits it to this room for this meeting.
    Remove {
        participant: String,
    },
    /// No one else may join while locked.
    Lock {
        locked: bool,
    },
    /// Only participants with the floor may unmute.
    GiveFloor {
        participant: String,
    },
    TakeFloor {
        participant: String,
    },
    /// Starts or stops recording the room (everyone is told; see `recording`).
    Record {
        on: bool,
    },
    /// Ends the meeting for everyone.
    End,
}

/// A participant as the room lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    /// Stable within the room's life; the same after a reconnection.
    pub id: String,
    pub identity: String,
    pub name: String,
    pub role: ParticipantRole,
    /// The administrative unit the participant attends for, if its token names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub hand_raised: bool,
    /// Whether the participant may speak while the room is moderated.
    pub has_floor: bool,
    /// The publisher's video section that carries its shared screen, while it shares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<String>,
}

/// A published track, so clients can put each incoming stream under the right name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackRef {
    pub participant: String,
    /// The publisher's media section.
    pub mid: String,
    pub kind: String,
    /// Simulcast layers offered.
    pub layers: Vec<String>,
}

/// A TURN server as WebRTC's `RTCIceServer` describes it, with time-limited credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

/// A message from the server to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The join was accepted. `resumed` when this identity was already in the room and the
    /// session continues (the client should restart ICE with its next offer).
    Joined {
        v: u32,
        room: String,
        you: ParticipantInfo,
        participants: Vec<ParticipantInfo>,
        locked: bool,
        resumed: bool,
        /// TURN servers with credentials for this participant, for networks that block UDP to
        /// the media server; absent when the server has none configured.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ice_servers: Vec<IceServer>,
    },
    Answer {
        sdp: String,
    },
    /// The server added or removed media the client receives; reply with `answer`.
    Offer {
        sdp: String,
    },
    /// Which of the client's receiving sections (its `mid`) carries which participant's track.
    TrackMapping {
        mid: String,
        participant: String,
        source_mid: String,
    },
    TrackPublished {
        track: TrackRef,
    },
    TrackUnpublished {
        participant: String,
        mid: String,
    },
    /// The media connection is up.
    Connected,
    ParticipantJoined {
        participant: ParticipantInfo,
    },
    ParticipantUpdated {
        participant: ParticipantInfo,
    },
    ParticipantLeft {
        participant: String,
    },
    ActiveSpeaker {
        participant: Option<String>,
    },
    Chat {
        from: String,
        name: String,
        text: String,
        at: i64,
    },
    Reaction {
        from: String,
        emoji: String,
    },
    /// What everyone should be looking at: a page of a meeting document, or nothing. Also sent
    /// right after `joined` while something is presented.
    Presenting {
        by: String,
        document: Option<String>,
        page: u32,
    },
    RoomLocked {
        locked: bool,
    },
    /// Send only these simulcast layers (rids) of your sending section `mid`: nobody watches the
    /// others. Sent to a publisher whenever the set changes.
    Layers {
        mid: String,
        active: Vec<String>,
    },
    /// The room is being recorded, or no longer; sent to everyone, and right after `joined`
    /// while a recording runs.
    Recording {
        on: bool,
        by: String,
    },
    /// A host asked this client to do something (e.g. mute its microphone).
    Moderated {
        action: ModeratorAction,
        by: String,
    },
    /// The session is over: `reason` says why (left, removed, ended, replaced by a newer
    /// connection of the same identity, media failed).
    Closed {
        reason: CloseReason,
    },
    Pong {
        id: u64,
    },
    /// A request failed; the session goes on unless followed by `closed`.
    Error {
        code: ErrorCode,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Left,
    Removed,
    Ended,
    Replaced,
    MediaFailed,
    Shutdown,
}

/// Machine-readable error codes; `message` says the same for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The message was not JSON, not a known type, or had bad fields.
    BadMessage,
    /// The message was larger than [`MAX_MESSAGE_BYTES`].
    TooLarge,
    UnsupportedVersion,
    /// The join token was missing, malformed, expired, signed by another key, or for another room.
    BadToken,
    /// A message other than `join` came first, or `join` came twice.
    NotJoined,
    RoomLocked,
    Forbidden,
    /// The SDP or candidate was refused by the media server.
    BadSdp,
    UnknownParticipant,
    /// Too many attempts from this address; try again later.
    RateLimited,
    Unavailable,
}

impl ClientMessage {
    /// Parses one message, refusing oversized ones before reading them.
    pub fn parse(text: &str) -> Result<ClientMessage, (ErrorCode, String)> {
        if text.len() > MAX_MESSAGE_BYTES {
            return Err((ErrorCode::TooLarge, format!("messages are limited to {MAX_MESSAGE_BYTES} bytes")));
        }
        serde_json::from_str(text).map_err(|e| (ErrorCode::BadMessage, format!("not a valid message: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_and_write_as_documented() {
        let m = ClientMessage::parse(r#"{"type":"join","v":1,"room":"giao-ban","token":"x.y.z"}"#).unwrap();
        assert_eq!(m, ClientMessage::Join { v: 1, room: "giao-ban".into(), token: "x.y.z".into() });
        let m = ClientMessage::parse(r#"{"type":"moderate","action":{"do":"mute","participant":"p3"}}"#).unwrap();
        assert_eq!(m, ClientMessage::Moderate { action: ModeratorAction::Mute { participant: "p3".into() } });
        let s = serde_json::to_string(&ServerMessage::ActiveSpeaker { participant: Some("p2".into()) }).unwrap();
        assert_eq!(s, r#"{"type":"active_speaker","participant":"p2"}"#);
    }

    #[test]
    fn bad_messages_are_refused_with_a_code() {
        assert_eq!(ClientMessage::parse("not json").unwrap_err().0, ErrorCode::BadMessage);
        assert_eq!(ClientMessage::parse(r#"{"type":"fly"}"#).unwrap_err().0, ErrorCode::BadMessage);
        assert_eq!(ClientMessage::parse(r#"{"type":"ping","id":1,"x":2}"#).unwrap_err().0, ErrorCode::BadMessage);
        let big = format!(r#"{{"type":"chat","text":"{}"}}"#, "a".repeat(MAX_MESSAGE_BYTES));
        assert_eq!(ClientMessage::parse(&big).unwrap_err().0, ErrorCode::TooLarge);
    }
}
