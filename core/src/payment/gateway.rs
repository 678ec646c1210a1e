//! The providers behind one interface: sending a payer to VNPay, answering VNPay's IPN, asking
//! VNPay about silent payments (`querydr`), showing a VietQR code, and crediting the bank's
//! notices of VietQR transfers.

use q10_core_api::{BankCredit, BankCreditOutcome, PaymentProvider as P, PaymentStatus as S, VietqrCode};
use secrecy::ExposeSecret;
use time::OffsetDateTime;

use super::vnpay::{self, IpnAnswer};
use super::{VnpaySettings, lock, record, settle, status_of, vietqr};
use crate::audit::Actor;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::store::payments::{self as rows, NewEventRow, PaymentRow};

fn vnpay_settings(state: &AppState) -> Result<&VnpaySettings> {
    state.payments.vnpay.as_ref().ok_or_else(|| Error::Unavailable("VNPay is not configured on this server".into()))
}

/// VNPay wants plain ASCII order text.
fn ascii_order_info(p: &PaymentRow) -> String {
    match &p.dossier_code {
        Some(code) => format!("Thanh toan le phi ho so {code} ma {}", p.reference),
        None => format!("Thanh toan {}", p.reference),
    }
}

/// Starts paying with VNPay: the signed URL to send the payer to.
pub async fn start_vnpay(
    state: &AppState,
    reference: &str,
    locale: Option<&str>,
    bank_code: Option<&str>,
    client_ip: &str,
    now: OffsetDateTime,
) -> Result<String> {
    let v = vnpay_settings(state)?;
    let locale = match locale.unwrap_or("vn") {
        l @ ("vn" | "en") => l,
        _ => return Err(Error::invalid("locale", "VNPay's pages are in vn or en")),
    };
    if let Some(b) = bank_code
        && (b.is_empty() || b.len() > 20 || !b.bytes().all(|c| c.is_ascii_alphanumeric()))
    {
        return Err(Error::invalid("bank_code", "a bank code is up to 20 letters and digits"));
    }
    let mut tx = state.store.begin().await?;
    let p = lock(&mut tx, reference).await?;
    let status = status_of(&p)?;
    super::transition(status, S::Processing).map_err(Error::Conflict)?;
    rows::set_status(&mut tx, p.id, S::Processing.as_str(), Some(P::Vnpay.as_str()), None, now).await?;
    let mut params: Vec<(String, String)> = [
        ("vnp_Version", "2.1.0".to_string()),
        ("vnp_Command", "pay".into()),
        ("vnp_TmnCode", v.tmn_code.clone()),
        ("vnp_Amount", (p.amount * 100).to_string()),
        ("vnp_CurrCode", "VND".into()),
        ("vnp_TxnRef", p.reference.clone()),
        ("vnp_OrderInfo", ascii_order_info(&p)),
        ("vnp_OrderType", "other".into()),
        ("vnp_Locale", locale.into()),
        ("vnp_ReturnUrl", format!("{}/pay/vnpay/return", state.payments.public_url)),
        ("vnp_IpAddr", client_ip.to_string()),
        ("vnp_CreateDate", vnpay::stamp(now)),
        ("vnp_ExpireDate", vnpay::stamp(now + state.payments.expire_after.min(time::Duration::minutes(15)))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(b) = bank_code {
        params.push(("vnp_BankCode".into(), b.to_string()));
    }
    let url = vnpay::payment_url(&v.pay_url, v.hash_secret.expose_secret(), &params);
    record(
        &mut tx,
        state,
        p.id,
        "sent",
        "vnpay",
        None,
        "ok",
        serde_json::json!({ "create_date": vnpay::stamp(now) }),
        &Actor::anonymous(),
        client_ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(url)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// Answers VNPay's IPN. Checks in VNPay's order: signature, order, amount, state; then records.
pub async fn ipn(
    state: &AppState,
    params: &[(String, String)],
    client: &str,
    now: OffsetDateTime,
) -> Result<IpnAnswer> {
    let Some(v) = state.payments.vnpay.as_ref() else {
        return Ok(IpnAnswer::Unknown);
    };
    let reference = param(params, "vnp_TxnRef").to_ascii_uppercase();
    let txn = param(params, "vnp_TransactionNo").to_string();
    let detail = serde_json::json!({
        "txn_ref": reference,
        "transaction_no": txn,
        "amount": param(params, "vnp_Amount"),
        "response_code": param(params, "vnp_ResponseCode"),
        "transaction_status": param(params, "vnp_TransactionStatus"),
    });
    let mut tx = state.store.begin().await?;
    let found = if reference.is_empty() { None } else { rows::for_update(&mut tx, &reference).await? };
    let signed = vnpay::verify(v.hash_secret.expose_secret(), params) && param(params, "vnp_TmnCode") == v.tmn_code;
    let answer = match &found {
        _ if !signed => IpnAnswer::InvalidSignature,
        None => IpnAnswer::OrderNotFound,
        Some(p) if param(params, "vnp_Amount") != (p.amount * 100).to_string() => IpnAnswer::InvalidAmount,
        Some(p) if status_of(p)?.is_final() => IpnAnswer::AlreadyConfirmed,
        Some(_) => IpnAnswer::Confirmed,
    };
    let Some(p) = found else {
        // Nothing to attach it to: the audit log keeps it.
        let e = NewEventRow {
            payment_id: None,
            kind: "ipn",
            provider: "vnpay",
            provider_event: Some(&txn),
            outcome: answer.code(),
            detail: &detail.to_string(),
        };
        rows::insert_event(&mut tx, &e, now).await?;
        tx.commit().await?;
        tracing::warn!(rsp = answer.code(), "VNPay IPN matched no payment");
        return Ok(answer);
    };
    let mut settled = None;
    if answer == IpnAnswer::Confirmed {
        let paid = param(params, "vnp_ResponseCode") == "00" && param(params, "vnp_TransactionStatus") == "00";
        let to = if paid { S::Succeeded } else { S::Failed };
        settled = Some(settle(&mut tx, state, &p, to, Some(P::Vnpay), Some(&txn), "VNPay", now).await?);
    }
    record(&mut tx, state, p.id, "ipn", "vnpay", Some(&txn), answer.code(), detail, &Actor::system(), client, now)
        .await?;
    tx.commit().await?;
    if let Some(after) = settled {
        super::announce(state, &after, now);
    }
    Ok(answer)
}

/// Asks VNPay about one payment and settles it if VNPay has the last word. Whether it settled.
pub async fn query_one(state: &AppState, p: &PaymentRow, now: OffsetDateTime) -> Result<bool> {
    let v = vnpay_settings(state)?;
    let secret = v.hash_secret.expose_secret();
    let request_id = {
        use rand::Rng;
        hex::encode(rand::rng().random::<[u8; 16]>())
    };
    let mut req = serde_json::Map::new();
    for (k, val) in [
        ("vnp_RequestId", request_id.clone()),
        ("vnp_Version", "2.1.0".into()),
        ("vnp_Command", "querydr".into()),
        ("vnp_TmnCode", v.tmn_code.clone()),
        ("vnp_TxnRef", p.reference.clone()),
        ("vnp_OrderInfo", format!("Truy van {}", p.reference)),
        ("vnp_TransactionDate", vnpay::stamp(p.updated_at)),
        ("vnp_CreateDate", vnpay::stamp(now)),
        ("vnp_IpAddr", "127.0.0.1".into()),
    ] {
        req.insert(k.into(), val.into());
    }
    let hash = vnpay::pipe_hash(secret, vnpay::QUERYDR_REQUEST, &req);
    req.insert("vnp_SecureHash".into(), hash.into());
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| Error::Internal(e.into()))?;
    let answer: serde_json::Map<String, serde_json::Value> = client
        .post(&v.api_url)
        .json(&req)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| Error::Unavailable(format!("VNPay's merchant API did not answer: {e}")))?
        .json()
        .await
        .map_err(|e| Error::Unavailable(format!("VNPay's merchant API answered something else: {e}")))?;
    if !vnpay::pipe_verify(secret, vnpay::QUERYDR_RESPONSE, &answer) {
        return Err(Error::Unavailable("VNPay's querydr answer is not signed with our secret".into()));
    }
    let get = |k: &str| answer.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let (code, status, amount, txn) =
        (get("vnp_ResponseCode"), get("vnp_TransactionStatus"), get("vnp_Amount"), get("vnp_TransactionNo"));
    let mut tx = state.store.begin().await?;
    let p = lock(&mut tx, &p.reference).await?;
    if status_of(&p)?.is_final() {
        return Ok(false);
    }
    let to = match (code.as_str(), status.as_str()) {
        ("00", "00") if amount == (p.amount * 100).to_string() => Some(S::Succeeded),
        ("00", "00") => None, // an amount that is not ours never credits
        ("00", "01") => None, // still pending at VNPay
        ("00", _) => Some(S::Failed),
        ("91", _) if p.updated_at + state.payments.expire_after < now => Some(S::Canceled),
        _ => None,
    };
    let detail = serde_json::json!({ "response_code": code, "transaction_status": status, "amount": amount, "transaction_no": txn });
    let outcome = to.map(|s| s.as_str()).unwrap_or("unchanged");
    let settled = match to {
        Some(to) => Some(
            settle(&mut tx, state, &p, to, Some(P::Vnpay), (!txn.is_empty()).then_some(txn.as_str()), "VNPay", now)
                .await?,
        ),
        None => None,
    };
    record(
        &mut tx,
        state,
        p.id,
        "querydr",
        "vnpay",
        Some(&request_id),
        outcome,
        detail,
        &Actor::system(),
        "querydr",
        now,
    )
    .await?;
    tx.commit().await?;
    if let Some(after) = &settled {
        super::announce(state, after, now);
    }
    Ok(settled.is_some())
}

/// One `querydr` sweep over the VNPay payments silent for longer than configured.
pub async fn reconcile_once(state: &AppState, now: OffsetDateTime) -> Result<usize> {
    if state.payments.vnpay.is_none() {
        return Ok(0);
    }
    let waiting = state.store.payments_waiting(P::Vnpay.as_str(), now - state.payments.reconcile_after).await?;
    let mut settled = 0;
    for p in &waiting {
        match query_one(state, p, now).await {
            Ok(true) => settled += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "querydr failed for one payment"),
        }
    }
    Ok(settled)
}

/// The VietQR code for a payment; the payment waits for the bank's notice.
pub async fn vietqr_code(state: &AppState, reference: &str, now: OffsetDateTime) -> Result<VietqrCode> {
    let q = state
        .payments
        .vietqr
        .as_ref()
        .ok_or_else(|| Error::Unavailable("VietQR transfers are not configured on this server".into()))?;
    let mut tx = state.store.begin().await?;
    let p = lock(&mut tx, reference).await?;
    super::transition(status_of(&p)?, S::Processing).map_err(Error::Conflict)?;
    rows::set_status(&mut tx, p.id, S::Processing.as_str(), Some(P::Vietqr.as_str()), None, now).await?;
    tx.commit().await?;
    let payload = vietqr::payload(&vietqr::Request {
        to: vietqr::Destination::Account { bin: &q.bin, account: &q.account },
        amount: Some(p.amount),
        purpose: Some(&p.reference),
    })?;
    let svg = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::Internal(anyhow::anyhow!("QR code: {e}")))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build();
    Ok(VietqrCode {
        payload,
        svg,
        bank_bin: q.bin.clone(),
        account: q.account.clone(),
        account_name: q.account_name.clone(),
        amount: p.amount,
        reference: p.reference,
    })
}

