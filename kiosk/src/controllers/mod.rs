//! The controllers behind the interface's adapters: one per page, each set up on the window with
//! what it needs. Network work runs off the interface's thread.

pub mod app;
pub mod complaint;
pub mod dossier;
mod net;
pub mod pay;
pub mod places;
mod qr;

use std::rc::Rc;
use std::time::Duration;

use crate::MainWindow;
use crate::map::MapData;

/// What a kiosk is set up with.
#[derive(Debug, Clone)]
pub struct Kiosk {
    pub map: Rc<MapData>,
    /// Where the kiosk stands (longitude, latitude): walks start here.
    pub here: [f64; 2],
    /// The core's base URL, for e-services; none offline.
    pub core: Option<String>,
    /// Quiet time before asking "still there?", and how long the question waits.
    pub idle: Duration,
    pub warn: Duration,
}

/// Wires every controller to `window`. Keep what it returns for as long as the window lives.
pub fn setup(window: &MainWindow, kiosk: Kiosk) -> app::Running {
    let places = places::setup(window, &kiosk);
    let pay = pay::setup(window, &kiosk);
    dossier::setup(window, &kiosk, pay.clone());
    let complaints = complaint::setup(window, &kiosk);
    app::setup(window, &kiosk, app::Pages { places, complaints, pay })
}
