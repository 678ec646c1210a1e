//! Payments over the API: creating intents (with `Idempotency-Key`), paying by VNPay or VietQR,
//! the cash desk, receipts, refunds; and the providers' side: VNPay's IPN and return URL, and
//! the bank's credit notices.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use q10_core_api::{
    BankCredit, BankCreditOutcome, IpnResponse, NewPayment, Payment, PaymentStatus, Receipt, RefundRequest, VietqrCode,
    VnpayRedirect, VnpayStart,
};
use serde::Deserialize;

use super::AppState;
use super::access::{Access, Caller, MaybeCaller, Routes, Source};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::error::{Error, Result};
use crate::payment::{self, gateway};

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::POST, "/api/v1/payments", Access::Public, post(create))
        .add(Method::GET, "/api/v1/payments", Access::Roles(payment::MANAGERS), get(list))
        .add(Method::GET, "/api/v1/payments/vnpay/ipn", Access::Public, get(vnpay_ipn))
        .add(Method::POST, "/api/v1/payments/bank-notify", Access::Public, post(bank_notify))
        .add(Method::GET, "/api/v1/payments/{reference}", Access::Public, get(one))
        .add(Method::POST, "/api/v1/payments/{reference}/vnpay", Access::Public, post(vnpay_start))
        .add(Method::POST, "/api/v1/payments/{reference}/vietqr", Access::Public, post(vietqr))
        .add(Method::POST, "/api/v1/payments/{reference}/cancel", Access::Public, post(cancel))
        .add(Method::POST, "/api/v1/payments/{reference}/cash", Access::Roles(payment::CASHIERS), post(cash))
        .add(Method::POST, "/api/v1/payments/{reference}/refund", Access::Roles(payment::MANAGERS), post(refund))
        .add(Method::GET, "/api/v1/payments/{reference}/receipt", Access::Public, get(receipt))
        .add(Method::GET, "/pay/vnpay/return", Access::Public, get(vnpay_return))
}

fn checked_reference(r: &str) -> Result<String> {
    let r = r.trim().to_ascii_uppercase();
    if r.len() == 14 && r.starts_with("Q10P") && r.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(r)
    } else {
        Err(Error::NotFound("payment"))
    }
}

async fn found(state: &AppState, reference: &str) -> Result<crate::store::payments::PaymentRow> {
    state.store.payment(&checked_reference(reference)?).await?.ok_or(Error::NotFound("payment"))
}

/// Creates a payment intent. Send an `Idempotency-Key` header: the same key with the same body
/// answers the same payment (200); with another body, 409. Anyone may create a dossier's fee
/// (its amount is the procedure's); other charges are created by the office's staff.
#[utoipa::path(post, path = "/api/v1/payments", tag = "payments", request_body = NewPayment,
    params(("Idempotency-Key" = String, Header, description = "unique per payment the client means to make")),
    responses(
        (status = 201, body = Payment, description = "created"),
        (status = 200, body = Payment, description = "the payment this key (or the dossier) already has"),
        (status = 400, body = q10_core_api::Problem),
        (status = 409, body = q10_core_api::Problem, description = "key reused with another body, or nothing to pay"),
    ))]
pub(super) async fn create(
    State(state): State<AppState>,
    MaybeCaller(who): MaybeCaller,
    Source(client): Source,
    headers: HeaderMap,
    ApiJson(req): ApiJson<NewPayment>,
) -> Result<(StatusCode, Json<Payment>)> {
    let key = payment::check_idempotency_key(headers.get("idempotency-key").and_then(|v| v.to_str().ok()))?;
    let (p, created) = payment::create(&state, who.as_ref(), &key, &req, &client, state.now()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(payment::view(&p)?)))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    status: Option<String>,
    /// 1 to 500 (default 100).
    limit: Option<i64>,
}

/// The latest payments, newest first.
#[utoipa::path(get, path = "/api/v1/payments", tag = "payments", params(ListQuery),
    responses((status = 200, body = Vec<Payment>), (status = 400, body = q10_core_api::Problem)))]
pub(super) async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<Payment>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid("limit", "limit is 1 to 500"));
    }
    if let Some(s) = &q.status
        && PaymentStatus::parse(s).is_none()
    {
        return Err(Error::invalid("status", format!("there is no status '{s}'")));
    }
    let rows = state.store.payments_list(q.status.as_deref(), limit).await?;
    Ok(Json(rows.iter().map(payment::view).collect::<Result<Vec<_>>>()?))
}

