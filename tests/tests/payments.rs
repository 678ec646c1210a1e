//! Payments end to end over a real loopback socket, on SQLite and on PostgreSQL: idempotent
//! intents, VNPay through its simulator (payment page, IPN, return, querydr), VietQR with the
//! bank's signed notices, the cash desk, refunds, receipts without gaps, and IPNs that arrive
//! twice, out of order, with a wrong amount or a forged signature.

use std::sync::Arc;

use q10_core::clock::{Clock, ManualClock};

use q10_core::outbox::{Destination, Outbound};
use q10_core::payment::{gateway, vietqr, vnpay};
use q10_core_api::Role;
use q10_tests::{Demo, Engine, TEST_BANK_SECRET, TEST_VNPAY_SECRET, TestDb, demo_with};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use time::Duration;
use time::macros::datetime;

q10_tests::on_both_engines!(
    intents_are_idempotent,
    a_fee_is_paid_by_vnpay_through_the_simulator,
    ipns_never_credit_twice_or_wrongly,
    querydr_settles_what_the_ipn_did_not,
    a_fee_is_paid_by_vietqr_and_the_bank_notice_counts_once,
    the_cash_desk_issues_receipts_without_gaps,
    refunds_are_recorded_and_reopen_the_fee,
    subscribers_hear_of_dossiers_and_payments,
);

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const PDF: &[u8] = b"%PDF-1.4\n%%EOF\n";

async fn setup(engine: Engine) -> Option<(TestDb, Demo, Arc<ManualClock>)> {
    setup_with(engine, Outbound::default()).await
}

async fn setup_with(engine: Engine, outbound: Outbound) -> Option<(TestDb, Demo, Arc<ManualClock>)> {
    let db = TestDb::new(engine).await?;
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-25 03:00 UTC)));
    let demo = demo_with(db.store().await, Some(clock.clone()), outbound).await;
    Some((db, demo, clock))
}

/// A dossier with a 15,000 VND fee; its code.
async fn dossier(demo: &Demo) -> String {
    let body = json!({
        "procedure": "1.000894",
        "ward": "27211",
        "applicant": { "full_name": "Trần Văn Cường", "id_number": "079203099999", "phone": "0987654321", "address": "5 Lý Thường Kiệt" }
    });
    let form = Form::new()
        .text("dossier", body.to_string())
        .part("doc:application", Part::bytes(PDF).file_name("a.pdf"))
        .part("doc:id_card", Part::bytes(PNG).file_name("b.png"));
    let res = demo.http.post(demo.server.url("/api/v1/dossiers")).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_string()
}

