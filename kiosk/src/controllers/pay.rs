//! Paying a dossier's fee by VietQR at the kiosk: the core makes the payment (`POST
//! /api/v1/payments`, or the one already under way for the dossier) and its VietQR code (`POST
//! /api/v1/payments/{reference}/vietqr`), the kiosk shows the code for any banking app to scan,
//! and asks the core every few seconds until the bank's word lands, then shows the receipt's
//! number. Leaving the page or the session stops the asking.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use slint::{ComponentHandle, Timer, TimerMode};

use super::Kiosk;
use super::net::{client, on_thread};
use super::qr::qr;
use crate::{DossierAdapter, MainWindow};
use q10_core_api::{NewPayment, Payment, PaymentPurpose, PaymentStatus, VietqrCode};

/// How often the core is asked whether the payment landed.
const ASK_EVERY: Duration = Duration::from_secs(3);

/// The payment's states as the page shows them.
pub mod state {
    pub const NONE: i32 = 0;
    pub const PREPARING: i32 = 1;
    pub const WAITING: i32 = 2;
    pub const PAID: i32 = 3;
    pub const FAILED: i32 = 4;
}

pub struct Pay {
    core: Option<String>,
    /// Asks whether the payment landed, while the page waits.
    timer: Rc<Timer>,
}

impl Pay {
    /// Stops waiting and forgets the payment.
    pub fn clear(&self, window: &MainWindow) {
        self.timer.stop();
        let a = window.global::<DossierAdapter>();
        a.set_pay_state(state::NONE);
        a.set_pay_qr(slint::Image::default());
        a.set_receipt_number(0);
        a.set_payment_reference("".into());
    }
}

/// The fee in đồng as Vietnamese write it: 15.000 đ.
pub fn money(vnd: i64) -> String {
    let digits = vnd.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    format!("{}{out} đ", if vnd < 0 { "-" } else { "" })
}

/// The payment for the dossier's fee (the one under way, or a new one) and its VietQR code.
async fn prepare(core: &str, code: &str, under_way: Option<String>) -> Option<(String, VietqrCode)> {
    let http = client().ok()?;
    let reference = match under_way {
        Some(r) => r,
        None => {
            let new = NewPayment {
                purpose: PaymentPurpose::DossierFee,
                dossier_code: Some(code.to_string()),
                amount: None,
                description: None,
            };
            let key = format!("kiosk-{:032x}", rand::random::<u128>());
            let res = http
                .post(format!("{core}/api/v1/payments"))
                .header("Idempotency-Key", key)
                .json(&new)
                .send()
                .await
                .ok()?;
            if !res.status().is_success() {
                return None;
            }
            res.json::<Payment>().await.ok()?.reference
        }
    };
    let res = http.post(format!("{core}/api/v1/payments/{reference}/vietqr")).send().await.ok()?;
    if !res.status().is_success() {
        return None;
    }
    Some((reference.clone(), res.json::<VietqrCode>().await.ok()?))
}

async fn status(core: &str, reference: &str) -> Option<Payment> {
    let res = client().ok()?.get(format!("{core}/api/v1/payments/{reference}")).send().await.ok()?;
    if !res.status().is_success() {
        return None;
    }
    res.json().await.ok()
}

pub fn setup(window: &MainWindow, kiosk: &Kiosk) -> Rc<Pay> {
    let pay = Rc::new(Pay {
        core: kiosk.core.as_ref().map(|c| c.trim_end_matches('/').to_string()),
        timer: Rc::new(Timer::default()),
    });
    let (w, p) = (window.as_weak(), pay.clone());
    window.global::<DossierAdapter>().on_pay(move || {
        let Some(win) = w.upgrade() else { return };
        let a = win.global::<DossierAdapter>();
        if a.get_pay_state() != state::NONE && a.get_pay_state() != state::FAILED {
            return;
        }
        let Some(core) = p.core.clone() else {
            a.set_pay_state(state::FAILED);
            return;
        };
        let code = a.get_found().to_string();
        let under_way = Some(a.get_payment_reference().to_string()).filter(|r| !r.is_empty());
        a.set_pay_state(state::PREPARING);
        let shown = w.clone();
        // Back on the interface's thread with the code: show it; the timer below asks.
        let ready = move |answer: Option<(String, VietqrCode)>| {
            let Some(win) = shown.upgrade() else { return };
            let a = win.global::<DossierAdapter>();
            let Some((reference, code)) = answer else {
                a.set_pay_state(state::FAILED);
                return;
            };
            a.set_pay_qr(qr(&code.payload));
            a.set_payment_reference(reference.as_str().into());
            a.set_pay_state(state::WAITING);
        };
        let asked = core.clone();
        on_thread(move || async move { prepare(&asked, &code, under_way).await }, ready);
        // The asking: while the page waits, one question at a time.
        let asking = Arc::new(AtomicBool::new(false));
        let w = w.clone();
        let t = Rc::downgrade(&p.timer);
        p.timer.start(TimerMode::Repeated, ASK_EVERY, move || {
            let Some(win) = w.upgrade() else { return };
            let a = win.global::<DossierAdapter>();
            match a.get_pay_state() {
                state::PREPARING => return,
                state::WAITING => {}
                _ => {
                    if let Some(t) = t.upgrade() {
                        t.stop();
                    }
                    return;
                }
            }
            if asking.swap(true, Ordering::SeqCst) {
                return;
            }
            let reference = a.get_payment_reference().to_string();
            let (w, core, asking) = (w.clone(), core.clone(), asking.clone());
            on_thread(
                move || async move { status(&core, &reference).await },
                move |found| {
                    asking.store(false, Ordering::SeqCst);
                    let (Some(win), Some(p)) = (w.upgrade(), found) else { return };
                    let a = win.global::<DossierAdapter>();
                    if a.get_pay_state() != state::WAITING {
                        return;
                    }
                    match p.status {
                        PaymentStatus::Succeeded => {
                            a.set_receipt_number(p.receipt_number.and_then(|n| i32::try_from(n).ok()).unwrap_or(0));
                            a.set_fee_paid(true);
                            a.set_pay_state(state::PAID);
                        }
                        PaymentStatus::Failed | PaymentStatus::Canceled => a.set_pay_state(state::FAILED),
                        _ => {}
                    }
                },
            );
        });
    });
    pay
}
