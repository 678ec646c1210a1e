//! Rooms and the signaling service: join tokens ([`token`]), who is in which room ([`rooms`]),
//! and the WebSocket protocol with WHIP and WHEP ([`service`]), in front of the SFU.

pub mod rooms;
pub mod service;
pub mod token;
pub mod turn;

pub use service::{Signaling, SignalingConfig, router};
pub use token::{JoinTokenError, JoinTokens, NewJoinToken};
pub use turn::Turn;

/// Room names travel in URLs (`/whip/{room}`), so they are kept to a plain alphabet.
pub fn check_room_name(room: &str) -> Result<(), String> {
    let ok = (1..=128).contains(&room.len())
        && room.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !room.starts_with('.');
    if ok { Ok(()) } else { Err("a room name is 1 to 128 letters, digits, '-', '_' or '.'".into()) }
}
