//! VNPay PAY API 2.1.0: the signed payment URL the payer is sent to, and checking the signed
//! parameters VNPay sends back (return URL and IPN).
//!
//! Signing: the `vnp_` parameters sorted by name, each name and value form-encoded, joined as
//! `k=v&k=v`, and `vnp_SecureHash` = hex HMAC-SHA512 of that string under the merchant's secret.

use hmac::{Hmac, Mac};
use sha2::Sha512;
use subtle::ConstantTimeEq;

/// The string VNPay signs: sorted, form-encoded `k=v` pairs joined with `&`, without the hash
/// fields themselves.
pub fn signing_string(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(k, v)| k != "vnp_SecureHash" && k != "vnp_SecureHashType" && !v.is_empty()).collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    serde_urlencoded::to_string(sorted).expect("pairs of strings encode")
}

/// The hex HMAC-SHA512 of the signing string.
pub fn sign(secret: &[u8], params: &[(String, String)]) -> String {
    hmac_hex(secret, &signing_string(params))
}

/// Whether the parameters carry a valid `vnp_SecureHash` (compared in constant time, case
/// ignored).
pub fn verify(secret: &[u8], params: &[(String, String)]) -> bool {
    let Some((_, given)) = params.iter().find(|(k, _)| k == "vnp_SecureHash") else {
        return false;
    };
    let want = sign(secret, params);
    bool::from(want.as_bytes().ct_eq(given.to_ascii_lowercase().as_bytes()))
}

/// The payment URL: `base` with the parameters and their hash.
pub fn payment_url(base: &str, secret: &[u8], params: &[(String, String)]) -> String {
    let query = signing_string(params);
    format!("{base}?{query}&vnp_SecureHash={}", sign(secret, params))
}

/// The hex HMAC-SHA512 of `data`.
pub fn hmac_hex(secret: &[u8], data: &str) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(data.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The fields a `querydr` request signs, in order, joined with `|`.
pub const QUERYDR_REQUEST: &[&str] = &[
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_TransactionDate",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
];

/// The fields a `querydr` response signs, in order, joined with `|`.
pub const QUERYDR_RESPONSE: &[&str] = &[
    "vnp_ResponseId",
    "vnp_Command",
    "vnp_ResponseCode",
    "vnp_Message",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_BankCode",
    "vnp_PayDate",
    "vnp_TransactionNo",
    "vnp_TransactionType",
    "vnp_TransactionStatus",
    "vnp_OrderInfo",
    "vnp_PromotionCode",
    "vnp_PromotionAmount",
];

/// The pipe-joined hash of a merchant-API message: `fields` read from `message` (missing: empty).
pub fn pipe_hash(secret: &[u8], fields: &[&str], message: &serde_json::Map<String, serde_json::Value>) -> String {
    let values: Vec<String> = fields
        .iter()
        .map(|f| match message.get(*f) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        })
        .collect();
    hmac_hex(secret, &values.join("|"))
}

/// Whether a merchant-API message carries a valid `vnp_SecureHash` over `fields`.
pub fn pipe_verify(secret: &[u8], fields: &[&str], message: &serde_json::Map<String, serde_json::Value>) -> bool {
    let Some(given) = message.get("vnp_SecureHash").and_then(|v| v.as_str()) else {
        return false;
    };
    let want = pipe_hash(secret, fields, message);
    bool::from(want.as_bytes().ct_eq(given.to_ascii_lowercase().as_bytes()))
}

/// VNPay's time stamps: `yyyyMMddHHmmss` in Vietnam's time.
pub fn stamp(at: time::OffsetDateTime) -> String {
    let t = at.to_offset(time::UtcOffset::from_hms(7, 0, 0).expect("UTC+7 is an offset"));
    format!("{:04}{:02}{:02}{:02}{:02}{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second())
}

/// What our IPN endpoint answers VNPay (`RspCode`), per the integration guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpnAnswer {
    /// 00: recorded.
    Confirmed,
    /// 01: no such order.
    OrderNotFound,
    /// 02: the order was already confirmed.
    AlreadyConfirmed,
    /// 04: the amount is not the order's.
    InvalidAmount,
    /// 97: the signature is wrong.
    InvalidSignature,
    /// 99: anything else.
    Unknown,
}

