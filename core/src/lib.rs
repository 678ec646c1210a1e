//! The core service: jurisdictions, accounts, roles, sessions, the audit log, meetings,
//! complaints (with Open311), online dossiers, payments, the civil-status registry, the dashboard's figures, and the HTTP API over them. It knows nothing of WebRTC.

pub mod account;
pub mod apikey;
pub mod audit;
pub mod auth;
pub mod camera;
pub mod clock;
pub mod complaint;
pub mod crypto;
pub mod demo;
pub mod dossier;
pub mod error;
pub mod feed;
pub mod fiware;
pub mod footage;
pub mod http;
pub mod jurisdiction;
pub mod kiosk;
pub mod meeting;
pub mod monitor;
pub mod mqtt;
pub mod outbox;
pub mod payment;
pub mod queue;
pub mod registry;
pub mod secrets;
pub mod store;
pub mod telehealth;

pub use error::{Error, Result};