/// A payment, by its reference.
#[utoipa::path(get, path = "/api/v1/payments/{reference}", tag = "payments", params(("reference" = String, Path)),
    responses((status = 200, body = Payment), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn one(State(state): State<AppState>, ApiPath(reference): ApiPath<String>) -> Result<Json<Payment>> {
    Ok(Json(payment::view(&found(&state, &reference).await?)?))
}

/// Pays with VNPay: answers the URL of VNPay's payment page to send the payer to.
#[utoipa::path(post, path = "/api/v1/payments/{reference}/vnpay", tag = "payments", params(("reference" = String, Path)),
    request_body = VnpayStart, responses(
        (status = 200, body = VnpayRedirect),
        (status = 404, body = q10_core_api::Problem),
        (status = 409, body = q10_core_api::Problem, description = "already paid, failed or canceled"),
        (status = 503, body = q10_core_api::Problem, description = "VNPay is not configured"),
    ))]
pub(super) async fn vnpay_start(
    State(state): State<AppState>,
    Source(client): Source,
    ApiPath(reference): ApiPath<String>,
    body: Bytes,
) -> Result<Json<VnpayRedirect>> {
    let reference = checked_reference(&reference)?;
    let start: VnpayStart = if body.iter().all(u8::is_ascii_whitespace) {
        VnpayStart::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| Error::invalid("body", format!("not a VNPay request: {e}")))?
    };
    let ip = if client == "local" { "127.0.0.1".to_string() } else { client };
    let url =
        gateway::start_vnpay(&state, &reference, start.locale.as_deref(), start.bank_code.as_deref(), &ip, state.now())
            .await?;
    Ok(Json(VnpayRedirect { redirect_url: url }))
}

/// Pays by bank transfer: a dynamic VietQR code with the amount and the reference, which any
/// Vietnamese banking app reads. The payment settles when the bank's notice arrives.
#[utoipa::path(post, path = "/api/v1/payments/{reference}/vietqr", tag = "payments", params(("reference" = String, Path)),
    responses(
        (status = 200, body = VietqrCode),
        (status = 404, body = q10_core_api::Problem),
        (status = 409, body = q10_core_api::Problem, description = "already paid, failed or canceled"),
        (status = 503, body = q10_core_api::Problem, description = "VietQR is not configured"),
    ))]
pub(super) async fn vietqr(
    State(state): State<AppState>,
    ApiPath(reference): ApiPath<String>,
) -> Result<Json<VietqrCode>> {
    let reference = checked_reference(&reference)?;
    Ok(Json(gateway::vietqr_code(&state, &reference, state.now()).await?))
}

/// Abandons a payment that is not at VNPay.
#[utoipa::path(post, path = "/api/v1/payments/{reference}/cancel", tag = "payments", params(("reference" = String, Path)),
    responses(
        (status = 200, body = Payment),
        (status = 404, body = q10_core_api::Problem),
        (status = 409, body = q10_core_api::Problem),
    ))]
pub(super) async fn cancel(
    State(state): State<AppState>,
    MaybeCaller(who): MaybeCaller,
    Source(client): Source,
    ApiPath(reference): ApiPath<String>,
) -> Result<Json<Payment>> {
    let reference = checked_reference(&reference)?;
    Ok(Json(payment::view(&payment::cancel(&state, who.as_ref(), &reference, &client, state.now()).await?)?))
}

/// The cash desk takes the amount in cash; the receipt is issued.
#[utoipa::path(post, path = "/api/v1/payments/{reference}/cash", tag = "payments", params(("reference" = String, Path)),
    responses(
        (status = 200, body = Payment),
        (status = 404, body = q10_core_api::Problem),
        (status = 409, body = q10_core_api::Problem, description = "already paid, or at VNPay"),
    ))]
pub(super) async fn cash(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(client): Source,
    ApiPath(reference): ApiPath<String>,
) -> Result<Json<Payment>> {
    let reference = checked_reference(&reference)?;
    Ok(Json(payment::view(&payment::take_cash(&state, &who, &reference, &client, state.now()).await?)?))
}

/// Records that a paid payment was given back, with the reason.
#[utoipa::path(post, path = "/api/v1/payments/{reference}/refund", tag = "payments", params(("reference" = String, Path)),
    request_body = RefundRequest, responses(
        (status = 200, body = Payment),
        (status = 400, body = q10_core_api::Problem),
        (status = 404, body = q10_core_api::Problem),
        (status = 409, body = q10_core_api::Problem, description = "not paid"),
    ))]