impl IpnAnswer {
    pub fn code(self) -> &'static str {
        match self {
            IpnAnswer::Confirmed => "00",
            IpnAnswer::OrderNotFound => "01",
            IpnAnswer::AlreadyConfirmed => "02",
            IpnAnswer::InvalidAmount => "04",
            IpnAnswer::InvalidSignature => "97",
            IpnAnswer::Unknown => "99",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            IpnAnswer::Confirmed => "Confirm Success",
            IpnAnswer::OrderNotFound => "Order not found",
            IpnAnswer::AlreadyConfirmed => "Order already confirmed",
            IpnAnswer::InvalidAmount => "Invalid amount",
            IpnAnswer::InvalidSignature => "Invalid signature",
            IpnAnswer::Unknown => "Unknown error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_in_vietnam_time_and_pipe_hashes_follow_the_field_order() {
        assert_eq!(stamp(time::macros::datetime!(2026-11-25 20:05:09 UTC)), "20261126030509");
        let mut m = serde_json::Map::new();
        m.insert("vnp_ResponseId".into(), "r1".into());
        m.insert("vnp_Command".into(), "querydr".into());
        let h = pipe_hash(b"k", QUERYDR_RESPONSE, &m);
        assert_eq!(h, hmac_hex(b"k", &format!("r1|querydr{}", "|".repeat(13))));
        m.insert("vnp_SecureHash".into(), h.into());
        assert!(pipe_verify(b"k", QUERYDR_RESPONSE, &m));
        m.insert("vnp_Amount".into(), "100".into());
        assert!(!pipe_verify(b"k", QUERYDR_RESPONSE, &m));
    }

    fn params() -> Vec<(String, String)> {
        [
            ("vnp_Version", "2.1.0"),
            ("vnp_Command", "pay"),
            ("vnp_TmnCode", "Q10DEMO1"),
            ("vnp_Amount", "15000000"),
            ("vnp_CurrCode", "VND"),
            ("vnp_TxnRef", "PAY000123"),
            ("vnp_OrderInfo", "Le phi ho so 1.000948 Q10"),
            ("vnp_OrderType", "other"),
            ("vnp_Locale", "vn"),
            ("vnp_ReturnUrl", "https://q10.example.vn/pay/return?x=1"),
            ("vnp_IpAddr", "127.0.0.1"),
            ("vnp_CreateDate", "20261125190000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn the_signing_string_is_sorted_and_form_encoded() {
        let s = signing_string(&params());
        assert!(s.starts_with("vnp_Amount=15000000&vnp_Command=pay&vnp_CreateDate=20261125190000"), "{s}");
        assert!(s.contains("vnp_OrderInfo=Le+phi+ho+so+1.000948+Q10"), "{s}");
        assert!(s.contains("vnp_ReturnUrl=https%3A%2F%2Fq10.example.vn%2Fpay%2Freturn%3Fx%3D1"), "{s}");
    }

    #[test]
    fn signatures_verify_and_any_change_breaks_them() {
        let secret = b"a merchant secret of the demo";
        let mut p = params();
        let hash = sign(secret, &p);
        assert_eq!(hash.len(), 128);
        p.push(("vnp_SecureHash".into(), hash.to_uppercase()));
        p.push(("vnp_SecureHashType".into(), "HmacSHA512".into()));
        assert!(verify(secret, &p));
        assert!(!verify(b"another secret", &p));
        let mut changed = p.clone();
        changed[3].1 = "1500000".into();
        assert!(!verify(secret, &changed), "a changed amount");
        let url = payment_url("https://sandbox.vnpayment.vn/paymentv2/vpcpay.html", secret, &params());
        let query = url.split_once('?').unwrap().1;
        let back: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        assert!(verify(secret, &back), "the URL's own parameters verify");
    }
}