/// How far a bank notice's timestamp may be from our clock.
const NOTICE_TOLERANCE: time::Duration = time::Duration::minutes(5);

/// Checks a bank notice's Standard Webhooks headers against the shared secret.
pub fn verify_notice(
    state: &AppState,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let secret = state
        .payments
        .bank_secret
        .as_ref()
        .ok_or_else(|| Error::Unavailable("bank notices are not configured on this server".into()))?;
    if id.is_empty() || signatures.is_empty() {
        return Err(Error::invalid("webhook-signature", "the notice is not signed"));
    }
    let ts: i64 =
        timestamp.parse().map_err(|_| Error::invalid("webhook-timestamp", "the notice has no valid timestamp"))?;
    if (now.unix_timestamp() - ts).abs() > NOTICE_TOLERANCE.whole_seconds() {
        return Err(Error::invalid("webhook-timestamp", "the notice's timestamp is too far from now"));
    }
    let want = crate::outbox::sign(secret.expose_secret(), id, ts, body);
    let ok = signatures.split(' ').any(|s| {
        use subtle::ConstantTimeEq;
        bool::from(s.as_bytes().ct_eq(want.as_bytes()))
    });
    if ok { Ok(()) } else { Err(Error::invalid("webhook-signature", "the notice's signature is not valid")) }
}

