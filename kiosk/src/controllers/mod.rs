//! The controllers behind the interface's adapters: one per page, each set up on the window with
//! what it needs. Network work runs off the interface's thread.

pub mod app;
pub mod call;
pub mod complaint;
pub mod dossier;
pub mod fleet;
mod net;
pub mod pay;
pub mod places;
pub mod printing;
mod qr;
pub mod queue;
pub mod speech;

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

pub use net::Account;

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
    /// The kiosk's machine account: calls, the heartbeat and screenshots need it.
    pub account: Option<Account>,
    /// What the kiosk says in a call (its microphone; a tone to try a call where nobody speaks).
    pub voice: crate::call::Source,
    /// Its receipt printer, where it has one.
    pub printer: Option<crate::print::Printer>,
    /// Its camera (resolved: not `Auto`), for calls and complaints' photos; `None` for none.
    pub camera: crate::camera::Camera,
}

/// Wires every controller to `window`. Keep what it returns for as long as the window lives.
pub fn setup(window: &MainWindow, kiosk: Kiosk) -> app::Running {
    let session =
        kiosk.core.as_deref().zip(kiosk.account.clone()).map(|(core, a)| Arc::new(net::Session::new(core, a)));
    let places = places::setup(window, &kiosk);
    let pay = pay::setup(window, &kiosk);
    dossier::setup(window, &kiosk, pay.clone());
    let complaints = complaint::setup(window, &kiosk, session.clone());
    let call = call::setup(window, session.clone(), kiosk.voice, kiosk.camera.clone());
    let queue = queue::setup(window, &kiosk, session.clone());
    speech::setup(window);
    printing::setup(window, kiosk.printer.clone());
    let pages = app::Pages { places: places.clone(), complaints: complaints.clone(), pay, call, queue: queue.clone() };
    let running = app::setup(window, &kiosk, pages);
    if let Some(session) = session {
        let (idle, first) = (running.idle.clone(), running.first_language.clone());
        let apply: fleet::Apply = Box::new(move |w, config| {
            idle.set(Duration::from_secs(config.idle_seconds.into()));
            if let Some(lang) = config.languages.first() {
                *first.borrow_mut() = lang.clone();
            }
            if let Some(at) = config.location {
                places.relocate(w, at);
                complaints.relocate(w, at);
                queue.relocate(at);
            }
        });
        fleet::setup(window, session, kiosk.printer.clone(), apply);
    }
    running
}
