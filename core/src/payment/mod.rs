//! Payments: intents for dossier fees and other charges, paid by VNPay, by a VietQR bank
//! transfer, or at a cash desk; receipts numbered without gaps; the providers' notifications
//! (VNPay IPN, the bank's credit notices) and the `querydr` sweep that settles intents whose
//! notification never came.
//!
//! The invariant: a notification delivered twice, out of order, with a wrong amount or a bad
//! signature never credits twice and never credits wrongly. Each settlement happens in one
//! transaction holding the payment's row, and only from a payable state.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use q10_core_api::{NewPayment, Payment, PaymentProvider as P, PaymentPurpose, PaymentStatus as S, Receipt, Role};
use secrecy::SecretSlice;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::feed::LiveEvent;
use crate::http::AppState;
use crate::outbox::{self, OutEvent};
use crate::store::Tx;
use crate::store::payments::{self as rows, NewEventRow, NewPaymentRow, PaymentRow};

pub mod gateway;
pub mod simulator;
pub mod vietqr;
pub mod vnpay;

/// Who creates charges other than dossier fees, and takes cash.
pub const CASHIERS: &[Role] = &[Role::Cashier, Role::DistrictOfficial, Role::WardOfficial];
/// Who lists payments and refunds them.
pub const MANAGERS: &[Role] = &[Role::Cashier, Role::DistrictOfficial];

/// The merchant account at VNPay.
#[derive(Clone)]
pub struct VnpaySettings {
    pub tmn_code: String,
    pub hash_secret: SecretSlice<u8>,
    /// The payment page payers are sent to.
    pub pay_url: String,
    /// The merchant API (`querydr`).
    pub api_url: String,
}

/// The account VietQR transfers go to.
#[derive(Clone, Debug)]
pub struct VietqrSettings {
    pub bin: String,
    pub account: String,
    pub account_name: String,
}

/// How this deployment takes payments.
#[derive(Clone)]
pub struct Settings {
    /// Where payers' browsers and providers reach this server, e.g. `https://dichvu.quan10.gov.vn`.
    pub public_url: String,
    /// The office named on receipts.
    pub office: String,
    pub vnpay: Option<VnpaySettings>,
    pub vietqr: Option<VietqrSettings>,
    /// The secret the bank signs its credit notices with (Standard Webhooks).
    pub bank_secret: Option<SecretSlice<u8>>,
    /// Serve the providers' simulators under `/sim/` (demo and tests only).
    pub simulator: bool,
    /// Payments sent to VNPay and silent this long are asked about with `querydr`.
    pub reconcile_after: time::Duration,
    /// Unanswered after this long, VNPay's payment window has closed: not found means canceled.
    pub expire_after: time::Duration,
    /// What the simulated VNPay remembers.
    pub ledger: Arc<simulator::Ledger>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("public_url", &self.public_url)
            .field("vnpay", &self.vnpay.as_ref().map(|v| &v.tmn_code))
            .field("vietqr", &self.vietqr)
            .field("simulator", &self.simulator)
            .finish_non_exhaustive()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: "http://127.0.0.1:8080".into(),
            office: "UBND Quận 10".into(),
            vnpay: None,
            vietqr: None,
            bank_secret: None,
            simulator: false,
            reconcile_after: time::Duration::minutes(5),
            expire_after: time::Duration::minutes(30),
            ledger: Arc::default(),
        }
    }
}

impl Settings {
    /// Settings for the demo and tests: every provider on this server's simulators, with the
    /// given secrets.
    pub fn simulated(public_url: &str, vnpay_secret: SecretSlice<u8>, bank_secret: SecretSlice<u8>) -> Settings {
        let base = public_url.trim_end_matches('/');
        Settings {
            public_url: base.to_string(),
            vnpay: Some(VnpaySettings {
                tmn_code: "Q10DEMO1".into(),
                hash_secret: vnpay_secret,
                pay_url: format!("{base}/sim/vnpay/pay"),
                api_url: format!("{base}/sim/vnpay/api"),
            }),
            vietqr: Some(VietqrSettings {
                bin: "970415".into(),
                account: "113366668888".into(),
                account_name: "UBND QUAN 10".into(),
            }),
            bank_secret: Some(bank_secret),
            simulator: true,
            ..Settings::default()
        }
    }
}

pub type SharedSettings = Arc<Settings>;

/// A new payment reference: `Q10P` and ten random symbols. Letters and digits only, so it
/// survives as a bank transfer's description.
pub fn new_reference() -> String {
    use rand::Rng;
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    let tail: String = (0..10).map(|_| ALPHABET[rng.random_range(0..32)] as char).collect();
    format!("Q10P{tail}")
}

