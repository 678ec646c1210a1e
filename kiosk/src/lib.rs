//! The street kiosk (`docs/kiosk.md`): its offline map of the district (made from OpenStreetMap),
//! walking directions, place search without accents, and the idle reset that wipes a session.
//! The touch interface (Slint) builds on these.

pub mod idle;
pub mod map;
pub mod osm;
pub mod route;
pub mod search;
