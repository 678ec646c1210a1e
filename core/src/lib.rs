//! The core service: jurisdictions, accounts, roles, sessions, the audit log, and the HTTP API
//! over them. It knows nothing of WebRTC.

pub mod account;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod demo;
pub mod error;
pub mod http;
pub mod jurisdiction;
pub mod meeting;
pub mod secrets;
pub mod store;

pub use error::{Error, Result};