/// Credits a bank transfer (VietQR) to the payment its description names.
pub async fn bank_credit(
    state: &AppState,
    c: &BankCredit,
    client: &str,
    now: OffsetDateTime,
) -> Result<BankCreditOutcome> {
    let q = state
        .payments
        .vietqr
        .as_ref()
        .ok_or_else(|| Error::Unavailable("VietQR transfers are not configured on this server".into()))?;
    if c.transaction_id.trim().is_empty() || c.transaction_id.len() > 64 {
        return Err(Error::invalid("transaction_id", "a transaction id is 1 to 64 characters"));
    }
    let reference = super::find_reference(&c.description);
    let detail = serde_json::json!({ "transaction_id": c.transaction_id, "amount": c.amount, "account": c.account });
    let mut tx = state.store.begin().await?;
    let found = match &reference {
        Some(r) if c.account == q.account => rows::for_update(&mut tx, r).await?,
        _ => None,
    };
    let Some(p) = found else {
        let e = NewEventRow {
            payment_id: None,
            kind: "bank_credit",
            provider: "vietqr",
            provider_event: Some(&c.transaction_id),
            outcome: "no_payment",
            detail: &detail.to_string(),
        };
        let fresh = rows::insert_event(&mut tx, &e, now).await?;
        tx.commit().await?;
        let outcome = if fresh { "no_payment" } else { "duplicate" };
        return Ok(BankCreditOutcome { outcome: outcome.into(), reference: None });
    };
    let payable = !status_of(&p)?.is_final();
    let outcome = if c.amount != p.amount {
        "wrong_amount"
    } else if !payable {
        "not_payable"
    } else {
        "credited"
    };
    let fresh = record(
        &mut tx,
        state,
        p.id,
        "bank_credit",
        "vietqr",
        Some(&c.transaction_id),
        outcome,
        detail,
        &Actor::system(),
        client,
        now,
    )
    .await?;
    if !fresh {
        // The same transfer told twice: the first telling counted.
        return Ok(BankCreditOutcome { outcome: "duplicate".into(), reference: Some(p.reference) });
    }
    let settled = if outcome == "credited" {
        Some(settle(&mut tx, state, &p, S::Succeeded, Some(P::Vietqr), Some(&c.transaction_id), "VietQR", now).await?)
    } else {
        None
    };
    tx.commit().await?;
    if let Some(after) = &settled {
        super::announce(state, after, now);
    }
    Ok(BankCreditOutcome { outcome: outcome.into(), reference: Some(p.reference) })
}
