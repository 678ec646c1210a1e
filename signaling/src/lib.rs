//! Rooms and the signaling service. So far: room join tokens, minted by the server (and by
//! `q10 token`) and checked when a participant joins.

pub mod token;

pub use token::{JoinTokenError, JoinTokens, NewJoinToken};