pub(super) async fn refund(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(client): Source,
    ApiPath(reference): ApiPath<String>,
    ApiJson(req): ApiJson<RefundRequest>,
) -> Result<Json<Payment>> {
    let reference = checked_reference(&reference)?;
    Ok(Json(payment::view(&payment::refund(&state, &who, &reference, &req.reason, &client, state.now()).await?)?))
}

/// The receipt of a paid payment.
#[utoipa::path(get, path = "/api/v1/payments/{reference}/receipt", tag = "payments", params(("reference" = String, Path)),
    responses(
        (status = 200, body = Receipt),
        (status = 404, body = q10_core_api::Problem),
        (status = 409, body = q10_core_api::Problem, description = "not paid"),
    ))]
pub(super) async fn receipt(
    State(state): State<AppState>,
    ApiPath(reference): ApiPath<String>,
) -> Result<Json<Receipt>> {
    let p = found(&state, &reference).await?;
    Ok(Json(payment::receipt(&state, &p).await?))
}

fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default()
}

/// VNPay's Instant Payment Notification. Always 200 with `RspCode`: 00 recorded, 01 no such
/// order, 02 already confirmed, 04 wrong amount, 97 bad signature, 99 other.
#[utoipa::path(get, path = "/api/v1/payments/vnpay/ipn", tag = "payments",
    responses((status = 200, body = IpnResponse)))]
pub(super) async fn vnpay_ipn(
    State(state): State<AppState>,
    Source(client): Source,
    RawQuery(raw): RawQuery,
) -> Json<IpnResponse> {
    let params = query_pairs(raw.as_deref());
    let answer = match gateway::ipn(&state, &params, &client, state.now()).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "VNPay IPN failed");
            crate::payment::vnpay::IpnAnswer::Unknown
        }
    };
    Json(IpnResponse { rsp_code: answer.code().into(), message: answer.message().into() })
}

/// Where VNPay sends the payer back. Shows the payment's page; the payment itself is settled
/// by the IPN, or by asking VNPay at once when the IPN has not come.
#[utoipa::path(get, path = "/pay/vnpay/return", tag = "payments",
    responses((status = 303, description = "to the payment's page")))]
pub(super) async fn vnpay_return(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let params = query_pairs(raw.as_deref());
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let signed =
        state.payments.vnpay.as_ref().is_some_and(|v| {
            crate::payment::vnpay::verify(secrecy::ExposeSecret::expose_secret(&v.hash_secret), &params)
        });
    let Ok(reference) = checked_reference(&get("vnp_TxnRef")) else {
        return Redirect::to("/pay?result=invalid").into_response();
    };
    if !signed {
        return Redirect::to(&format!("/pay?ref={reference}&result=invalid")).into_response();
    }
    if let Ok(Some(p)) = state.store.payment(&reference).await
        && p.status == PaymentStatus::Processing.as_str()
    {
        // The IPN may be late or lost: ask VNPay now rather than at the next sweep.
        let state2 = state.clone();
        tokio::spawn(async move {
            if let Err(e) = gateway::query_one(&state2, &p, state2.now()).await {
                tracing::warn!(error = %e, "querydr after the return failed");
            }
        });
    }
    let code: String = get("vnp_ResponseCode").chars().filter(|c| c.is_ascii_digit()).take(2).collect();
    Redirect::to(&format!("/pay?ref={reference}&result={code}")).into_response()
}

/// The bank's notice of a transfer to the office's account (VietQR), signed per Standard Webhooks
/// (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the secret agreed with the bank.
/// A transfer is credited once, and only to the payment its description names, for its amount.
#[utoipa::path(post, path = "/api/v1/payments/bank-notify", tag = "payments", request_body = BankCredit, responses(
    (status = 200, body = BankCreditOutcome),
    (status = 400, body = q10_core_api::Problem, description = "not signed, or not a credit notice"),
    (status = 503, body = q10_core_api::Problem, description = "bank notices are not configured"),
))]
pub(super) async fn bank_notify(
    State(state): State<AppState>,
    Source(client): Source,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<BankCreditOutcome>> {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = std::str::from_utf8(&body).map_err(|_| Error::invalid("body", "the notice is not UTF-8"))?;
    let now = state.now();
    gateway::verify_notice(&state, &h("webhook-id"), &h("webhook-timestamp"), &h("webhook-signature"), text, now)?;
    let credit: BankCredit =
        serde_json::from_str(text).map_err(|e| Error::invalid("body", format!("not a credit notice: {e}")))?;
    Ok(Json(gateway::bank_credit(&state, &credit, &client, now).await?))
}
