//! Taking a queue ticket for the desks of the ward office where the kiosk stands (`POST
//! /api/v1/queue/tickets` with the kiosk's place; as the kiosk when it is signed in), on a thread
//! of its own; the number is wiped with the session.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use q10_core_api::{NewTicket, QueueService, Ticket};
use slint::ComponentHandle;

use super::Kiosk;
use super::net::{Session, client, on_thread, send_as_kiosk};
use crate::{MainWindow, QueueAdapter};

pub struct Queue {
    core: Option<String>,
    session: Option<Arc<Session>>,
    /// Where the kiosk stands: its ward's office gives the ticket.
    here: Cell<[f64; 2]>,
}

impl Queue {
    pub fn clear(&self, window: &MainWindow) {
        let a = window.global::<QueueAdapter>();
        a.set_state(0);
        a.set_number(0);
        a.set_ahead(0);
        a.set_minutes(0);
        a.set_office("".into());
    }

    pub fn relocate(&self, here: [f64; 2]) {
        self.here.set(here);
    }
}

async fn ask(core: String, session: Option<Arc<Session>>, service: QueueService, at: [f64; 2]) -> Option<Ticket> {
    let http = client().ok()?;
    let url = format!("{}/api/v1/queue/tickets", core.trim_end_matches('/'));
    let ticket = NewTicket { service, unit_code: None, at: Some(at) };
    let res = send_as_kiosk(session.as_deref(), &http, || http.post(&url).json(&ticket)).await.ok()?;
    if !res.status().is_success() {
        return None;
    }
    res.json().await.ok()
}

pub fn setup(window: &MainWindow, kiosk: &Kiosk, session: Option<Arc<Session>>) -> Rc<Queue> {
    let queue = Rc::new(Queue { core: kiosk.core.clone(), session, here: Cell::new(kiosk.here) });
    let w = window.as_weak();
    window.global::<QueueAdapter>().on_another(move || {
        if let Some(w) = w.upgrade() {
            w.global::<QueueAdapter>().set_state(0);
        }
    });
    let (q, w) = (queue.clone(), window.as_weak());
    window.global::<QueueAdapter>().on_take(move |service| {
        let Some(w) = w.upgrade() else { return };
        let a = w.global::<QueueAdapter>();
        let Some(core) = q.core.clone() else {
            a.set_state(3);
            return;
        };
        if a.get_state() == 1 {
            return;
        }
        a.set_state(1);
        let service = QueueService::ALL.get(service as usize).copied().unwrap_or(QueueService::Other);
        let (session, at, w) = (q.session.clone(), q.here.get(), w.as_weak());
        on_thread(
            move || ask(core, session, service, at),
            move |ticket| {
                let Some(w) = w.upgrade() else { return };
                let a = w.global::<QueueAdapter>();
                // The session may have been wiped while the office answered.
                if a.get_state() != 1 {
                    return;
                }
                match ticket {
                    Some(t) => {
                        a.set_number(i32::try_from(t.number).unwrap_or(i32::MAX));
                        a.set_ahead(i32::try_from(t.ahead).unwrap_or(i32::MAX));
                        a.set_minutes(i32::try_from(t.wait_minutes).unwrap_or(i32::MAX));
                        a.set_office(format!("UBND {}", t.unit_name).into());
                        a.set_state(2);
                    }
                    None => a.set_state(3),
                }
            },
        );
    });
    queue
}
