//! Online dossiers end to end over a real loopback socket, on SQLite and on PostgreSQL: applying
//! with documents, the officers' processing, supplements, refusals and every refused action,
//! working-day deadlines with holidays, apologies, jurisdiction, sealed applicant data, the fee
//! and the scorecard.

use std::sync::Arc;

use q10_core::clock::ManualClock;
use q10_core_api::Role;
use q10_tests::{Demo, Engine, TestDb, demo_with, problem};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

q10_tests::on_both_engines!(
    a_dossier_goes_from_application_to_rating,
    refused_actions_change_nothing,
    deadlines_count_working_days_and_holidays,
    overdue_dossiers_get_an_apology_and_a_new_date,
    officers_act_only_for_their_office,
    bad_applications_are_refused_and_nothing_is_kept,
);

pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82";
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
const ID_NUMBER: &str = "079203012345";

async fn setup(engine: Engine, at: OffsetDateTime) -> Option<(TestDb, Demo, Arc<ManualClock>)> {
    let db = TestDb::new(engine).await?;
    let clock = Arc::new(ManualClock::new(at));
    let demo = demo_with(db.store().await, Some(clock.clone()), Default::default()).await;
    Some((db, demo, clock))
}

fn application(procedure: &str, ward: &str) -> Value {
    json!({
        "procedure": procedure,
        "ward": ward,
        "applicant": {
            "full_name": "Nguyễn Thị Bình",
            "id_number": ID_NUMBER,
            "phone": "0912345678",
            "email": "binh@example.vn",
            "address": "12 Đường 3/2, Phường 1, Quận 10"
        },
        "note": "Nộp trực tuyến"
    })
}