/// Finds a payment reference in free text (a transfer's description).
pub fn find_reference(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .map(|w| w.to_ascii_uppercase())
        .find(|w| w.len() == 14 && w.starts_with("Q10P"))
}

/// The state a payment event leads to, or why it may not happen.
pub fn transition(from: S, to: S) -> std::result::Result<S, String> {
    use S::*;
    let ok = matches!(
        (from, to),
        (RequiresPayment | Processing, Processing)
            | (RequiresPayment | Processing, Succeeded)
            | (RequiresPayment | Processing, Failed)
            | (RequiresPayment | Processing, Canceled)
            | (Succeeded, Refunded)
    );
    if ok { Ok(to) } else { Err(format!("a payment that is {} cannot become {}", from.as_str(), to.as_str())) }
}

pub fn status_of(p: &PaymentRow) -> Result<S> {
    S::parse(&p.status).ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown payment status {}", p.status)))
}

pub fn view(p: &PaymentRow) -> Result<Payment> {
    Ok(Payment {
        reference: p.reference.clone(),
        purpose: PaymentPurpose::parse(&p.purpose)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown purpose {}", p.purpose)))?,
        amount: p.amount,
        currency: "VND".into(),
        description: p.description.clone(),
        status: status_of(p)?,
        provider: p.provider.as_deref().and_then(P::parse),
        dossier_code: p.dossier_code.clone(),
        created_at: p.created_at,
        paid_at: p.paid_at,
        receipt_number: p.receipt_number,
    })
}

/// A checked `Idempotency-Key`.
pub fn check_idempotency_key(key: Option<&str>) -> Result<String> {
    let key = key.map(str::trim).unwrap_or("");
    if key.is_empty() {
        return Err(Error::invalid("Idempotency-Key", "send an Idempotency-Key header with every new payment"));
    }
    if key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid("Idempotency-Key", "an Idempotency-Key is 1 to 255 visible ASCII characters"));
    }
    Ok(key.to_string())
}

/// Creates a payment intent, or answers the one this key already made: `(payment, created)`.
pub async fn create(
    state: &AppState,
    who: Option<&Principal>,
    key: &str,
    req: &NewPayment,
    client: &str,
    now: OffsetDateTime,
) -> Result<(PaymentRow, bool)> {
    let scope = match who {
        Some(p) => format!("user:{}", p.user_id),
        None => "anonymous".to_string(),
    };
    let canonical = serde_json::to_string(&serde_json::to_value(req).map_err(|e| Error::Internal(e.into()))?)
        .map_err(|e| Error::Internal(e.into()))?;
    let request_hash = hex::encode(Sha256::digest(canonical.as_bytes()));

    let mut tx = state.store.begin().await?;
    if let Some(existing) = rows::by_idempotency_key(&mut tx, &scope, key).await? {
        return replay(existing, &request_hash);
    }
    let (dossier, amount, description, ward) = match req.purpose {
        PaymentPurpose::DossierFee => {
            let code =
                req.dossier_code.as_deref().ok_or_else(|| Error::invalid("dossier_code", "say which dossier's fee"))?;
            if req.amount.is_some() {
                return Err(Error::invalid("amount", "a dossier's fee is set by its procedure"));
            }
            let d = crate::dossier::by_code(&state.store, code)
                .await
                .map_err(|_| Error::invalid("dossier_code", "there is no dossier with that code"))?;
            if d.fee == 0 {
                return Err(Error::Conflict("this procedure is free".into()));
            }
            if d.fee_paid {
                return Err(Error::Conflict("this dossier's fee is already paid".into()));
            }
            if d.status == q10_core_api::DossierStatus::Refused.as_str() {
                return Err(Error::Conflict("this dossier was refused; there is no fee to pay".into()));
            }
            // One live intent per dossier: another key finds the one under way.
            if let Some(open) = state.store.dossier_payment(d.id).await?
                && !status_of(&open)?.is_final()
            {
                return Ok((open, false));
            }
            let description = format!("Lệ phí hồ sơ {} – {}", d.code, d.procedure_name_vi);
            (Some(d.id), d.fee, description, Some(d.ward_id))
        }
        PaymentPurpose::ServiceFee | PaymentPurpose::Tuition => {
            if !who.is_some_and(|p| p.has_any_role(CASHIERS)) {
                return Err(Error::Forbidden("only the office's staff create charges other than dossier fees".into()));
            }
            let amount = req.amount.ok_or_else(|| Error::invalid("amount", "give the amount in VND"))?;
            if !(1..=100_000_000_000).contains(&amount) {
                return Err(Error::invalid("amount", "an amount is 1 to 100,000,000,000 VND"));
            }
            let description = req.description.as_deref().unwrap_or("").trim();
            if description.is_empty() || description.chars().count() > 200 || description.chars().any(char::is_control)
            {
                return Err(Error::invalid("description", "say what is paid for, in 1 to 200 characters"));
            }
            (None, amount, description.to_string(), None)
        }
    };
    let reference = new_reference();
    let row = NewPaymentRow {
        reference: &reference,
        purpose: req.purpose.as_str(),
        dossier_id: dossier,
        ward_id: ward,
        amount,
        description: &description,
        idem_scope: &scope,
        idem_key: key,
        request_hash: &request_hash,
        created_by: who.map(|p| p.user_id),
    };
    let Some(id) = rows::insert(&mut tx, &row, now).await? else {
        // The same key arrived at the same moment on another connection.
        let existing = rows::by_idempotency_key(&mut tx, &scope, key).await?.ok_or(Error::NotFound("payment"))?;
        return replay(existing, &request_hash);
    };
    let actor = who.map(Principal::actor).unwrap_or_else(Actor::anonymous);
    record(
        &mut tx,
        state,
        id,
        "created",
        "q10",
        None,
        "ok",
        serde_json::json!({ "amount": amount }),
        &actor,
        client,
        now,
    )
    .await?;
    let p = rows::for_update(&mut tx, &reference).await?.ok_or(Error::NotFound("payment"))?;
    tx.commit().await?;
    Ok((p, true))
}

