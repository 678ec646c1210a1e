//! Stand-ins for VNPay and a bank, for the demo and tests: they check and sign exactly as the
//! real ones do, with the secrets this server is configured with, and call this server's IPN and
//! bank-notice endpoints over HTTP.

use std::collections::HashMap;
use std::sync::Mutex;

use q10_core_api::BankCredit;
use secrecy::ExposeSecret;
use time::OffsetDateTime;

use super::{Settings, vietqr, vnpay};
use crate::error::{Error, Result};

/// A transaction the simulated VNPay has seen.
#[derive(Debug, Clone)]
pub struct SimTxn {
    pub amount: String,
    pub order_info: String,
    pub transaction_no: String,
    pub status: String,
    pub pay_date: String,
}

/// What the simulated VNPay remembers, for `querydr`.
#[derive(Debug, Default)]
pub struct Ledger(Mutex<HashMap<String, SimTxn>>);

fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// Checks a payment URL's parameters as VNPay's page does.
pub fn check_payment_request(settings: &Settings, params: &[(String, String)]) -> Result<()> {
    let v = settings.vnpay.as_ref().ok_or_else(|| Error::Unavailable("VNPay is not configured".into()))?;
    if param(params, "vnp_TmnCode") != v.tmn_code {
        return Err(Error::invalid("vnp_TmnCode", "unknown merchant"));
    }
    if !vnpay::verify(v.hash_secret.expose_secret(), params) {
        return Err(Error::invalid("vnp_SecureHash", "the payment request's signature is not valid"));
    }
    let amount: i64 = param(params, "vnp_Amount").parse().unwrap_or(0);
    if amount <= 0 || amount % 100 != 0 {
        return Err(Error::invalid("vnp_Amount", "the amount is not a whole number of đồng times 100"));
    }
    Ok(())
}

/// The payer chose to pay (or cancel): VNPay's result parameters, signed, as the IPN and the
/// return URL receive them. Remembers the transaction.
pub fn complete(
    settings: &Settings,
    ledger: &Ledger,
    request: &[(String, String)],
    pay: bool,
    now: OffsetDateTime,
) -> Result<Vec<(String, String)>> {
    check_payment_request(settings, request)?;
    let v = settings.vnpay.as_ref().expect("checked above");
    let transaction_no = {
        use rand::Rng;
        format!("{}", rand::rng().random_range(10_000_000..100_000_000u32))
    };
    let (response, status) = if pay { ("00", "00") } else { ("24", "02") };
    let mut out: Vec<(String, String)> = [
        ("vnp_Amount", param(request, "vnp_Amount").to_string()),
        ("vnp_BankCode", "NCB".to_string()),
        ("vnp_BankTranNo", format!("VNP{transaction_no}")),
        ("vnp_CardType", "ATM".into()),
        ("vnp_OrderInfo", param(request, "vnp_OrderInfo").to_string()),
        ("vnp_PayDate", vnpay::stamp(now)),
        ("vnp_ResponseCode", response.into()),
        ("vnp_TmnCode", v.tmn_code.clone()),
        ("vnp_TransactionNo", transaction_no.clone()),
        ("vnp_TransactionStatus", status.into()),
        ("vnp_TxnRef", param(request, "vnp_TxnRef").to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let hash = vnpay::sign(v.hash_secret.expose_secret(), &out);
    out.push(("vnp_SecureHash".into(), hash));
    ledger.0.lock().expect("ledger lock").insert(
        param(request, "vnp_TxnRef").to_string(),
        SimTxn {
            amount: param(request, "vnp_Amount").to_string(),
            order_info: param(request, "vnp_OrderInfo").to_string(),
            transaction_no,
            status: status.into(),
            pay_date: vnpay::stamp(now),
        },
    );
    Ok(out)
}

/// Answers a `querydr` request as VNPay's merchant API does.
pub fn querydr(
    settings: &Settings,
    ledger: &Ledger,
    req: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    let v = settings.vnpay.as_ref();
    let get = |k: &str| req.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let mut out = serde_json::Map::new();
    let put = |out: &mut serde_json::Map<String, serde_json::Value>, k: &str, val: String| {
        out.insert(k.to_string(), val.into());
    };
    put(&mut out, "vnp_ResponseId", format!("sim{}", get("vnp_RequestId")));
    put(&mut out, "vnp_Command", "querydr".into());
    put(&mut out, "vnp_TmnCode", get("vnp_TmnCode"));
    put(&mut out, "vnp_TxnRef", get("vnp_TxnRef"));
    let Some(v) = v else {
        put(&mut out, "vnp_ResponseCode", "99".into());
        return out;
    };
    let secret = v.hash_secret.expose_secret();
    let (code, message) = if get("vnp_TmnCode") != v.tmn_code {
        ("02", "Merchant is not valid")
    } else if !vnpay::pipe_verify(secret, vnpay::QUERYDR_REQUEST, req) {
        ("97", "Invalid checksum")
    } else {
        match ledger.0.lock().expect("ledger lock").get(&get("vnp_TxnRef")) {
            None => ("91", "Transaction not found"),
            Some(t) => {
                put(&mut out, "vnp_Amount", t.amount.clone());
                put(&mut out, "vnp_BankCode", "NCB".into());
                put(&mut out, "vnp_PayDate", t.pay_date.clone());
                put(&mut out, "vnp_TransactionNo", t.transaction_no.clone());
                put(&mut out, "vnp_TransactionType", "01".into());
                put(&mut out, "vnp_TransactionStatus", t.status.clone());
                put(&mut out, "vnp_OrderInfo", t.order_info.clone());
                ("00", "QueryDR Success")
            }
        }
    };
    put(&mut out, "vnp_ResponseCode", code.into());
    put(&mut out, "vnp_Message", message.into());
    let hash = vnpay::pipe_hash(secret, vnpay::QUERYDR_RESPONSE, &out);
    out.insert("vnp_SecureHash".into(), hash.into());
    out
}

/// A banking app pays a VietQR payload: the credit notice the bank would send.
pub fn transfer(settings: &Settings, payload: &str, now: OffsetDateTime) -> Result<BankCredit> {
    let q = settings.vietqr.as_ref().ok_or_else(|| Error::Unavailable("VietQR is not configured".into()))?;
    let fields = vietqr::parse(payload.trim())?;
    let get = |id: &str| fields.iter().find(|(i, _)| i == id).map(|(_, v)| v.clone());
    let merchant = get("38").ok_or_else(|| Error::invalid("payload", "the code names no account"))?;
    // 38 holds 00 (GUID), 01 (BIN and account), 02 (service); the account must be ours.
    if !merchant.contains(&q.account) || !merchant.contains(&q.bin) {
        return Err(Error::invalid("payload", "the code pays an account this bank does not keep"));
    }
    let amount: i64 = get("54")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| Error::invalid("payload", "the code carries no amount; type one in the bank's app"))?;
    let purpose = get("62").and_then(|p| p.get(4..).map(str::to_string)).unwrap_or_default();
    let id = {
        use rand::Rng;
        format!("FT{}", rand::rng().random_range(100_000_000_000u64..1_000_000_000_000))
    };
    Ok(BankCredit {
        transaction_id: id,
        account: q.account.clone(),
        amount,
        description: format!("{purpose} chuyen khoan"),
        at: now,
    })
}