fn form(part: &str, json: &Value, docs: &[(&str, &'static [u8], &str)]) -> Form {
    let mut f = Form::new().text(part.to_string(), json.to_string());
    for (key, bytes, name) in docs {
        f = f.part(format!("doc:{key}"), Part::bytes(*bytes).file_name(name.to_string()));
    }
    f
}

/// Applies for the marital-status certificate (15,000 VND, 3 working days) in Phường 1.
async fn apply(demo: &Demo) -> Value {
    apply_for(demo, "1.000894", &[("application", PDF, "to-khai.pdf"), ("id_card", PNG, "cccd.png")]).await
}

async fn apply_for(demo: &Demo, procedure: &str, docs: &[(&str, &'static [u8], &str)]) -> Value {
    let res = demo
        .http
        .post(demo.server.url("/api/v1/dossiers"))
        .multipart(form("dossier", &application(procedure, "27211"), docs))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v
}

async fn act(demo: &Demo, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
    let res = demo.post(&format!("/api/v1/dossiers/{id}/actions"), token).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn act_ok(demo: &Demo, token: &str, id: i64, body: Value) -> Value {
    let (status, v) = act(demo, token, id, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body} → {v}");
    v
}

async fn track(demo: &Demo, code: &str) -> Value {
    let res =
        demo.http.post(demo.server.url("/api/v1/dossiers/track")).json(&json!({ "code": code })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Pays a dossier's fee at the cash desk.
pub async fn pay_cash(demo: &Demo, code: &str) -> Value {
    let cashier = demo.token(Role::Cashier).await;
    let res = demo
        .post("/api/v1/payments", &cashier)
        .header("Idempotency-Key", format!("cash-{code}"))
        .json(&json!({ "purpose": "dossier_fee", "dossier_code": code }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let p: Value = res.json().await.unwrap();
    let reference = p["reference"].as_str().unwrap();
    let res = demo.post(&format!("/api/v1/payments/{reference}/cash"), &cashier).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn at(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
}

fn local(v: &Value) -> time::PrimitiveDateTime {
    let t = at(v).to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap());
    time::PrimitiveDateTime::new(t.date(), t.time())
}

async fn a_dossier_goes_from_application_to_rating(engine: Engine) {
    // Wednesday 25 November 2026, 10:00 in Ho Chi Minh City.
    let Some((_db, demo, clock)) = setup(engine, datetime!(2026-11-25 03:00 UTC)).await else { return };
    let receipt = apply(&demo).await;
    let code = receipt["code"].as_str().unwrap().to_string();
    assert!(code.starts_with("HS-") && code.len() == 14, "{code}");
    assert_eq!(receipt["status"], "received");
    assert_eq!(receipt["fee"], 15000);
    // Three working days: Thursday, Friday, Monday 30 November, 17:00.
    assert_eq!(local(&receipt["due_at"]), datetime!(2026-11-30 17:00));
    let id = receipt["id"].as_i64().unwrap();

    // The applicant's data is sealed at rest.
    let row = demo.server.state.store.dossier(id).await.unwrap().unwrap();
    let needle = ID_NUMBER.as_bytes();
    assert!(!row.applicant.windows(needle.len()).any(|w| w == needle), "the ID number is not stored in the clear");
    let name = "Nguyễn Thị Bình".as_bytes();
    assert!(!row.applicant.windows(name.len()).any(|w| w == name), "nor the name");

    let officer = demo.token(Role::WardOfficial).await;
    let queue = demo.get_json("/api/v1/dossiers?open=true", &officer).await;
    assert_eq!(queue["total"], 1, "{queue}");
    assert_eq!(queue["items"][0]["code"], code.as_str());
    let full = demo.get_json(&format!("/api/v1/dossiers/{id}"), &officer).await;
    assert_eq!(full["applicant"]["full_name"], "Nguyễn Thị Bình");
    assert_eq!(full["applicant"]["id_number_masked"], "••••••••2345");
    assert!(!full.to_string().contains(ID_NUMBER), "staff see the ID number masked");
    let docs = full["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 2);
    let pdf = docs.iter().find(|d| d["key"] == "application").unwrap();
    assert_eq!(pdf["content_type"], "application/pdf");
    let res = demo
        .get(&format!("/api/v1/dossiers/{id}/documents/{}", pdf["id"].as_str().unwrap()), &officer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), PDF, "documents come back as uploaded");

    // A supplement, asked for and sent: the clock starts again from the day it arrives.
    let (status, _) = act(&demo, &officer, id, json!({ "action": "request_supplement" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a supplement request says what is missing");
    act_ok(&demo, &officer, id, json!({ "action": "request_supplement", "note": "Thiếu giấy xác nhận ly hôn" })).await;
    let seen = track(&demo, &code.to_lowercase()).await;
    assert_eq!(seen["status"], "supplement_requested");
    assert_eq!(seen["supplement_note"], "Thiếu giấy xác nhận ly hôn");
    clock.advance(Duration::days(2)); // Friday 27 November
    let res = demo
        .http
        .post(demo.server.url("/api/v1/dossiers/supplement"))
        .multipart(form(
            "supplement",
            &json!({ "code": code, "note": "Đã bổ sung" }),
            &[("divorce", PDF, "ly-hon.pdf")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let seen: Value = res.json().await.unwrap();
    assert_eq!(seen["status"], "received");
    // Friday + 3 working days: Monday, Tuesday, Wednesday 2 December.
    assert_eq!(local(&seen["due_at"]), datetime!(2026-12-02 17:00));

    act_ok(&demo, &officer, id, json!({ "action": "accept" })).await;
    let handed = act_ok(
        &demo,
        &officer,
        id,
        json!({ "action": "hand_off", "handler": "district.official", "step_days": 1, "note": "Trình ký" }),
    )
    .await;
    assert_eq!(handed["handler"], "Cán bộ Quận 10", "{handed}");
    assert_eq!(local(&handed["step_due_at"]), datetime!(2026-11-30 17:00));
    let district = demo.token(Role::DistrictOfficial).await;
    act_ok(&demo, &district, id, json!({ "action": "result_ready" })).await;
    let (status, v) = act(&demo, &officer, id, json!({ "action": "return" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "the fee is unpaid: {v}");
    assert!(v["detail"].as_str().unwrap().contains("15000"), "{v}");

    let paid = pay_cash(&demo, &code).await;
    assert_eq!(paid["status"], "succeeded");
    assert!(track(&demo, &code).await["fee_paid"].as_bool().unwrap());
    let done = act_ok(&demo, &officer, id, json!({ "action": "return" })).await;
    assert_eq!(done["status"], "returned");

    let seen = track(&demo, &code).await;
    assert_eq!(seen["can_rate"], true);
    let history: Vec<&str> =
        seen["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(
        history,
        ["submit", "request_supplement", "supplement", "accept", "result_ready", "return"],
        "hand-offs are internal"
    );
    let rate = |rating: i64| {
        demo.http
            .post(demo.server.url("/api/v1/dossiers/rate"))
            .json(&json!({ "code": code, "rating": rating, "comment": "Nhanh" }))
            .send()
    };
    assert_eq!(rate(6).await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(rate(5).await.unwrap().status(), StatusCode::OK);
    assert_eq!(rate(4).await.unwrap().status(), StatusCode::CONFLICT, "rated once");
    assert_eq!(track(&demo, &code).await["rating"], 5);

    // The scorecard counts it: returned on time, applied for online, paid in cash.
    let kpis = demo.get_json("/api/v1/dashboard/kpis?unit=27211", &district).await;
    assert_eq!(kpis["dossiers_received"], 1, "{kpis}");
    assert_eq!(kpis["dossiers_returned"], 1);
    assert_eq!(kpis["dossiers_on_time_pct"], 100.0);
    assert_eq!(kpis["dossiers_online_pct"], 100.0);
    assert_eq!(kpis["cashless_pct"], 0.0);

    // Every view of the full record is audited.
    let admin = demo.token(Role::Admin).await;
    let audit = demo.get_json("/api/v1/audit?limit=200", &admin).await.to_string();
    assert!(audit.contains("dossier.view") && audit.contains("dossier.document.read"), "{audit}");
    assert!(!audit.contains(ID_NUMBER), "no ID numbers in the audit log");
}

async fn refused_actions_change_nothing(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine, datetime!(2026-11-25 03:00 UTC)).await else { return };
    let receipt = apply(&demo).await;
    let id = receipt["id"].as_i64().unwrap();
    let code = receipt["code"].as_str().unwrap();
    let officer = demo.token(Role::WardOfficial).await;
    for (action, want) in [
        ("result_ready", StatusCode::CONFLICT),
        ("return", StatusCode::CONFLICT),
        ("hand_off", StatusCode::CONFLICT),
        ("supplement", StatusCode::BAD_REQUEST),
        ("rate", StatusCode::BAD_REQUEST),
        ("submit", StatusCode::BAD_REQUEST),
    ] {
        let (status, v) = act(
            &demo,
            &officer,
            id,
            json!({ "action": action, "note": "x", "handler": "district.official", "step_days": 1 }),
        )
        .await;
        assert_eq!(status, want, "{action}: {v}");
    }
    let (status, _) =
        act(&demo, &officer, id, json!({ "action": "apologize", "note": "Xin lỗi", "new_due": "2026-12-10" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "not overdue yet");
    act_ok(&demo, &officer, id, json!({ "action": "refuse", "note": "Không thuộc thẩm quyền" })).await;
    for action in ["accept", "request_supplement", "refuse", "result_ready"] {
        let (status, _) = act(&demo, &officer, id, json!({ "action": action, "note": "x" })).await;
        assert_eq!(status, StatusCode::CONFLICT, "{action} after refusal");
    }
    let seen = track(&demo, code).await;
    assert_eq!(seen["status"], "refused");
    assert_eq!(seen["history"].as_array().unwrap().len(), 2, "only submit and refuse: {seen}");
    // No fee is due on a refused dossier; supplements and ratings are refused too.
    let res = demo
        .http
        .post(demo.server.url("/api/v1/payments"))
        .header("Idempotency-Key", "refused-1")
        .json(&json!({ "purpose": "dossier_fee", "dossier_code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = demo
        .http
        .post(demo.server.url("/api/v1/dossiers/rate"))
        .json(&json!({ "code": code, "rating": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = demo
        .http
        .post(demo.server.url("/api/v1/dossiers/supplement"))
        .multipart(form("supplement", &json!({ "code": code }), &[("divorce", PDF, "a.pdf")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let unknown = demo
        .http
        .post(demo.server.url("/api/v1/dossiers/track"))
        .json(&json!({ "code": "HS-00000-00000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

async fn deadlines_count_working_days_and_holidays(engine: Engine) {
    // Thursday 29 April 2027, 09:00 local. 30 April is a holiday and 1 May a Saturday.
    let Some((_db, demo, _clock)) = setup(engine, datetime!(2027-04-29 02:00 UTC)).await else { return };
    let holidays = demo
        .http
        .get(demo.server.url("/api/v1/holidays?year=2027"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(holidays.as_array().unwrap().iter().any(|h| h["date"] == "2027-04-30"), "{holidays}");
    let receipt = apply(&demo).await;
    // Monday 3, Tuesday 4, Wednesday 5 May.
    assert_eq!(local(&receipt["due_at"]), datetime!(2027-05-05 17:00));

    let admin = demo.token(Role::Admin).await;
    let officer = demo.token(Role::WardOfficial).await;
    let put = |token: String| {
        demo.http
            .put(demo.server.url("/api/v1/holidays/2027-05-04"))
            .bearer_auth(token)
            .json(&json!({ "name": "Nghỉ bù" }))
            .send()
    };
    assert_eq!(put(officer.clone()).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(put(admin.clone()).await.unwrap().status(), StatusCode::OK);
    let receipt = apply(&demo).await;
    assert_eq!(local(&receipt["due_at"]), datetime!(2027-05-06 17:00), "the new holiday is skipped");
    let res =
        demo.http.delete(demo.server.url("/api/v1/holidays/2027-05-04")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res =
        demo.http.delete(demo.server.url("/api/v1/holidays/2027-05-04")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = demo
        .http
        .put(demo.server.url("/api/v1/holidays/2027-13-01"))
        .bearer_auth(&admin)
        .json(&json!({ "name": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // One working day from Thursday: 30 April is a holiday, then the weekend.
    let weekend = apply_for(&demo, "2.000815", &[("original", PNG, "goc.png")]).await;
    assert_eq!(local(&weekend["due_at"]), datetime!(2027-05-03 17:00));
}

async fn overdue_dossiers_get_an_apology_and_a_new_date(engine: Engine) {
    let Some((_db, demo, clock)) = setup(engine, datetime!(2026-11-25 03:00 UTC)).await else { return };
    let receipt = apply(&demo).await;
    let id = receipt["id"].as_i64().unwrap();
    let officer = demo.token(Role::WardOfficial).await;
    act_ok(&demo, &officer, id, json!({ "action": "accept" })).await;
    clock.advance(Duration::days(6)); // Tuesday 1 December: past Monday's appointment
    let overdue = demo.get_json("/api/v1/dossiers?overdue=true", &officer).await;
    assert_eq!(overdue["total"], 1, "{overdue}");
    assert_eq!(track(&demo, receipt["code"].as_str().unwrap()).await["overdue"], true);
    let (status, _) = act(&demo, &officer, id, json!({ "action": "apologize", "note": "Xin lỗi vì trễ hẹn" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a new date is needed");
    let (status, _) =
        act(&demo, &officer, id, json!({ "action": "apologize", "note": "Xin lỗi", "new_due": "2026-11-20" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the new date is in the future");
    let v = act_ok(
        &demo,
        &officer,
        id,
        json!({ "action": "apologize", "note": "Xin lỗi vì trễ hẹn", "new_due": "2026-12-04" }),
    )
    .await;
    assert_eq!(local(&v["due_at"]), datetime!(2026-12-04 17:00));
    assert_eq!(v["overdue"], false);
    let seen = track(&demo, receipt["code"].as_str().unwrap()).await;
    assert_eq!(seen["history"].as_array().unwrap().last().unwrap()["note"], "Xin lỗi vì trễ hẹn");
    // Returned after the original appointment but by the new one still counts as late.
    act_ok(&demo, &officer, id, json!({ "action": "result_ready" })).await;
    pay_cash(&demo, receipt["code"].as_str().unwrap()).await;
    act_ok(&demo, &officer, id, json!({ "action": "return" })).await;
    let row = demo.server.state.store.dossier(id).await.unwrap().unwrap();
    assert_eq!(row.on_time, Some(true), "on time against the apologised date");
    assert_eq!(row.apologies, 1);
}

async fn officers_act_only_for_their_office(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine, datetime!(2026-11-25 03:00 UTC)).await else { return };
    // A household business is registered by the district, not the ward.
    let receipt = apply_for(&demo, "1.001612", &[("application", PDF, "a.pdf"), ("id_card", PNG, "b.png")]).await;
    let id = receipt["id"].as_i64().unwrap();
    let ward = demo.token(Role::WardOfficial).await;
    let (status, _) = act(&demo, &ward, id, json!({ "action": "accept" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        demo.get(&format!("/api/v1/dossiers/{id}"), &ward).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(demo.get_json("/api/v1/dossiers", &ward).await["total"], 0);
    let district = demo.token(Role::DistrictOfficial).await;
    assert_eq!(demo.get_json("/api/v1/dossiers", &district).await["total"], 1);
    act_ok(&demo, &district, id, json!({ "action": "accept" })).await;
    let (status, v) =
        act(&demo, &district, id, json!({ "action": "hand_off", "handler": "ward1.official", "step_days": 2 })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a ward official does not process district dossiers: {v}");
    for role in [Role::ComplaintHandler, Role::Cashier, Role::Operator] {
        let t = demo.token(role).await;
        assert_eq!(demo.get("/api/v1/dossiers", &t).send().await.unwrap().status(), StatusCode::FORBIDDEN, "{role:?}");
    }
}

async fn bad_applications_are_refused_and_nothing_is_kept(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine, datetime!(2026-11-25 03:00 UTC)).await else { return };
    let docs: &[(&str, &'static [u8], &str)] = &[("application", PDF, "a.pdf"), ("id_card", PNG, "b.png")];
    let send = |body: Value, docs: &[(&str, &'static [u8], &str)]| {
        demo.http.post(demo.server.url("/api/v1/dossiers")).multipart(form("dossier", &body, docs)).send()
    };
    let mut bad_id = application("1.000894", "27211");
    bad_id["applicant"]["id_number"] = json!("12345");
    let (status, p) = problem(send(bad_id, docs).await.unwrap()).await;
    assert_eq!((status, p.field.as_deref()), (StatusCode::BAD_REQUEST, Some("id_number")));
    assert!(!p.detail.unwrap_or_default().contains("12345"), "the number is not echoed");
    let (status, _) = problem(send(application("9.999999", "27211"), docs).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = problem(send(application("1.000894", "99999"), docs).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, p) = problem(send(application("1.000894", "27211"), &docs[..1]).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(p.detail.unwrap().contains("id_card"));
    let exe: &[(&str, &'static [u8], &str)] =
        &[("application", b"MZ\x90\0\x03\0\0\0", "a.pdf"), ("id_card", PNG, "b.png")];
    let (status, _) = problem(send(application("1.000894", "27211"), exe).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "types are read from the bytes");
    let unknown: &[(&str, &'static [u8], &str)] =
        &[("application", PDF, "a.pdf"), ("id_card", PNG, "b.png"), ("passport", PNG, "c.png")];
    let (status, _) = problem(send(application("1.000894", "27211"), unknown).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let res = demo
        .http
        .post(demo.server.url("/api/v1/dossiers"))
        .json(&application("1.000894", "27211"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let district = demo.token(Role::DistrictOfficial).await;
    assert_eq!(demo.get_json("/api/v1/dossiers", &district).await["total"], 0, "nothing was kept");
}