fn replay(existing: PaymentRow, request_hash: &str) -> Result<(PaymentRow, bool)> {
    if existing.request_hash == request_hash {
        Ok((existing, false))
    } else {
        Err(Error::Conflict("this Idempotency-Key was used for a different request".into()))
    }
}

/// Appends a payment event and its audit entry.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record(
    tx: &mut Tx,
    state: &AppState,
    payment: i64,
    kind: &'static str,
    provider: &str,
    provider_event: Option<&str>,
    outcome: &str,
    detail: serde_json::Value,
    actor: &Actor,
    client: &str,
    now: OffsetDateTime,
) -> Result<bool> {
    let e =
        NewEventRow { payment_id: Some(payment), kind, provider, provider_event, outcome, detail: &detail.to_string() };
    let fresh = rows::insert_event(tx, &e, now).await?;
    let mut audit_detail = detail;
    if let Some(o) = audit_detail.as_object_mut() {
        o.insert("provider".into(), provider.into());
        o.insert("outcome".into(), outcome.into());
    }
    let action = match kind {
        "created" => "payment.create",
        "refunded" => "payment.refund",
        "succeeded" => "payment.succeed",
        _ => "payment.event",
    };
    let event = Event::new(actor.clone(), action, "payment", payment).detail(audit_detail).source(client);
    audit::append(tx, &state.secrets.audit, event, now).await?;
    Ok(fresh)
}

/// Moves a payment to a new state inside `tx`. For `Succeeded`: issues the receipt, marks the
/// dossier's fee paid, and queues `payment.succeeded`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn settle(
    tx: &mut Tx,
    state: &AppState,
    p: &PaymentRow,
    to: S,
    provider: Option<P>,
    provider_txn: Option<&str>,
    issued_by: &str,
    now: OffsetDateTime,
) -> Result<PaymentRow> {
    transition(status_of(p)?, to).map_err(Error::Conflict)?;
    rows::set_status(tx, p.id, to.as_str(), provider.map(P::as_str), provider_txn, now).await?;
    match to {
        S::Succeeded => {
            let method =
                provider.ok_or_else(|| Error::Internal(anyhow::anyhow!("a payment succeeds through a provider")))?;
            rows::issue_receipt(tx, p.id, p.amount, method.as_str(), issued_by, now).await?;
            if let Some(d) = p.dossier_id {
                crate::store::dossiers::set_fee_paid(tx, d, true, now).await?;
            }
        }
        S::Refunded => {
            if let Some(d) = p.dossier_id {
                crate::store::dossiers::set_fee_paid(tx, d, false, now).await?;
            }
        }
        _ => {}
    }
    let after = rows::for_update(tx, &p.reference).await?.ok_or(Error::NotFound("payment"))?;
    if matches!(to, S::Succeeded | S::Refunded | S::Failed) {
        let event = OutEvent {
            id: format!("evt_payment_{}_{}", after.reference, to.as_str()),
            kind: format!("payment.{}", to.as_str()),
            timestamp: now,
            data: serde_json::json!({
                "reference": after.reference,
                "purpose": after.purpose,
                "amount": after.amount,
                "currency": "VND",
                "provider": after.provider,
                "dossier_code": after.dossier_code,
                "receipt_number": after.receipt_number,
                "status": after.status,
            }),
        };
        outbox::enqueue(tx, &state.outbound, &event).await?;
    }
    Ok(after)
}

