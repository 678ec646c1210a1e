//! The app's own controller: the language switch, and the idle timer that asks "still there?"
//! and then wipes the session (page, forms, search, dossier code and payment, complaint and its
//! tracking code, language and text size).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use slint::{ComponentHandle, Timer, TimerMode};

use super::Kiosk;
use crate::idle::{Idle, Session};
use crate::{Activity, AppAdapter, DossierAdapter, MainWindow, Page, Theme};

/// Timers that run while the window lives, and the settings the operators may change.
pub struct Running {
    _timers: [Rc<Timer>; 2],
    /// Quiet time before asking "still there?".
    pub idle: Rc<std::cell::Cell<Duration>>,
    /// The language a session starts in.
    pub first_language: Rc<RefCell<String>>,
}

/// The kiosk's first language.
pub const FIRST_LANGUAGE: &str = "vi";

pub fn set_language(window: &MainWindow, lang: &str) {
    // "en" is the language the interface is written in.
    if let Err(e) = slint::select_bundled_translation(lang) {
        eprintln!("the language {lang} is not bundled: {e}");
    }
    window.global::<AppAdapter>().set_language(lang.into());
}

/// What a session leaves in the pages, to wipe.
#[derive(Clone)]
pub struct Pages {
    pub places: Rc<super::places::Places>,
    pub complaints: Rc<super::complaint::Complaints>,
    pub pay: Rc<super::pay::Pay>,
    pub call: Rc<super::call::Call>,
    pub queue: Rc<super::queue::Queue>,
}

/// Everything a person did, gone: back to the attract screen as the kiosk started, in `first`.
pub fn wipe(window: &MainWindow, pages: &Pages, first: &str) {
    let app = window.global::<AppAdapter>();
    app.set_page(Page::Attract);
    app.set_asking(0);
    set_language(window, first);
    let theme = window.global::<Theme>();
    theme.set_large_text(false);
    theme.set_high_contrast(false);
    pages.places.clear(window);
    pages.complaints.clear(window);
    pages.pay.clear(window);
    pages.call.clear(window);
    pages.queue.clear(window);
    window.global::<crate::PrintAdapter>().set_state(0);
    let dossier = window.global::<DossierAdapter>();
    dossier.set_code("".into());
    dossier.set_found("".into());
    dossier.set_outcome(0);
    dossier.set_procedure("".into());
    dossier.set_status("".into());
}

pub fn setup(window: &MainWindow, kiosk: &Kiosk, pages: Pages) -> Running {
    set_language(window, FIRST_LANGUAGE);
    let app = window.global::<AppAdapter>();
    let w = window.as_weak();
    app.on_switch_language(move || {
        let Some(w) = w.upgrade() else { return };
        let next = if w.global::<AppAdapter>().get_language() == "vi" { "en" } else { "vi" };
        set_language(&w, next);
    });
    let session = Rc::new(RefCell::new(Session::new(kiosk.warn.as_secs())));
    let first_language = Rc::new(RefCell::new(FIRST_LANGUAGE.to_string()));
    let quiet = Rc::new(Timer::default());
    let countdown = Rc::new(Timer::default());
    // Each second of the question: count down, or wipe at the end.
    let on_second = {
        let (session, countdown, w) = (session.clone(), Rc::downgrade(&countdown), window.as_weak());
        let first = first_language.clone();
        move || {
            let Some(w) = w.upgrade() else { return };
            match session.borrow_mut().second() {
                Idle::Asking(left) => w.global::<AppAdapter>().set_asking(left as i32),
                Idle::Active => w.global::<AppAdapter>().set_asking(0),
                Idle::Reset => {
                    if let Some(c) = countdown.upgrade() {
                        c.stop();
                    }
                    wipe(&w, &pages, &first.borrow());
                }
            }
        }
    };
    // The idle time passed: ask.
    let on_quiet = {
        let (session, countdown, w) = (session.clone(), countdown.clone(), window.as_weak());
        move || {
            let Some(w) = w.upgrade() else { return };
            if let Idle::Asking(left) = session.borrow_mut().quiet() {
                w.global::<AppAdapter>().set_asking(left as i32);
                countdown.start(TimerMode::Repeated, Duration::from_secs(1), on_second.clone());
            }
        }
    };
    let idle = Rc::new(std::cell::Cell::new(kiosk.idle));
    let touched = {
        let (session, quiet, countdown, w) = (session.clone(), quiet.clone(), countdown.clone(), window.as_weak());
        let idle = idle.clone();
        move || {
            session.borrow_mut().touched();
            countdown.stop();
            quiet.start(TimerMode::SingleShot, idle.get(), on_quiet.clone());
            if let Some(w) = w.upgrade() {
                w.global::<AppAdapter>().set_asking(0);
            }
        }
    };
    window.global::<Activity>().on_touched(touched.clone());
    app.on_still_here(touched);
    Running { _timers: [quiet, countdown], idle, first_language }
}
