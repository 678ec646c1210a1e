//! Complaints end to end over a real loopback socket, on SQLite and on PostgreSQL: filing with
//! photos, routing, the handlers' workflow and every refusal, the citizen's follow-up, duplicates,
//! jurisdiction, sealed contact details, Open311, outbound events, the dashboard and the feed.

use std::sync::{Arc, Mutex};

use q10_core::clock::{Clock, ManualClock};
use q10_core::outbox::{Destination, Outbound, Worker};
use q10_core_api::Role;
use q10_tests::{Demo, Engine, TestDb, demo_with, problem};
use reqwest::StatusCode;
use secrecy::SecretSlice;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

q10_tests::on_both_engines!(
    a_complaint_goes_from_filing_to_rating,
    refused_actions_change_nothing,
    photos_lose_their_metadata_and_other_files_are_refused,
    duplicates_are_offered_within_50_m_and_30_days,
    handlers_act_only_on_their_wards,
    reopening_is_for_14_days,
    open311_answers_in_json_and_xml,
    contact_details_are_sealed_and_reads_audited,
    events_are_delivered_signed_and_retried,
    dashboard_figures_follow_the_complaints,
    the_live_feed_pushes_changes,
);

/// Inside Phường 1 (27211) and Phường 15 (27190) of the demo district, and outside every ward.
const WARD1: (f64, f64) = (10.7725, 106.66725);
const WARD15: (f64, f64) = (10.7822, 106.65785);
const NOWHERE: (f64, f64) = (10.90, 106.50);

async fn setup(engine: Engine, outbound: Outbound) -> Option<(TestDb, Demo, Arc<ManualClock>)> {
    let db = TestDb::new(engine).await?;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let demo = demo_with(db.store().await, Some(clock.clone()), outbound).await;
    Some((db, demo, clock))
}

fn filing(category: &str, (lat, lon): (f64, f64)) -> Value {
    json!({ "category": category, "description": "Rác tồn đọng ở góc đường", "lat": lat, "lon": lon })
}

async fn file(demo: &Demo, body: &Value) -> Value {
    let res = demo.http.post(demo.server.url("/api/v1/complaints")).json(body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "filing {body}");
    res.json().await.unwrap()
}

