//! The street kiosk (`docs/kiosk.md`): its offline map of the district (made from OpenStreetMap),
//! walking directions, place search without accents, the idle reset that wipes a session, and the
//! touch interface (Slint, `ui/`) with its controllers; calling the officer on duty (WebRTC); the
//! demo's map of District 10.

pub mod call;
pub mod camera;
pub mod controllers;
pub mod demo;
pub mod idle;
pub mod map;
pub mod osm;
pub mod print;
pub mod route;
pub mod search;

slint::include_modules!();