/// Tells the console and whoever waits that a payment changed.
pub fn announce(state: &AppState, p: &PaymentRow, now: OffsetDateTime) {
    state.outbox_wake.notify_one();
    state.feed.publish(LiveEvent {
        kind: "payment.changed",
        id: p.id,
        status: p.status.clone(),
        category: Some(p.purpose.clone()),
        ward: None,
        at: now,
    });
}

/// Holds a payment for a change by a person (cash, cancel, refund, starting a provider).
pub(crate) async fn lock(tx: &mut Tx, reference: &str) -> Result<PaymentRow> {
    let reference = reference.trim().to_ascii_uppercase();
    rows::for_update(tx, &reference).await?.ok_or(Error::NotFound("payment"))
}

/// The cashier takes cash.
pub async fn take_cash(
    state: &AppState,
    who: &Principal,
    reference: &str,
    client: &str,
    now: OffsetDateTime,
) -> Result<PaymentRow> {
    let mut tx = state.store.begin().await?;
    let p = lock(&mut tx, reference).await?;
    if status_of(&p)? == S::Processing && p.provider.as_deref() == Some(P::Vnpay.as_str()) {
        return Err(Error::Conflict("this payment is at VNPay; wait for its answer or cancel it first".into()));
    }
    let after = settle(&mut tx, state, &p, S::Succeeded, Some(P::Cash), None, &who.username, now).await?;
    record(
        &mut tx,
        state,
        p.id,
        "succeeded",
        "cash",
        None,
        "ok",
        serde_json::json!({ "amount": p.amount }),
        &who.actor(),
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    announce(state, &after, now);
    Ok(after)
}

/// The payer abandons a payment not yet sent to VNPay (or a VietQR code not yet paid).
pub async fn cancel(
    state: &AppState,
    who: Option<&Principal>,
    reference: &str,
    client: &str,
    now: OffsetDateTime,
) -> Result<PaymentRow> {
    let mut tx = state.store.begin().await?;
    let p = lock(&mut tx, reference).await?;
    if status_of(&p)? == S::Processing && p.provider.as_deref() == Some(P::Vnpay.as_str()) {
        return Err(Error::Conflict("this payment is at VNPay; it is canceled there or settles by itself".into()));
    }
    // A payment never sent anywhere keeps no provider.
    let provider = p.provider.as_deref().and_then(P::parse);
    let after = settle(&mut tx, state, &p, S::Canceled, provider, None, "", now).await?;
    let actor = who.map(Principal::actor).unwrap_or_else(Actor::anonymous);
    record(
        &mut tx,
        state,
        p.id,
        "canceled",
        provider.map(P::as_str).unwrap_or("q10"),
        None,
        "ok",
        serde_json::json!({}),
        &actor,
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    announce(state, &after, now);
    Ok(after)
}

/// Records that a paid payment was given back.
pub async fn refund(
    state: &AppState,
    who: &Principal,
    reference: &str,
    reason: &str,
    client: &str,
    now: OffsetDateTime,
) -> Result<PaymentRow> {
    let reason = crate::complaint::rules::check_note(reason, true)?;
    let mut tx = state.store.begin().await?;
    let p = lock(&mut tx, reference).await?;
    let provider = p.provider.as_deref().and_then(P::parse);
    let after = settle(&mut tx, state, &p, S::Refunded, provider, None, &who.username, now).await?;
    record(
        &mut tx,
        state,
        p.id,
        "refunded",
        provider.map(P::as_str).unwrap_or("q10"),
        None,
        "ok",
        serde_json::json!({ "reason": reason }),
        &who.actor(),
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    announce(state, &after, now);
    Ok(after)
}

/// The receipt of a paid payment.
pub async fn receipt(state: &AppState, p: &PaymentRow) -> Result<Receipt> {
    let r = state
        .store
        .receipt(p.id)
        .await?
        .ok_or_else(|| Error::Conflict("this payment has no receipt: it is not paid".into()))?;
    Ok(Receipt {
        number: r.number,
        reference: p.reference.clone(),
        amount: r.amount,
        method: P::parse(&r.method).ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown method {}", r.method)))?,
        paid_at: r.issued_at,
        description: p.description.clone(),
        dossier_code: p.dossier_code.clone(),
        office: state.payments.office.clone(),
        issued_by: r.issued_by,
    })
}

/// Settles VNPay payments whose IPN never came, by asking VNPay (`querydr`), every `every`.
pub async fn run_reconciler(state: AppState, every: StdDuration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match gateway::reconcile_once(&state, state.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(settled = n, "querydr settled payments"),
            Err(e) => tracing::warn!(error = %e, "querydr sweep failed; will try again"),
        }
    }
}