async fn act(demo: &Demo, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
    let res = demo.post(&format!("/api/v1/complaints/{id}/actions"), token).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn act_ok(demo: &Demo, token: &str, id: i64, body: Value) -> Value {
    let (status, v) = act(demo, token, id, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body} → {v}");
    v
}

async fn citizen(demo: &Demo, path: &str, body: Value) -> (StatusCode, Value) {
    let res = demo.http.post(demo.server.url(path)).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn track(demo: &Demo, code: &str) -> Value {
    let (status, v) = citizen(demo, "/api/v1/complaints/track", json!({ "code": code })).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

async fn a_complaint_goes_from_filing_to_rating(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine, Outbound::default()).await else { return };
    let receipt = file(&demo, &filing("garbage", WARD1)).await;
    assert_eq!(receipt["ward"], "27211");
    assert_eq!(receipt["status"], "submitted");
    assert_eq!(receipt["team"], "Tổ vệ sinh môi trường");
    let id = receipt["id"].as_i64().unwrap();
    let code = receipt["tracking_code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 11);

    // Typed back loosely, the code still finds it.
    let seen = track(&demo, &code.to_lowercase().replace('-', " ")).await;
    assert_eq!(seen["id"], id);
    assert_eq!(seen["status"], "submitted");

    let handler = demo.token(Role::ComplaintHandler).await;
    let queue: Value = demo.get_json("/api/v1/complaints?open=true", &handler).await;
    assert!(queue["items"].as_array().unwrap().iter().any(|c| c["id"] == id), "{queue}");

    act_ok(&demo, &handler, id, json!({ "action": "assign" })).await;
    act_ok(&demo, &handler, id, json!({ "action": "note", "note": "đội xe đến lúc 14 giờ" })).await;
    act_ok(&demo, &handler, id, json!({ "action": "start" })).await;
    act_ok(&demo, &handler, id, json!({ "action": "fix", "note": "Đã thu gom xong" })).await;
    let closed = act_ok(&demo, &handler, id, json!({ "action": "close" })).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["handler"], "Xử lý phản ánh Phường 1");
    let actions: Vec<&str> =
        closed["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["submit", "assign", "note", "start", "fix", "close"]);

    // The citizen sees the public updates, not the internal note.
    let seen = track(&demo, &code).await;
    assert_eq!(seen["status"], "closed");
    let notes: Vec<&str> = seen["updates"].as_array().unwrap().iter().map(|u| u["note"].as_str().unwrap()).collect();
    assert!(notes.contains(&"Đã thu gom xong"));
    assert!(!notes.iter().any(|n| n.contains("14 giờ")), "internal notes stay internal: {notes:?}");
    assert_eq!(seen["can_rate"], true);

    let (status, rated) =
        citizen(&demo, "/api/v1/complaints/rate", json!({ "code": code, "rating": 5, "comment": "Nhanh" })).await;
    assert_eq!(status, StatusCode::OK, "{rated}");
    assert_eq!(rated["rating"], 5);
    assert_eq!(rated["can_rate"], false);
    let (status, again) = citizen(&demo, "/api/v1/complaints/rate", json!({ "code": code, "rating": 1 })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (status, _) = citizen(&demo, "/api/v1/complaints/rate", json!({ "code": "AAAAA-AAAAA", "rating": 4 })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Status is derived from the history: the audit log holds every step too.
    let admin = demo.token(Role::Admin).await;
    let audit: Value = demo.get_json("/api/v1/audit?limit=100", &admin).await;
    let steps = audit
        .as_array()
        .or(audit["items"].as_array())
        .unwrap()
        .iter()
        .filter(|e| e["object_type"] == "complaint")
        .count();
    assert_eq!(steps, 7, "submit + 5 actions + rating are audited");
}

async fn refused_actions_change_nothing(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine, Outbound::default()).await else { return };
    let id = file(&demo, &filing("noise", WARD1)).await["id"].as_i64().unwrap();
    let handler = demo.token(Role::ComplaintHandler).await;
    let refused = [
        (json!({ "action": "close" }), StatusCode::CONFLICT),
        (json!({ "action": "fix", "note": "x" }), StatusCode::CONFLICT),
        (json!({ "action": "start" }), StatusCode::CONFLICT),
        (json!({ "action": "reopen", "note": "x" }), StatusCode::BAD_REQUEST),
        (json!({ "action": "rate" }), StatusCode::BAD_REQUEST),
        (json!({ "action": "submit" }), StatusCode::BAD_REQUEST),
        (json!({ "action": "triage" }), StatusCode::BAD_REQUEST),
        (json!({ "action": "comment", "note": " " }), StatusCode::BAD_REQUEST),
        (json!({ "action": "mark_duplicate", "note": "same" }), StatusCode::BAD_REQUEST),
        (json!({ "action": "mark_duplicate", "note": "same", "duplicate_of": id }), StatusCode::BAD_REQUEST),
        (json!({ "action": "assign", "handler": "cashier" }), StatusCode::BAD_REQUEST),
        (json!({ "action": "explode" }), StatusCode::BAD_REQUEST),
    ];
    for (body, want) in refused {
        let res = demo.post(&format!("/api/v1/complaints/{id}/actions"), &handler).json(&body).send().await.unwrap();
        let (status, p) = problem(res).await;
        assert_eq!(status, want, "{body}: {p:?}");
        assert!(p.detail.is_some_and(|d| !d.is_empty()), "{body} says why");
    }
    let seen: Value = demo.get_json(&format!("/api/v1/complaints/{id}"), &handler).await;
    assert_eq!(seen["status"], "submitted");
    assert_eq!(seen["history"].as_array().unwrap().len(), 1, "refusals leave no trace in the history");

    // Set aside: nothing more happens to it but comments.
    act_ok(&demo, &handler, id, json!({ "action": "not_our_responsibility", "note": "đường do thành phố quản lý" }))
        .await;
    let (status, _) = act(&demo, &handler, id, json!({ "action": "assign" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    act_ok(&demo, &handler, id, json!({ "action": "comment", "note": "đã chuyển Sở GTVT" })).await;

    // Bad filings are refused with the field at fault, and nothing is stored.
    let bad = [
        (json!({ "category": "nope", "description": "x", "lat": 10.77, "lon": 106.66 }), "category"),
        (json!({ "category": "garbage", "description": "", "lat": 10.77, "lon": 106.66 }), "description"),
        (json!({ "category": "garbage", "description": "x" }), "lat"),
        (json!({ "category": "garbage", "description": "x", "lat": 10.77 }), "lat"),
        (json!({ "category": "garbage", "description": "x", "lat": 100.0, "lon": 106.66 }), "lat"),
        (json!({ "category": "garbage", "description": "x", "address": "1 Ba Tháng Hai", "notify": "sms" }), "notify"),
    ];
    for (body, field) in bad {
        let res = demo.http.post(demo.server.url("/api/v1/complaints")).json(&body).send().await.unwrap();
        let (status, p) = problem(res).await;
        assert_eq!((status, p.field.as_deref()), (StatusCode::BAD_REQUEST, Some(field)), "{body}");
    }
    let queue: Value = demo.get_json("/api/v1/complaints", &handler).await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 1);
}

/// A JPEG with an EXIF block carrying GPS coordinates, a comment, and a tiny image.
fn jpeg_with_gps() -> Vec<u8> {
    let segment = |marker: u8, body: &[u8]| {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(body);
        s
    };
    let mut j = vec![0xFF, 0xD8];
    j.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    j.extend(segment(0xE1, b"Exif\0\0II*\0\x08\0\0\0GPSLatitude 10.7725 GPSLongitude 106.66725"));
    j.extend(segment(0xFE, b"Nguyen Van A's phone"));
    let mut dqt = vec![0u8];
    dqt.extend([1u8; 64]);
    j.extend(segment(0xDB, &dqt));
    j.extend(segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
    j.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
    j.extend_from_slice(&[0x55, 0xAA, 0xFF, 0xD9]);
    j
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn photos_lose_their_metadata_and_other_files_are_refused(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine, Outbound::default()).await else { return };
    let form = |photo: Vec<u8>, name: &str, mime: &str| {
        reqwest::multipart::Form::new()
            .text("complaint", filing("sidewalk", WARD1).to_string())
            .part("photo", reqwest::multipart::Part::bytes(photo).file_name(name.to_string()).mime_str(mime).unwrap())
    };
    let res = demo
        .http
        .post(demo.server.url("/api/v1/complaints"))
        .multipart(form(jpeg_with_gps(), "IMG_0001.jpg", "image/jpeg"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let receipt: Value = res.json().await.unwrap();
    let seen = track(&demo, receipt["tracking_code"].as_str().unwrap()).await;
    let url = seen["photos"][0].as_str().expect("the photo is listed");
    let res = demo.http.get(demo.server.url(url)).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    let stored = res.bytes().await.unwrap();
    assert!(!contains(&stored, b"GPSLatitude"), "GPS is removed");
    assert!(!contains(&stored, b"Exif"), "EXIF is removed");
    assert!(!contains(&stored, b"Nguyen Van A"), "comments are removed");
    assert!(contains(&stored, b"JFIF") && stored.ends_with(&[0xFF, 0xD9]), "the image is kept");

    // A PDF named .jpg and declared image/jpeg is still a PDF: refused, nothing filed.
    let handler = demo.token(Role::ComplaintHandler).await;
    let before: Value = demo.get_json("/api/v1/complaints", &handler).await;
    let res = demo
        .http
        .post(demo.server.url("/api/v1/complaints"))
        .multipart(form(b"%PDF-1.7 not a photo".to_vec(), "photo.jpg", "image/jpeg"))
        .send()
        .await
        .unwrap();
    let (status, p) = problem(res).await;
    assert_eq!((status, p.field.as_deref()), (StatusCode::BAD_REQUEST, Some("photo")));
    let after: Value = demo.get_json("/api/v1/complaints", &handler).await;
    assert_eq!(before["items"].as_array().unwrap().len(), after["items"].as_array().unwrap().len());
}

fn offset((lat, lon): (f64, f64), metres_north: f64) -> (f64, f64) {
    (lat + metres_north / 111_195.0, lon)
}

async fn duplicates_are_offered_within_50_m_and_30_days(engine: Engine) {
    let Some((_db, demo, clock)) = setup(engine, Outbound::default()).await else { return };
    let first = file(&demo, &filing("lighting", WARD1)).await["id"].as_i64().unwrap();
    let near = file(&demo, &filing("lighting", offset(WARD1, 30.0))).await;
    let similar: Vec<i64> = near["similar"].as_array().unwrap().iter().map(|s| s["id"].as_i64().unwrap()).collect();
    assert_eq!(similar, [first]);
    let d = near["similar"][0]["distance_m"].as_f64().unwrap();
    assert!((28.0..32.0).contains(&d), "{d}");
    assert!(
        file(&demo, &filing("lighting", offset(WARD1, 80.0))).await["similar"].as_array().unwrap().is_empty(),
        "80 m is too far"
    );
    assert!(
        file(&demo, &filing("garbage", offset(WARD1, 10.0))).await["similar"].as_array().unwrap().is_empty(),
        "another category"
    );
    // Asked before filing, the same answer.
    let (lat, lon) = offset(WARD1, 20.0);
    let asked: Value = demo
        .http
        .get(demo.server.url(&format!("/api/v1/complaints/nearby?category=lighting&lat={lat}&lon={lon}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(asked.as_array().unwrap().len(), 2, "{asked}");
    clock.advance(Duration::days(31));
    assert!(
        file(&demo, &filing("lighting", WARD1)).await["similar"].as_array().unwrap().is_empty(),
        "older than 30 days"
    );
}

async fn handlers_act_only_on_their_wards(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine, Outbound::default()).await else { return };
    let other = file(&demo, &filing("garbage", WARD15)).await;
    assert_eq!(other["ward"], "27190");
    let other = other["id"].as_i64().unwrap();
    let lost = file(&demo, &filing("garbage", NOWHERE)).await;
    assert_eq!(lost["status"], "for_triage", "outside every ward it goes to district triage");
    assert_eq!(lost["ward"], Value::Null);
    let lost = lost["id"].as_i64().unwrap();

    let handler = demo.token(Role::ComplaintHandler).await;
    for id in [other, lost] {
        let (status, _) = act(&demo, &handler, id, json!({ "action": "assign" })).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let res = demo.get(&format!("/api/v1/complaints/{id}"), &handler).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    let queue: Value = demo.get_json("/api/v1/complaints", &handler).await;
    assert!(queue["items"].as_array().unwrap().is_empty(), "the ward 1 handler sees none of these: {queue}");
    let res = demo.get("/api/v1/complaints?ward=27190", &handler).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let district = demo.token(Role::DistrictOfficial).await;
    let queue: Value = demo.get_json("/api/v1/complaints", &district).await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 2);
    act_ok(&demo, &district, lost, json!({ "action": "assign", "handler": "district.official" })).await;
    // Assigning to someone who does not handle that ward is refused.
    let (status, v) = act(&demo, &district, other, json!({ "action": "assign", "handler": "ward1.handler" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
}

async fn reopening_is_for_14_days(engine: Engine) {
    let Some((_db, demo, clock)) = setup(engine, Outbound::default()).await else { return };
    let handler = demo.token(Role::ComplaintHandler).await;
    let mut codes = Vec::new();
    for _ in 0..2 {
        let r = file(&demo, &filing("flooding", WARD1)).await;
        let id = r["id"].as_i64().unwrap();
        act_ok(&demo, &handler, id, json!({ "action": "assign" })).await;
        act_ok(&demo, &handler, id, json!({ "action": "fix" })).await;
        codes.push(r["tracking_code"].as_str().unwrap().to_string());
    }
    let (status, v) = citizen(&demo, "/api/v1/complaints/reopen", json!({ "code": codes[0], "reason": "" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a reason is needed: {v}");
    clock.advance(Duration::days(13));
    let (status, v) =
        citizen(&demo, "/api/v1/complaints/reopen", json!({ "code": codes[0], "reason": "vẫn còn ngập" })).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "reopened");
    assert_eq!(v["overdue"], false, "a reopened complaint gets a new SLA clock");
    clock.advance(Duration::days(2));
    let (status, v) =
        citizen(&demo, "/api/v1/complaints/reopen", json!({ "code": codes[1], "reason": "vẫn còn ngập" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "15 days after the fix: {v}");
    // Past its SLA (12 hours for flooding), the reopened complaint is overdue.
    let seen = track(&demo, &codes[0]).await;
    assert_eq!(seen["overdue"], true);
    let overdue: Value = demo.get_json("/api/v1/complaints?overdue=true", &handler).await;
    assert_eq!(overdue["items"].as_array().unwrap().len(), 1);
}

/// Whether `xml` parses as XML from start to end.
fn well_formed(xml: &str) -> bool {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut depth = 0i32;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Eof) => return depth == 0,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
}

async fn open311_answers_in_json_and_xml(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine, Outbound::default()).await else { return };
    let get = |path: &str| demo.http.get(demo.server.url(path)).send();
    let services: Value = get("/open311/v2/services.json").await.unwrap().json().await.unwrap();
    let codes: Vec<&str> = services.as_array().unwrap().iter().map(|s| s["service_code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["sidewalk", "construction", "garbage", "noise", "lighting", "flooding", "other"]);
    assert_eq!(services[0]["type"], "realtime");
    let xml = get("/open311/v2/services.xml").await.unwrap().text().await.unwrap();
    assert!(well_formed(&xml) && xml.contains("<services><service><service_code>sidewalk</service_code>"), "{xml}");
    let def: Value = get("/open311/v2/services/garbage.json").await.unwrap().json().await.unwrap();
    assert_eq!(def, json!({ "service_code": "garbage", "attributes": [] }));
    let res = get("/open311/v2/services/nope.json").await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err[0]["code"], 404, "Open311 errors: {err}");
    let discovery: Value = get("/open311/v2/discovery.json").await.unwrap().json().await.unwrap();
    assert!(discovery["endpoints"][0]["url"].as_str().unwrap().ends_with("/open311/v2"));

    // POST needs a live key.
    let (_, key) = q10_core::apikey::create(
        &demo.server.state.store,
        &demo.server.state.secrets.audit,
        q10_core::audit::Actor::system(),
        "fixmystreet-app",
        demo.server.state.now(),
    )
    .await
    .unwrap();
    let post =
        |form: Vec<(&str, String)>| demo.http.post(demo.server.url("/open311/v2/requests.json")).form(&form).send();
    let req = |key: &str| {
        vec![
            ("api_key", key.to_string()),
            ("service_code", "garbage".to_string()),
            ("lat", WARD1.0.to_string()),
            ("long", WARD1.1.to_string()),
            ("description", "Túi rác trên vỉa hè".to_string()),
            ("email", "dan@example.vn".to_string()),
        ]
    };
    let res = post(req("q10k_wrong")).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = post(req(&key)).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let id = created[0]["service_request_id"].as_str().unwrap().to_string();
    let token = created[0]["token"].as_str().unwrap().to_string();
    let by_token: Value = get(&format!("/open311/v2/tokens/{token}.json")).await.unwrap().json().await.unwrap();
    assert_eq!(by_token[0]["service_request_id"], id);
    let one: Value = get(&format!("/open311/v2/requests/{id}.json")).await.unwrap().json().await.unwrap();
    assert_eq!(one[0]["status"], "open");
    assert_eq!(one[0]["service_code"], "garbage");
    assert_eq!(one[0]["extended_status"], "open");
    assert!(one.to_string().find("dan@example.vn").is_none(), "contact details never leave over Open311");
    let xml = get(&format!("/open311/v2/requests/{id}.xml")).await.unwrap().text().await.unwrap();
    assert!(well_formed(&xml) && xml.contains(&format!("<service_request_id>{id}</service_request_id>")), "{xml}");

    let handler = demo.token(Role::ComplaintHandler).await;
    let n: i64 = id.parse().unwrap();
    act_ok(&demo, &handler, n, json!({ "action": "assign" })).await;
    act_ok(&demo, &handler, n, json!({ "action": "fix", "note": "đã dọn" })).await;
    let closed: Value = get("/open311/v2/requests.json?status=closed").await.unwrap().json().await.unwrap();
    assert_eq!(closed.as_array().unwrap().len(), 1);
    assert_eq!(closed[0]["extended_status"], "fixed");
    assert_eq!(closed[0]["status_notes"], "đã dọn");
    let open: Value = get("/open311/v2/requests.json?status=open").await.unwrap().json().await.unwrap();
    assert!(open.as_array().unwrap().is_empty());
    // Windows in any time zone, to the second, find it.
    let filed = demo.server.state.now();
    let window = |from: OffsetDateTime, to: OffsetDateTime| {
        let f = |t: OffsetDateTime| {
            let t = t.replace_nanosecond(0).unwrap().to_offset(time::macros::offset!(+7));
            t.format(&time::format_description::well_known::Rfc3339).unwrap().replace('+', "%2B")
        };
        format!("/open311/v2/requests.json?start_date={}&end_date={}", f(from), f(to))
    };
    let ids = |v: Value| {
        v.as_array().unwrap().iter().map(|r| r["service_request_id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let found: Value = get(&window(filed, filed + Duration::hours(1))).await.unwrap().json().await.unwrap();
    assert_eq!(ids(found), std::slice::from_ref(&id), "a window starting in the second it was filed, given in UTC+7");
    let before: Value = get(&window(filed - Duration::hours(1), filed)).await.unwrap().json().await.unwrap();
    assert!(ids(before).is_empty(), "a window ending in the second it was filed (before it, to the nanosecond)");
    let res = get("/open311/v2/requests.json?start_date=yesterday").await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let updates: Value = get("/open311/v2/servicerequestupdates.json").await.unwrap().json().await.unwrap();
    let statuses: Vec<&str> = updates.as_array().unwrap().iter().map(|u| u["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["open", "investigating", "fixed"]);
    let xml = get("/open311/v2/servicerequestupdates.xml").await.unwrap().text().await.unwrap();
    assert!(well_formed(&xml) && xml.contains("<request_update>"), "{xml}");

    // A revoked key no longer files.
    q10_core::apikey::revoke(
        &demo.server.state.store,
        &demo.server.state.secrets.audit,
        q10_core::audit::Actor::system(),
        "fixmystreet-app",
        demo.server.state.now(),
    )
    .await
    .unwrap();
    assert_eq!(post(req(&key)).await.unwrap().status(), StatusCode::FORBIDDEN);
}

async fn contact_details_are_sealed_and_reads_audited(engine: Engine) {
    let Some((db, demo, _clock)) = setup(engine, Outbound::default()).await else { return };
    let mut body = filing("construction", WARD1);
    body["contact"] = json!({ "name": "Trần Thị B", "phone": "0903 123 456" });
    body["notify"] = json!("sms");
    let id = file(&demo, &body).await["id"].as_i64().unwrap();

    // On disk, the phone number is nowhere in the row.
    let store = db.store().await;
    let row = store.complaint(id).await.unwrap().unwrap();
    let sealed = row.contact.expect("contact is kept");
    assert!(!contains(&sealed, b"0903123456") && !contains(&sealed, "Trần".as_bytes()));

    let handler = demo.token(Role::ComplaintHandler).await;
    let staff: Value = demo.get_json(&format!("/api/v1/complaints/{id}"), &handler).await;
    assert_eq!(staff["has_contact"], true);
    assert!(!staff.to_string().contains("0903123456"), "the staff view does not show it unasked");
    let contact: Value = demo.get_json(&format!("/api/v1/complaints/{id}/contact"), &handler).await;
    assert_eq!(contact["phone"], "0903123456");
    let operator = demo.token(Role::Operator).await;
    let res = demo.get(&format!("/api/v1/complaints/{id}/contact"), &operator).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let admin = demo.token(Role::Admin).await;
    let audit: Value = demo.get_json("/api/v1/audit?limit=100", &admin).await;
    let text = audit.to_string();
    assert!(text.contains("complaint.contact.read"));
    assert!(!text.contains("0903123456") && !text.contains("Trần Thị B"), "no personal data in the audit log");
}

/// A receiver of webhooks on loopback that fails its first `fail_first` deliveries.
async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let seen = seen.clone();
            let calls = calls.clone();
            async move {
                if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < fail_first {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                seen.lock().unwrap().push((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn events_are_delivered_signed_and_retried(engine: Engine) {
    let (url, got) = receiver(1).await;
    let secret = q10_core::outbox::parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let outbound = Outbound {
        destinations: vec![Destination {
            name: "portal1022".into(),
            url,
            secret: Some(secret.clone()),
            events: vec!["complaint.created".into(), "complaint.changed".into()],
        }],
        ..Default::default()
    };
    let Some((_db, demo, clock)) = setup(engine, outbound.clone()).await else { return };
    let id = file(&demo, &filing("garbage", WARD1)).await["id"].as_i64().unwrap();
    let handler = demo.token(Role::ComplaintHandler).await;
    act_ok(&demo, &handler, id, json!({ "action": "note", "note": "internal" })).await;
    act_ok(&demo, &handler, id, json!({ "action": "assign" })).await;

    let state = &demo.server.state;
    let worker = Worker::new(state.store.clone(), Arc::new(outbound), SecretSlice::from(vec![0u8; 32]), clock.clone());
    // First pass: the receiver fails the first delivery; the rest go through.
    let now = clock.now();
    assert_eq!(worker.run_once(now).await.unwrap(), 1);
    assert_eq!(got.lock().unwrap().len(), 1);
    // The failed one waits for its backoff, then goes.
    assert_eq!(worker.run_once(now).await.unwrap(), 0);
    assert_eq!(worker.run_once(now + Duration::seconds(11)).await.unwrap(), 1);
    assert_eq!(worker.run_once(now + Duration::hours(2)).await.unwrap(), 0, "nothing is sent twice");

    let got = got.lock().unwrap();
    let mut kinds: Vec<String> = Vec::new();
    for (headers, body) in got.iter() {
        let id = headers["webhook-id"].to_str().unwrap();
        let ts: i64 = headers["webhook-timestamp"].to_str().unwrap().parse().unwrap();
        let sig = headers["webhook-signature"].to_str().unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(sig, q10_core::outbox::sign(secret.expose_secret(), id, ts, body));
        let v: Value = serde_json::from_str(body).unwrap();
        assert!(v["data"].get("contact").is_none());
        kinds.push(format!("{}:{}", v["type"].as_str().unwrap(), v["data"]["status"].as_str().unwrap()));
    }
    kinds.sort();
    // The internal note sends nothing.
    assert_eq!(kinds, ["complaint.changed:assigned", "complaint.created:submitted"]);
    let ids: std::collections::BTreeSet<_> =
        got.iter().map(|(h, _)| h["webhook-id"].to_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 2, "each event has its own id");
}

async fn dashboard_figures_follow_the_complaints(engine: Engine) {
    let Some((_db, demo, clock)) = setup(engine, Outbound::default()).await else { return };
    let handler = demo.token(Role::ComplaintHandler).await;
    let mut codes = Vec::new();
    for (i, category) in ["garbage", "garbage", "noise", "flooding"].iter().enumerate() {
        let r = file(&demo, &filing(category, offset(WARD1, 100.0 * i as f64))).await;
        codes.push((r["id"].as_i64().unwrap(), r["tracking_code"].as_str().unwrap().to_string()));
    }
    file(&demo, &filing("garbage", WARD15)).await;
    clock.advance(Duration::hours(3));
    // Two resolved in three hours (one closed and rated 4), one 30 hours late for its 24-hour SLA.
    for (id, _) in &codes[..2] {
        act_ok(&demo, &handler, *id, json!({ "action": "assign" })).await;
        act_ok(&demo, &handler, *id, json!({ "action": "fix" })).await;
    }
    act_ok(&demo, &handler, codes[0].0, json!({ "action": "close" })).await;
    let (status, _) = citizen(&demo, "/api/v1/complaints/rate", json!({ "code": codes[0].1, "rating": 4 })).await;
    assert_eq!(status, StatusCode::OK);
    clock.advance(Duration::hours(27));
    act_ok(&demo, &handler, codes[2].0, json!({ "action": "not_our_responsibility", "note": "karaoke ngoài địa bàn" }))
        .await;

    let official = demo.token(Role::WardOfficial).await;
    let kpis: Value = demo.get_json("/api/v1/dashboard/kpis?unit=27211", &official).await;
    let c = &kpis["complaints"];
    assert_eq!(c["received"], 4, "{kpis}");
    assert_eq!(c["resolved"], 3);
    assert_eq!(c["on_time_pct"], 66.7);
    assert_eq!(c["open_now"], 1);
    assert_eq!(c["overdue_now"], 1, "flooding's 12-hour SLA has passed");
    assert_eq!(c["satisfaction"], 4.0);
    let median = c["median_hours_to_resolve"].as_f64().unwrap();
    assert!((3.0..4.0).contains(&median), "{median}");
    // Over whole months the figures come from the month rows, and agree.
    let today = q10_core::complaint::stats::local_day(clock.now());
    let (from, to) = (today - Duration::days(70), today + Duration::days(70));
    let months: Value =
        demo.get_json(&format!("/api/v1/dashboard/kpis?unit=27211&from={from}&to={to}"), &official).await;
    assert_eq!(months["complaints"]["received"], 4, "{months}");
    assert_eq!(months["complaints"]["resolved"], 3);
    assert_eq!(months["complaints"]["satisfaction"], 4.0);
    assert_eq!(months["complaints"]["median_hours_to_resolve"], c["median_hours_to_resolve"]);
    let district = demo.token(Role::DistrictOfficial).await;
    let all: Value = demo.get_json("/api/v1/dashboard/kpis", &district).await;
    assert_eq!(all["complaints"]["received"], 5);
    assert_eq!(all["unit"], "771");
    // A ward official sees only their ward.
    let res = demo.get("/api/v1/dashboard/kpis?unit=27190", &official).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let own: Value = demo.get_json("/api/v1/dashboard/kpis", &official).await;
    assert_eq!(
        (own["unit"].as_str(), own["complaints"]["received"].as_i64()),
        (Some("27211"), Some(4)),
        "by default, their ward"
    );

    // Reopening takes the resolution back out of the figures.
    let (status, _) =
        citizen(&demo, "/api/v1/complaints/reopen", json!({ "code": codes[1].1, "reason": "chưa dọn hết" })).await;
    assert_eq!(status, StatusCode::OK);
    let kpis: Value = demo.get_json("/api/v1/dashboard/kpis?unit=27211", &official).await;
    assert_eq!(kpis["complaints"]["resolved"], 2);
    assert_eq!(kpis["complaints"]["open_now"], 2);

    // The trend has every day of the period; the days of filing and resolving carry the counts.
    let trend: Value = demo.get_json("/api/v1/dashboard/trend?unit=27211", &official).await;
    let days = trend["days"].as_array().unwrap();
    assert_eq!(days.len(), 30, "{trend}");
    let sum = |k: &str| days.iter().map(|d| d[k].as_i64().unwrap()).sum::<i64>();
    assert_eq!((sum("received"), sum("resolved")), (4, 2), "{trend}");
    assert_eq!(days.last().unwrap()["day"], today.to_string());
    // The district's scorecards: the district first, then each of its wards; the same as CSV.
    let cards: Value = demo.get_json("/api/v1/dashboard/scorecards", &district).await;
    let cards = cards.as_array().unwrap();
    assert_eq!(cards.len(), 16, "the district and its 15 wards");
    assert_eq!((cards[0]["unit"].as_str(), cards[0]["complaints"]["received"].as_i64()), (Some("771"), Some(5)));
    let ward1 = cards.iter().find(|k| k["unit"] == "27211").unwrap();
    assert_eq!(ward1["complaints"]["resolved"], 2);
    let res = demo.get("/api/v1/dashboard/scorecards.csv", &district).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let text = res.text().await.unwrap();
    let mut csv = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = csv.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = csv.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 16);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = rows.iter().find(|r| &r[col("unit")] == "27211").unwrap();
    assert_eq!((&row[col("complaints_received")], &row[col("complaints_resolved")]), ("4", "2"));
    assert_eq!(&row[col("complaints_on_time_pct")], "50");
    // A ward official's scorecards are their ward's alone.
    let own: Value = demo.get_json("/api/v1/dashboard/scorecards", &official).await;
    assert_eq!(own.as_array().map(|a| a.len()), Some(1), "{own}");

    let map: Value = demo.get_json("/api/v1/dashboard/complaints.geojson?status=closed", &district).await;
    let features = map["features"].as_array().unwrap();
    assert_eq!(features.len(), 1);
    assert_eq!(features[0]["geometry"]["coordinates"][0].as_f64().unwrap(), WARD1.1);
    assert!(map.to_string().find("description").is_none(), "the map layer carries no free text");
}

async fn the_live_feed_pushes_changes(engine: Engine) {
    let Some((_db, demo, _clock)) = setup(engine, Outbound::default()).await else { return };
    let handler = demo.token(Role::ComplaintHandler).await;
    let mut res = demo.get("/api/v1/events", &handler).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let id = file(&demo, &filing("garbage", WARD1)).await["id"].as_i64().unwrap();
    file(&demo, &filing("garbage", WARD15)).await;
    act_ok(&demo, &handler, id, json!({ "action": "assign" })).await;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !text.contains("complaint.changed") {
        let chunk = tokio::time::timeout_at(deadline, res.chunk()).await.expect("events arrive").unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(text.contains("event: complaint.created"), "{text}");
    assert!(text.contains(&format!("\"id\":{id}")) && text.contains("\"status\":\"assigned\""), "{text}");
    assert!(!text.contains("27190"), "ward 15's complaint is not sent to a ward 1 handler: {text}");
}
