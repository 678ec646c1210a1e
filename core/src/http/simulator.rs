//! The providers' simulators, served under `/sim/` when the deployment enables them (the demo
//! and tests): VNPay's payment page and merchant API, and a bank's transfer page that pays a
//! VietQR payload. Elsewhere these paths answer 404.

use axum::Json;
use axum::extract::{Form, RawQuery, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::AppState;
use super::access::{Access, Routes};
use crate::error::{Error, Result};
use crate::payment::simulator;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/sim/vnpay/pay", Access::Public, get(vnpay_page))
        .add(Method::POST, "/sim/vnpay/pay", Access::Public, post(vnpay_decide))
        .add(Method::POST, "/sim/vnpay/api", Access::Public, post(vnpay_api))
        .add(Method::GET, "/sim/bank", Access::Public, get(bank_page))
        .add(Method::POST, "/sim/bank/transfer", Access::Public, post(bank_transfer))
}

fn enabled(state: &AppState) -> Result<()> {
    if state.payments.simulator { Ok(()) } else { Err(Error::NotFound("page")) }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#111}}\
         .sim{{background:#fff3cd;border:1px solid #8a6d00;padding:.5rem .75rem}}dt{{font-weight:bold}}button{{font-size:1rem;padding:.5rem 1rem;margin:.25rem}}\
         textarea{{width:100%;font-family:monospace}}</style></head><body><p class=\"sim\">Trình mô phỏng — không có tiền thật. \
         Simulator — no real money moves.</p>{body}</body></html>"
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn pairs(raw: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(raw).unwrap_or_default()
}

/// Simulator: VNPay's payment page, showing the order if its signature is good.
#[utoipa::path(get, path = "/sim/vnpay/pay", tag = "simulator",
    responses((status = 200, content_type = "text/html"), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn vnpay_page(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response> {
    enabled(&state)?;
    let raw = raw.unwrap_or_default();
    let params = pairs(&raw);
    if let Err(e) = simulator::check_payment_request(&state.payments, &params) {
        return Ok(page(
            "VNPay — lỗi",
            &format!("<h1>Giao dịch không hợp lệ</h1><p role=\"alert\">{}</p>", escape(&e.to_string())),
        ));
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("");
    let amount: i64 = get("vnp_Amount").parse().unwrap_or(0) / 100;
    let body = format!(
        "<h1>Cổng thanh toán VNPay</h1><dl><dt>Đơn hàng</dt><dd data-testid=\"sim-order\">{}</dd><dt>Nội dung</dt><dd>{}</dd>\
         <dt>Số tiền</dt><dd data-testid=\"sim-amount\">{} VND</dd></dl>\
         <form method=\"post\" action=\"/sim/vnpay/pay\"><input type=\"hidden\" name=\"q\" value=\"{}\">\
         <label><input type=\"checkbox\" name=\"skip_ipn\" value=\"1\"> Không gửi IPN (mô phỏng IPN bị mất)</label><br>\
         <button name=\"outcome\" value=\"pay\" data-testid=\"sim-pay\">Thanh toán</button>\
         <button name=\"outcome\" value=\"cancel\" data-testid=\"sim-cancel\">Hủy giao dịch</button></form>",
        escape(get("vnp_TxnRef")),
        escape(get("vnp_OrderInfo")),
        amount,
        escape(&raw),
    );
    Ok(page("VNPay (mô phỏng)", &body))
}

#[derive(Debug, Deserialize)]
pub(super) struct Decision {
    q: String,
    outcome: String,
    #[serde(default)]
    skip_ipn: Option<String>,
}

/// Simulator: the payer paid or canceled; VNPay calls the merchant's IPN, then sends the payer
/// back to the return URL.
#[utoipa::path(post, path = "/sim/vnpay/pay", tag = "simulator",
    responses((status = 303, description = "back to the merchant"), (status = 400, body = q10_core_api::Problem), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn vnpay_decide(State(state): State<AppState>, Form(d): Form<Decision>) -> Result<Response> {
    enabled(&state)?;
    let request = pairs(&d.q);
    let result =
        simulator::complete(&state.payments, &state.payments.ledger, &request, d.outcome == "pay", state.now())?;
    if d.skip_ipn.is_none() {
        let query = serde_urlencoded::to_string(&result).map_err(|e| Error::Internal(e.into()))?;
        let url = format!("{}/api/v1/payments/vnpay/ipn?{query}", state.payments.public_url);
        match reqwest::get(&url).await {
            Ok(r) => tracing::info!(status = %r.status(), "simulated VNPay delivered the IPN"),
            Err(e) => tracing::warn!(error = %e, "simulated VNPay could not deliver the IPN"),
        }
    }
    let back = request.iter().find(|(k, _)| k == "vnp_ReturnUrl").map(|(_, v)| v.clone()).unwrap_or_default();
    let query = serde_urlencoded::to_string(&result).map_err(|e| Error::Internal(e.into()))?;
    Ok(Redirect::to(&format!("{back}?{query}")).into_response())
}

/// Simulator: VNPay's merchant API (`querydr`).
#[utoipa::path(post, path = "/sim/vnpay/api", tag = "simulator",
    responses((status = 200, description = "VNPay's signed answer"), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn vnpay_api(
    State(state): State<AppState>,
    Json(req): Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<Response> {
    enabled(&state)?;
    if req.get("vnp_Command").and_then(|c| c.as_str()) != Some("querydr") {
        return Ok((StatusCode::BAD_REQUEST, Json(serde_json::json!({ "vnp_ResponseCode": "99" }))).into_response());
    }
    Ok(Json(simulator::querydr(&state.payments, &state.payments.ledger, &req)).into_response())
}

/// Simulator: a bank's app; paste (or scan) a VietQR payload and transfer.
#[utoipa::path(get, path = "/sim/bank", tag = "simulator",
    responses((status = 200, content_type = "text/html"), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn bank_page(State(state): State<AppState>) -> Result<Response> {
    enabled(&state)?;
    Ok(page(
        "Ngân hàng (mô phỏng)",
        "<h1>Chuyển khoản bằng VietQR</h1><form method=\"post\" action=\"/sim/bank/transfer\">\
         <label for=\"payload\">Mã VietQR (nội dung mã)</label>\
         <textarea id=\"payload\" name=\"payload\" rows=\"5\" required data-testid=\"sim-bank-payload\"></textarea>\
         <button data-testid=\"sim-bank-transfer\">Chuyển khoản</button></form>",
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct Transfer {
    payload: String,
}

/// Simulator: the bank moves the money and sends the office's server its signed notice.
#[utoipa::path(post, path = "/sim/bank/transfer", tag = "simulator",
    responses((status = 200, content_type = "text/html"), (status = 400, body = q10_core_api::Problem), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn bank_transfer(State(state): State<AppState>, Form(t): Form<Transfer>) -> Result<Response> {
    enabled(&state)?;
    let credit = match simulator::transfer(&state.payments, &t.payload, state.now()) {
        Ok(c) => c,
        Err(e) => {
            return Ok(page(
                "Ngân hàng — lỗi",
                &format!("<h1>Không chuyển được</h1><p role=\"alert\">{}</p>", escape(&e.to_string())),
            ));
        }
    };
    let secret = state.payments.bank_secret.as_ref().ok_or_else(|| Error::Unavailable("no bank secret".into()))?;
    let body = serde_json::to_string(&credit).map_err(|e| Error::Internal(e.into()))?;
    let id = format!("msg_{}", credit.transaction_id);
    let ts = state.now().unix_timestamp();
    let signature = crate::outbox::sign(secrecy::ExposeSecret::expose_secret(secret), &id, ts, &body);
    let answer = reqwest::Client::new()
        .post(format!("{}/api/v1/payments/bank-notify", state.payments.public_url))
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| Error::Unavailable(format!("the office's server did not answer: {e}")))?;
    let status = answer.status();
    let text = answer.text().await.unwrap_or_default();
    Ok(page(
        "Ngân hàng (mô phỏng)",
        &format!(
            "<h1>Đã chuyển khoản</h1><dl><dt>Mã giao dịch</dt><dd>{}</dd><dt>Số tiền</dt><dd data-testid=\"sim-bank-amount\">{} VND</dd>\
             <dt>Nội dung</dt><dd>{}</dd><dt>Máy chủ trả lời</dt><dd data-testid=\"sim-bank-answer\">{} {}</dd></dl>",
            escape(&credit.transaction_id),
            credit.amount,
            escape(&credit.description),
            status.as_u16(),
            escape(&text)
        ),
    ))
}
