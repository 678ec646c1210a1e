//! Plain serde types of the signaling protocol. So far: the claims of a room join token. The
//! WebSocket message types join them here, so that servers, native clients and tests share one
//! definition.

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
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not valid before (Unix seconds).
    pub nbf: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
}
