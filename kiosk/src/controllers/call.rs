//! Calling the officer on duty from the call page: the call runs on a thread of its own
//! (`crate::call`), its events come back to the interface's thread. While a call goes on the idle
//! reset waits; the reset (or leaving the kiosk alone) hangs up.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slint::{ComponentHandle, Image, Rgb8Pixel, SharedPixelBuffer, Timer, TimerMode};
use tokio::sync::watch;

use super::net::Session;
use crate::call::{self, End, Event, Options, Source};
use crate::camera::Camera;
use crate::{Activity, CallAdapter, MainWindow};

pub struct Call {
    session: Option<Arc<Session>>,
    source: Source,
    camera: Camera,
    /// Set to hang up the call under way.
    hang_up: RefCell<Option<watch::Sender<bool>>>,
    answered_at: RefCell<Option<Instant>>,
    clock: Rc<Timer>,
}

impl Call {
    /// Hangs up and shows the page as it was before calling.
    pub fn clear(&self, window: &MainWindow) {
        self.stop();
        let a = window.global::<CallAdapter>();
        a.set_state(0);
        a.set_has_picture(false);
        a.set_picture(Image::default());
        a.set_officer("".into());
        a.set_seconds(0);
    }

    fn stop(&self) {
        if let Some(h) = self.hang_up.borrow_mut().take() {
            let _ = h.send(true);
        }
        self.clock.stop();
    }

    fn start(self: &Rc<Self>, window: &MainWindow) {
        let a = window.global::<CallAdapter>();
        let Some(session) = self.session.clone() else {
            a.set_state(6);
            return;
        };
        self.stop();
        a.set_state(1);
        a.set_has_picture(false);
        a.set_seconds(0);
        *self.answered_at.borrow_mut() = None;
        let (tx, rx) = watch::channel(false);
        *self.hang_up.borrow_mut() = Some(tx);
        // Each second: the time talked, and the idle reset kept waiting.
        let (me, w) = (Rc::downgrade(self), window.as_weak());
        self.clock.start(TimerMode::Repeated, Duration::from_secs(1), move || {
            let (Some(me), Some(w)) = (me.upgrade(), w.upgrade()) else { return };
            w.global::<Activity>().invoke_touched();
            if let Some(at) = *me.answered_at.borrow() {
                w.global::<CallAdapter>().set_seconds(at.elapsed().as_secs() as i32);
            }
        });
        let (w, source, camera) = (window.as_weak(), self.source, self.camera.clone());
        // The call's events are sent to the interface's thread one by one.
        let send = move |e: Event| {
            let w = w.clone();
            let _ = slint::invoke_from_event_loop(move || {
                let me = CALL.with(|c| c.borrow().upgrade());
                if let (Some(w), Some(me)) = (w.upgrade(), me) {
                    me.show(&w, e);
                }
            });
        };
        let failed = send.clone();
        let spawned = std::thread::Builder::new().name("call".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return eprintln!("cannot start the call: {e}"),
            };
            let outcome = rt.block_on(async move {
                let http = super::net::client()?;
                let token = session.token(&http).await?;
                let o = Options { core: session.core.clone(), token, source, camera, ring_for: call::RING_FOR };
                call::run(&o, send, rx).await
            });
            if let Err(e) = outcome {
                eprintln!("the call failed: {e:#}");
                failed(Event::Ended(End::Lost));
            }
        });
        if spawned.is_err() {
            a.set_state(6);
        }
    }

    fn show(&self, window: &MainWindow, e: Event) {
        let a = window.global::<CallAdapter>();
        // A call hung up here already shows as ended; late events change nothing.
        if self.hang_up.borrow().is_none() {
            return;
        }
        match e {
            Event::Ringing { .. } => a.set_state(2),
            Event::Sound { microphone } => a.set_microphone(microphone),
            Event::Answered { officer } => {
                *self.answered_at.borrow_mut() = Some(Instant::now());
                a.set_officer(officer.into());
                a.set_state(3);
            }
            Event::Picture(p) => {
                let buffer = SharedPixelBuffer::<Rgb8Pixel>::clone_from_slice(&p.rgb, p.width, p.height);
                a.set_picture(Image::from_rgb8(buffer));
                a.set_has_picture(true);
            }
            Event::Ended(end) => {
                self.hang_up.borrow_mut().take();
                self.clock.stop();
                a.set_has_picture(false);
                a.set_state(match end {
                    End::HungUp | End::OfficerLeft => 4,
                    End::NoAnswer => 5,
                    End::Lost => 6,
                });
            }
        }
    }
}

thread_local! {
    // The call page's controller, on the interface's thread, where the call's events arrive.
    static CALL: RefCell<std::rc::Weak<Call>> = const { RefCell::new(std::rc::Weak::new()) };
}

/// Wires the call page; without a session (no core or no account) a call cannot be made.
pub fn setup(window: &MainWindow, session: Option<Arc<Session>>, source: Source, camera: Camera) -> Rc<Call> {
    window.global::<CallAdapter>().set_camera(camera.present());
    let call = Rc::new(Call {
        session,
        source,
        camera,
        hang_up: RefCell::new(None),
        answered_at: RefCell::new(None),
        clock: Rc::new(Timer::default()),
    });
    CALL.with(|c| *c.borrow_mut() = Rc::downgrade(&call));
    let a = window.global::<CallAdapter>();
    let (c, w) = (call.clone(), window.as_weak());
    a.on_start(move || {
        if let Some(w) = w.upgrade() {
            c.start(&w);
        }
    });
    let (c, w) = (call.clone(), window.as_weak());
    a.on_hang_up(move || {
        c.stop();
        if let Some(w) = w.upgrade() {
            let a = w.global::<CallAdapter>();
            a.set_state(4);
            a.set_has_picture(false);
        }
    });
    call
}