async fn create(demo: &Demo, token: Option<&str>, key: &str, body: &Value) -> (StatusCode, Value) {
    let mut req = demo.http.post(demo.server.url("/api/v1/payments")).header("Idempotency-Key", key).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn fee_intent(demo: &Demo, code: &str) -> String {
    let (status, p) =
        create(demo, None, &format!("k-{code}"), &json!({ "purpose": "dossier_fee", "dossier_code": code })).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    p["reference"].as_str().unwrap().to_string()
}

async fn payment(demo: &Demo, reference: &str) -> Value {
    demo.http.get(demo.server.url(&format!("/api/v1/payments/{reference}"))).send().await.unwrap().json().await.unwrap()
}

async fn receipt_numbers(demo: &Demo) -> Vec<i64> {
    demo.server.state.store.receipt_numbers().await.unwrap()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Starts VNPay for a payment: the simulator page's URL.
async fn start_vnpay(demo: &Demo, reference: &str) -> String {
    let res = demo
        .http
        .post(demo.server.url(&format!("/api/v1/payments/{reference}/vnpay")))
        .json(&json!({ "locale": "vn" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["redirect_url"].as_str().unwrap().to_string()
}

/// The payer decides on the simulated VNPay page; the redirect back.
async fn decide(demo: &Demo, url: &str, outcome: &str, skip_ipn: bool) -> String {
    let query = url.split_once('?').unwrap().1;
    let mut form = vec![("q", query.to_string()), ("outcome", outcome.to_string())];
    if skip_ipn {
        form.push(("skip_ipn", "1".into()));
    }
    let res = no_redirects().post(demo.server.url("/sim/vnpay/pay")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    res.headers()["location"].to_str().unwrap().to_string()
}

async fn intents_are_idempotent(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine).await else { return };
    let code = dossier(&demo).await;
    let body = json!({ "purpose": "dossier_fee", "dossier_code": code });
    let (status, first) = create(&demo, None, "same-key", &body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first["amount"], 15000);
    assert_eq!(first["status"], "requires_payment");
    let (status, again) = create(&demo, None, "same-key", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["reference"], first["reference"], "same key, same body: the same payment");
    let (status, v) =
        create(&demo, None, "same-key", &json!({ "purpose": "dossier_fee", "dossier_code": "HS-00000-00000" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "same key, another body: {v}");
    let (status, other) = create(&demo, None, "another-key", &body).await;
    assert_eq!(status, StatusCode::OK, "one live intent per dossier");
    assert_eq!(other["reference"], first["reference"]);
    let res = demo.http.post(demo.server.url("/api/v1/payments")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "the key is required");
    let (status, _) =
        create(&demo, None, "k2", &json!({ "purpose": "dossier_fee", "dossier_code": code, "amount": 1 })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the fee is not the payer's to set");
    let tuition = json!({ "purpose": "tuition", "amount": 1_250_000, "description": "Học phí tháng 12 — Trường Tiểu học Trưng Trắc" });
    let (status, _) = create(&demo, None, "t1", &tuition).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "charges other than fees are the office's to create");
    let cashier = demo.token(Role::Cashier).await;
    let (status, t) = create(&demo, Some(&cashier), "t1", &tuition).await;
    assert_eq!(status, StatusCode::CREATED, "keys are per caller: {t}");
    assert_eq!(t["amount"], 1_250_000);
    // Abandoned before any provider saw it: canceled, with no provider named.
    let res = demo
        .http
        .post(demo.server.url(&format!("/api/v1/payments/{}/cancel", t["reference"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    let canceled: Value = res.json().await.unwrap();
    assert_eq!((canceled["status"].as_str(), &canceled["provider"]), (Some("canceled"), &Value::Null), "{canceled}");
    let (status, _) =
        create(&demo, Some(&cashier), "t2", &json!({ "purpose": "tuition", "amount": 0, "description": "x" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn a_fee_is_paid_by_vnpay_through_the_simulator(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine).await else { return };
    let code = dossier(&demo).await;
    let reference = fee_intent(&demo, &code).await;
    let url = start_vnpay(&demo, &reference).await;
    assert!(url.starts_with(&demo.server.url("/sim/vnpay/pay?")), "{url}");
    let params: Vec<(String, String)> = serde_urlencoded::from_str(url.split_once('?').unwrap().1).unwrap();
    assert!(vnpay::verify(TEST_VNPAY_SECRET, &params), "the URL is signed with the merchant's secret");
    let get = |k: &str| params.iter().find(|(n, _)| n == k).unwrap().1.clone();
    assert_eq!(get("vnp_Amount"), "1500000", "VND × 100");
    assert_eq!(get("vnp_TxnRef"), reference);
    assert_eq!(get("vnp_CreateDate"), "20261125100000", "Vietnam's time");
    assert_eq!(payment(&demo, &reference).await["status"], "processing");
    let page = demo.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("15000 VND") && page.contains(&reference), "{page}");
    // A tampered URL is refused by the payment page.
    let tampered = url.replace("vnp_Amount=1500000", "vnp_Amount=100");
    assert!(demo.http.get(&tampered).send().await.unwrap().text().await.unwrap().contains("không hợp lệ"));

    let back = decide(&demo, &url, "pay", false).await;
    assert!(back.starts_with(&demo.server.url("/pay/vnpay/return?")), "{back}");
    let paid = payment(&demo, &reference).await;
    assert_eq!(paid["status"], "succeeded", "the IPN came before the payer returned: {paid}");
    assert_eq!(paid["provider"], "vnpay");
    assert_eq!(paid["receipt_number"], 1);
    let res = no_redirects().get(&back).send().await.unwrap();
    assert_eq!(res.headers()["location"], format!("/pay?ref={reference}&result=00").as_str());
    let forged = back.replace("vnp_ResponseCode=00", "vnp_ResponseCode=01");
    let res = no_redirects().get(&forged).send().await.unwrap();
    assert_eq!(res.headers()["location"], format!("/pay?ref={reference}&result=invalid").as_str());
    let receipt: Value = demo
        .http
        .get(demo.server.url(&format!("/api/v1/payments/{reference}/receipt")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(receipt["number"], 1);
    assert_eq!(receipt["method"], "vnpay");
    assert_eq!(receipt["dossier_code"], code.as_str());
    let d: Value = demo
        .http
        .post(demo.server.url("/api/v1/dossiers/track"))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["fee_paid"], true);
    let (status, _) = create(&demo, None, "after", &json!({ "purpose": "dossier_fee", "dossier_code": code })).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing more to pay");

    // A canceled payment at VNPay fails the intent; a new one can be made.
    let code2 = dossier(&demo).await;
    let r2 = fee_intent(&demo, &code2).await;
    let url2 = start_vnpay(&demo, &r2).await;
    decide(&demo, &url2, "cancel", false).await;
    assert_eq!(payment(&demo, &r2).await["status"], "failed");
    let (status, again) =
        create(&demo, None, "retry", &json!({ "purpose": "dossier_fee", "dossier_code": code2 })).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(again["reference"], r2.as_str());
    assert_eq!(receipt_numbers(&demo).await, [1]);
}

/// An IPN as VNPay would send it for `reference`, signed with `secret`.
fn ipn_params(secret: &[u8], reference: &str, amount_x100: &str, response: &str, txn: &str) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = [
        ("vnp_Amount", amount_x100),
        ("vnp_BankCode", "NCB"),
        ("vnp_OrderInfo", "Thanh toan"),
        ("vnp_PayDate", "20261125101500"),
        ("vnp_ResponseCode", response),
        ("vnp_TmnCode", "Q10DEMO1"),
        ("vnp_TransactionNo", txn),
        ("vnp_TransactionStatus", if response == "00" { "00" } else { "02" }),
        ("vnp_TxnRef", reference),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let hash = vnpay::sign(secret, &p);
    p.push(("vnp_SecureHash".into(), hash));
    p
}

async fn send_ipn(demo: &Demo, params: &[(String, String)]) -> String {
    let q = serde_urlencoded::to_string(params).unwrap();
    let v: Value = demo
        .http
        .get(demo.server.url(&format!("/api/v1/payments/vnpay/ipn?{q}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["RspCode"].as_str().unwrap().to_string()
}

async fn ipns_never_credit_twice_or_wrongly(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine).await else { return };
    let (a, b) = (dossier(&demo).await, dossier(&demo).await);
    let (ra, rb) = (fee_intent(&demo, &a).await, fee_intent(&demo, &b).await);
    start_vnpay(&demo, &ra).await;
    start_vnpay(&demo, &rb).await;

    assert_eq!(send_ipn(&demo, &ipn_params(b"not the secret", &ra, "1500000", "00", "1001")).await, "97");
    let mut tampered = ipn_params(TEST_VNPAY_SECRET, &ra, "1500000", "00", "1001");
    tampered[0].1 = "1600000".into();
    assert_eq!(send_ipn(&demo, &tampered).await, "97", "a changed field breaks the signature");
    assert_eq!(send_ipn(&demo, &ipn_params(TEST_VNPAY_SECRET, "Q10P0000000000", "1500000", "00", "1002")).await, "01");
    assert_eq!(
        send_ipn(&demo, &ipn_params(TEST_VNPAY_SECRET, &ra, "150000", "00", "1003")).await,
        "04",
        "wrong amount"
    );
    assert_eq!(payment(&demo, &ra).await["status"], "processing", "none of these changed anything");
    assert!(receipt_numbers(&demo).await.is_empty());

    // A failure for A, a success for B, then each again and out of order.
    assert_eq!(send_ipn(&demo, &ipn_params(TEST_VNPAY_SECRET, &ra, "1500000", "24", "2001")).await, "00");
    assert_eq!(payment(&demo, &ra).await["status"], "failed");
    let success = ipn_params(TEST_VNPAY_SECRET, &rb, "1500000", "00", "2002");
    assert_eq!(send_ipn(&demo, &success).await, "00");
    assert_eq!(send_ipn(&demo, &success).await, "02", "delivered twice: credited once");
    assert_eq!(
        send_ipn(&demo, &ipn_params(TEST_VNPAY_SECRET, &rb, "1500000", "24", "2002")).await,
        "02",
        "a late failure"
    );
    assert_eq!(
        send_ipn(&demo, &ipn_params(TEST_VNPAY_SECRET, &ra, "1500000", "00", "2003")).await,
        "02",
        "a late success"
    );
    assert_eq!(payment(&demo, &rb).await["status"], "succeeded");
    assert_eq!(payment(&demo, &ra).await["status"], "failed");
    assert_eq!(receipt_numbers(&demo).await, [1]);
    // The same success delivered by many connections at once still credits once.
    let c = dossier(&demo).await;
    let rc = fee_intent(&demo, &c).await;
    start_vnpay(&demo, &rc).await;
    let burst = ipn_params(TEST_VNPAY_SECRET, &rc, "1500000", "00", "3001");
    let answers = futures_util::future::join_all((0..8).map(|_| send_ipn(&demo, &burst))).await;
    assert_eq!(answers.iter().filter(|a| *a == "00").count(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|a| *a == "02").count(), 7, "{answers:?}");
    assert_eq!(receipt_numbers(&demo).await, [1, 2]);
}

async fn querydr_settles_what_the_ipn_did_not(engine: Engine) {
    let Some((_db, demo, clock)) = setup(engine).await else { return };
    let code = dossier(&demo).await;
    let reference = fee_intent(&demo, &code).await;
    let url = start_vnpay(&demo, &reference).await;
    decide(&demo, &url, "pay", true).await;
    assert_eq!(payment(&demo, &reference).await["status"], "processing", "the IPN was lost");
    let state = &demo.server.state;
    assert_eq!(gateway::reconcile_once(state, state.now()).await.unwrap(), 0, "too soon to ask");
    clock.advance(Duration::minutes(6));
    assert_eq!(gateway::reconcile_once(state, state.now()).await.unwrap(), 1);
    let p = payment(&demo, &reference).await;
    assert_eq!(p["status"], "succeeded");
    assert_eq!(p["receipt_number"], 1);

    // A payer who never came back from VNPay: unknown there, canceled once the window closes.
    let code2 = dossier(&demo).await;
    let r2 = fee_intent(&demo, &code2).await;
    start_vnpay(&demo, &r2).await;
    clock.advance(Duration::minutes(10));
    assert_eq!(gateway::reconcile_once(state, state.now()).await.unwrap(), 0);
    assert_eq!(payment(&demo, &r2).await["status"], "processing");
    clock.advance(Duration::minutes(25));
    assert_eq!(gateway::reconcile_once(state, state.now()).await.unwrap(), 1);
    assert_eq!(payment(&demo, &r2).await["status"], "canceled");
    assert_eq!(receipt_numbers(&demo).await, [1]);
}

fn signed_notice(body: &str, id: &str, ts: i64, secret: &[u8]) -> [(String, String); 3] {
    [
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts.to_string()),
        ("webhook-signature".into(), q10_core::outbox::sign(secret, id, ts, body)),
    ]
}

async fn notify(demo: &Demo, body: &Value, id: &str, ts: i64, secret: &[u8]) -> (StatusCode, Value) {
    let text = body.to_string();
    let mut req =
        demo.http.post(demo.server.url("/api/v1/payments/bank-notify")).header("content-type", "application/json");
    for (k, v) in signed_notice(&text, id, ts, secret) {
        req = req.header(k, v);
    }
    let res = req.body(text).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn a_fee_is_paid_by_vietqr_and_the_bank_notice_counts_once(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine).await else { return };
    let code = dossier(&demo).await;
    let reference = fee_intent(&demo, &code).await;
    let res = demo.http.post(demo.server.url(&format!("/api/v1/payments/{reference}/vietqr"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let qr: Value = res.json().await.unwrap();
    let payload = qr["payload"].as_str().unwrap();
    let fields = vietqr::parse(payload).unwrap();
    let get = |id: &str| fields.iter().find(|(i, _)| i == id).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(get("54"), "15000");
    assert_eq!(get("62"), format!("0814{reference}"));
    assert!(qr["svg"].as_str().unwrap().starts_with("<?xml") || qr["svg"].as_str().unwrap().contains("<svg"));

    // The bank's app pays the code; the bank tells the server.
    let page =
        demo.http.post(demo.server.url("/sim/bank/transfer")).form(&[("payload", payload)]).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("credited"), "{page}");
    let p = payment(&demo, &reference).await;
    assert_eq!(p["status"], "succeeded");
    assert_eq!(p["provider"], "vietqr");

    let now = demo.server.state.now().unix_timestamp();
    let notice = json!({ "transaction_id": "FT0001", "account": "113366668888", "amount": 15000,
                         "description": format!("{reference} chuyen khoan"), "at": "2026-11-25T03:05:00Z" });
    let code2 = dossier(&demo).await;
    let r2 = fee_intent(&demo, &code2).await;
    let notice2 = json!({ "transaction_id": "FT0002", "account": "113366668888", "amount": 15000,
                          "description": format!("CK {} le phi", r2.to_lowercase()), "at": "2026-11-25T03:05:00Z" });
    let (status, v) = notify(&demo, &notice2, "msg_2", now, b"not the bank").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, _) = notify(&demo, &notice2, "msg_2", now - 3600, TEST_BANK_SECRET).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a stale notice");
    let short = json!({ "transaction_id": "FT0003", "account": "113366668888", "amount": 14000,
                        "description": r2, "at": "2026-11-25T03:05:00Z" });
    let (status, v) = notify(&demo, &short, "msg_3", now, TEST_BANK_SECRET).await;
    assert_eq!((status, v["outcome"].as_str()), (StatusCode::OK, Some("wrong_amount")));
    assert_eq!(payment(&demo, &r2).await["status"], "requires_payment");
    let (_, v) = notify(&demo, &notice2, "msg_2", now, TEST_BANK_SECRET).await;
    assert_eq!(v["outcome"], "credited", "the reference is found in any case and among other words");
    let (_, v) = notify(&demo, &notice2, "msg_2b", now, TEST_BANK_SECRET).await;
    assert_eq!(v["outcome"], "duplicate", "the same transfer told twice");
    let (_, v) = notify(&demo, &notice, "msg_1", now, TEST_BANK_SECRET).await;
    assert_eq!(v["outcome"], "not_payable", "a second transfer for a paid fee is kept for a refund, not credited");
    assert_eq!(receipt_numbers(&demo).await, [1, 2]);
}

async fn the_cash_desk_issues_receipts_without_gaps(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine).await else { return };
    let cashier = demo.token(Role::Cashier).await;
    let mut refs = Vec::new();
    for i in 0..12 {
        let body = json!({ "purpose": "service_fee", "amount": 20_000 + i, "description": format!("Phí dịch vụ {i}") });
        let (status, p) = create(&demo, Some(&cashier), &format!("svc-{i}"), &body).await;
        assert_eq!(status, StatusCode::CREATED);
        refs.push(p["reference"].as_str().unwrap().to_string());
    }
    // Paid at once from several desks, each twice: every payment once, numbers consecutive.
    let pay = |r: String| {
        let demo = &demo;
        let cashier = cashier.clone();
        async move { demo.post(&format!("/api/v1/payments/{r}/cash"), &cashier).send().await.unwrap().status() }
    };
    let statuses = futures_util::future::join_all(refs.iter().chain(refs.iter()).cloned().map(pay)).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 12, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 12, "{statuses:?}");
    assert_eq!(receipt_numbers(&demo).await, (1..=12).collect::<Vec<i64>>());
    let receipt: Value = demo
        .http
        .get(demo.server.url(&format!("/api/v1/payments/{}/receipt", refs[3])))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(receipt["method"], "cash");
    assert_eq!(receipt["issued_by"], "cashier");
    assert_eq!(receipt["amount"], 20_003);
    let operator = demo.token(Role::Operator).await;
    assert_eq!(
        demo.post(&format!("/api/v1/payments/{}/cash", refs[0]), &operator).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let list: Value = demo.get_json("/api/v1/payments?status=succeeded", &cashier).await;
    assert_eq!(list.as_array().unwrap().len(), 12);
}

async fn refunds_are_recorded_and_reopen_the_fee(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine).await else { return };
    let code = dossier(&demo).await;
    let reference = fee_intent(&demo, &code).await;
    let cashier = demo.token(Role::Cashier).await;
    let res = demo
        .post(&format!("/api/v1/payments/{reference}/refund"), &cashier)
        .json(&json!({ "reason": "Thu nhầm" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT, "nothing paid yet");
    assert_eq!(
        demo.post(&format!("/api/v1/payments/{reference}/cash"), &cashier).send().await.unwrap().status(),
        StatusCode::OK
    );
    let res = demo
        .post(&format!("/api/v1/payments/{reference}/refund"), &cashier)
        .json(&json!({ "reason": "" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "a refund says why");
    let res = demo
        .post(&format!("/api/v1/payments/{reference}/refund"), &cashier)
        .json(&json!({ "reason": "Thu nhầm" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(payment(&demo, &reference).await["status"], "refunded");
    let d: Value = demo
        .http
        .post(demo.server.url("/api/v1/dossiers/track"))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["fee_paid"], false);
    let res = demo
        .post(&format!("/api/v1/payments/{reference}/refund"), &cashier)
        .json(&json!({ "reason": "Lần nữa" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // The receipt stays issued (and numbered); the fee can be paid anew.
    assert_eq!(receipt_numbers(&demo).await, [1]);
    let (status, _) = create(&demo, None, "again", &json!({ "purpose": "dossier_fee", "dossier_code": code })).await;
    assert_eq!(status, StatusCode::CREATED);
    // Every payment event is in the audit log.
    let admin = demo.token(Role::Admin).await;
    let audit = demo.get_json("/api/v1/audit?limit=200", &admin).await.to_string();
    for action in ["payment.create", "payment.succeed", "payment.refund"] {
        assert!(audit.contains(action), "{action}");
    }
}

async fn subscribers_hear_of_dossiers_and_payments(engine: Engine) {
    let outbound = Outbound {
        destinations: vec![Destination {
            name: "treasury".into(),
            url: "http://127.0.0.1:9/".into(),
            secret: None,
            events: vec!["dossier.created".into(), "dossier.changed".into(), "payment.succeeded".into()],
        }],
        ..Default::default()
    };
    let Some((_db, demo, clock)) = setup_with(engine, outbound).await else { return };
    let code = dossier(&demo).await;
    let reference = fee_intent(&demo, &code).await;
    let url = start_vnpay(&demo, &reference).await;
    decide(&demo, &url, "pay", false).await;
    let due = demo.server.state.store.outbox_due(clock.now() + Duration::minutes(1), 100).await.unwrap();
    let kinds: Vec<&str> = due.iter().map(|r| r.event_type.as_str()).collect();
    assert_eq!(kinds, ["dossier.created", "payment.succeeded"], "{kinds:?}");
    let paid: Value = serde_json::from_str(&due[1].payload).unwrap();
    assert_eq!(paid["data"]["reference"], reference.as_str());
    assert_eq!(paid["data"]["amount"], 15000);
    assert_eq!(paid["data"]["receipt_number"], 1);
    assert!(!due[0].payload.contains("079203099999") && !due[0].payload.contains("Trần"), "no personal data in events");
}
