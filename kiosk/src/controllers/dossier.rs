//! Looking up a dossier by its code at the core (`POST /api/v1/dossiers/track`: the code goes in
//! the body, never in a URL), on a thread of its own; the answer comes back to the interface's
//! thread.

use std::rc::Rc;

use slint::ComponentHandle;

use super::Kiosk;
use super::net::{client, on_thread};
use crate::{DossierAdapter, MainWindow};
use q10_core_api::{DossierCodeRequest, PublicDossier};

/// What the core said.
enum Answer {
    Found(Box<PublicDossier>),
    NotFound,
    Unreachable,
}

async fn ask(core: &str, code: &str) -> Answer {
    let Ok(http) = client() else { return Answer::Unreachable };
    let res = http
        .post(format!("{}/api/v1/dossiers/track", core.trim_end_matches('/')))
        .json(&DossierCodeRequest { code: code.trim().to_string() })
        .send()
        .await;
    match res {
        Ok(r) if r.status().is_success() => match r.json::<PublicDossier>().await {
            Ok(d) => Answer::Found(Box::new(d)),
            Err(_) => Answer::Unreachable,
        },
        Ok(r) if r.status().is_client_error() => Answer::NotFound,
        _ => Answer::Unreachable,
    }
}

fn show(window: &MainWindow, answer: Answer) {
    let a = window.global::<DossierAdapter>();
    a.set_busy(false);
    match answer {
        Answer::Found(d) => {
            let english = window.global::<crate::AppAdapter>().get_language() == "en";
            let name = if english { &d.procedure.name_en } else { &d.procedure.name_vi };
            a.set_procedure(name.as_str().into());
            a.set_ward(d.ward.name.as_str().into());
            a.set_status(d.status.as_str().into());
            let due = d.due_at.to_offset(time::macros::offset!(+7));
            a.set_due(format!("{:02}/{:02}/{}", due.day(), u8::from(due.month()), due.year()).into());
            a.set_overdue(d.overdue);
            a.set_found(d.code.as_str().into());
            a.set_fee(i32::try_from(d.fee).unwrap_or(i32::MAX));
            a.set_fee_text(super::pay::money(d.fee).into());
            a.set_fee_paid(d.fee_paid);
            a.set_payment_reference(d.payment_reference.clone().unwrap_or_default().into());
            a.set_outcome(1);
        }
        Answer::NotFound => a.set_outcome(2),
        Answer::Unreachable => a.set_outcome(3),
    }
}

pub fn setup(window: &MainWindow, kiosk: &Kiosk, pay: Rc<super::pay::Pay>) {
    let core = kiosk.core.clone();
    let w = window.as_weak();
    window.global::<DossierAdapter>().on_look_up(move |code| {
        let Some(win) = w.upgrade() else { return };
        let a = win.global::<DossierAdapter>();
        if code.trim().is_empty() || a.get_busy() {
            return;
        }
        // Another dossier: the payment of the last one is no longer shown.
        pay.clear(&win);
        let Some(core) = core.clone() else {
            a.set_outcome(3);
            return;
        };
        a.set_busy(true);
        let (w, code) = (w.clone(), code.to_string());
        on_thread(
            move || async move { ask(&core, &code).await },
            move |answer| {
                if let Some(win) = w.upgrade() {
                    show(&win, answer);
                }
            },
        );
    });
}
