//! The kiosk fleet and kiosks' calls over a real loopback socket, on SQLite and on PostgreSQL: a
//! kiosk reports in and hears the settings an operator gives it; a screenshot asked for arrives;
//! a kiosk that falls silent raises one offline alert, cleared when it is back. A call rings for
//! those who watch the kiosk's ward, is answered once, hangs up, and one nobody answers is missed.

use std::sync::Arc;

use q10_core::clock::{Clock, ManualClock};
use q10_core::outbox::Outbound;
use q10_core_api::Role;
use q10_tests::{Demo, Engine, TestDb, demo_with, problem};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

q10_tests::on_both_engines!(
    a_kiosk_reports_in_is_configured_and_sends_a_screenshot,
    a_silent_kiosk_raises_one_offline_alert,
    a_call_rings_is_answered_once_and_hangs_up,
);

async fn demo(db: &TestDb) -> (Demo, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()));
    (demo_with(db.store().await, Some(clock.clone()), Outbound::default()).await, clock)
}

fn beat() -> Value {
    json!({ "version": "0.1.0", "uptime_seconds": 3600, "printer": "ready", "network": "ethernet" })
}

async fn heartbeat(demo: &Demo, token: &str, body: &Value) -> (StatusCode, Value) {
    let res = demo.post("/api/v1/kiosk/heartbeat", token).json(body).send().await.unwrap();
    (res.status(), res.json().await.unwrap())
}

async fn the_kiosk(demo: &Demo, token: &str) -> Value {
    let list = demo.get_json("/api/v1/kiosks", token).await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|k| k["username"] == "kiosk.ward1")
        .cloned()
        .expect("the demo's kiosk is listed")
}

async fn patch(demo: &Demo, token: &str, id: i64, body: Value) -> reqwest::Response {
    demo.http
        .patch(demo.server.url(&format!("/api/v1/kiosks/{id}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn a_kiosk_reports_in_is_configured_and_sends_a_screenshot(engine: Engine) {
    let Some(db) = TestDb::new(engine).await else { return };
    let (demo, _clock) = demo(&db).await;
    let kiosk = demo.token(Role::KioskDevice).await;
    let operator = demo.token(Role::Operator).await;
    let ward = demo.token(Role::WardOfficial).await;

    // Listed before it ever reports, as not online.
    let k = the_kiosk(&demo, &operator).await;
    assert_eq!(k["online"], false, "{k}");
    assert!(k["last_seen_at"].is_null());
    let id = k["id"].as_i64().unwrap();

    // Bad heartbeats are refused; only a kiosk sends one.
    for bad in [
        json!({ "version": "", "uptime_seconds": 1, "printer": "ready", "network": "ethernet" }),
        json!({ "version": "0.1.0", "uptime_seconds": 1, "printer": "jammed", "network": "ethernet" }),
        json!({ "version": "0.1.0", "uptime_seconds": 1, "printer": "ready", "network": "a\nb" }),
        json!({ "version": "0.1.0", "uptime_seconds": 1, "printer": "ready", "network": "x", "extra": 1 }),
    ] {
        let (status, body) = heartbeat(&demo, &kiosk, &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} → {body}");
    }
    assert_eq!(heartbeat(&demo, &operator, &beat()).await.0, StatusCode::FORBIDDEN);

    let (status, config) = heartbeat(&demo, &kiosk, &beat()).await;
    assert_eq!(status, StatusCode::OK, "{config}");
    assert_eq!(
        config,
        json!({ "idle_seconds": 90, "languages": ["vi", "en"], "location": null, "screenshot_requested": false })
    );
    let k = the_kiosk(&demo, &operator).await;
    assert_eq!(
        (k["online"].as_bool(), k["version"].as_str(), k["printer"].as_str()),
        (Some(true), Some("0.1.0"), Some("ready"))
    );
    assert_eq!(k["uptime_seconds"], 3600);
    assert_eq!(the_kiosk(&demo, &ward).await["id"], id, "its ward sees it too");

    // Settings: checked, kept whole or not at all, only by operators.
    for bad in [
        json!({ "idle_seconds": 5 }),
        json!({ "languages": ["fr"] }),
        json!({ "languages": ["vi", "vi"] }),
        json!({ "languages": [] }),
        json!({ "location": [0.0, 0.0] }),
        json!({ "idle_seconds": 120, "colour": "red" }),
    ] {
        let res = patch(&demo, &operator, id, bad.clone()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(patch(&demo, &ward, id, json!({ "idle_seconds": 120 })).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(patch(&demo, &operator, 999_999, json!({ "idle_seconds": 120 })).await.status(), StatusCode::NOT_FOUND);
    let res = patch(
        &demo,
        &operator,
        id,
        json!({ "idle_seconds": 120, "languages": ["en", "vi"], "location": [106.6652, 10.7648] }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, config) = heartbeat(&demo, &kiosk, &beat()).await;
    assert_eq!(config["idle_seconds"], 120);
    assert_eq!(config["languages"], json!(["en", "vi"]));
    assert_eq!(config["location"], json!([106.6652, 10.7648]));
    // A change of one setting keeps the others.
    assert_eq!(patch(&demo, &operator, id, json!({ "idle_seconds": 60 })).await.status(), StatusCode::OK);
    let (_, config) = heartbeat(&demo, &kiosk, &beat()).await;
    assert_eq!((config["idle_seconds"].as_u64(), config["languages"][0].as_str()), (Some(60), Some("en")));

    // A screenshot: asked for, heard of at the next heartbeat, sent, shown.
    let shot = format!("/api/v1/kiosks/{id}/screenshot");
    assert_eq!(demo.get(&shot, &operator).send().await.unwrap().status(), StatusCode::NOT_FOUND, "none yet");
    assert_eq!(demo.post(&shot, &ward).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(demo.post(&shot, &operator).send().await.unwrap().status(), StatusCode::ACCEPTED);
    assert_eq!(heartbeat(&demo, &kiosk, &beat()).await.1["screenshot_requested"], true);
    let put = |body: Vec<u8>, token: &str| {
        demo.http.put(demo.server.url("/api/v1/kiosk/screenshot")).bearer_auth(token).body(body).send()
    };
    let res = put(b"GIF89a not a png".to_vec(), &kiosk).await.unwrap();
    let (status, p) = problem(res).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{p:?}");
    let png = tiny_png();
    assert_eq!(put(png.clone(), &operator).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(put(png.clone(), &kiosk).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(heartbeat(&demo, &kiosk, &beat()).await.1["screenshot_requested"], false, "the request is settled");
    let res = demo.get(&shot, &ward).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().to_vec(), png);
    assert!(the_kiosk(&demo, &operator).await["screenshot_at"].is_string());
}

/// The smallest PNG: one white pixel.
fn tiny_png() -> Vec<u8> {
    const PNG: [u8; 67] = [
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b, 0x55, 0x00, 0x00, 0x00,
        0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0x0f, 0x00, 0x01, 0x01, 0x01, 0x00, 0xb1, 0x38, 0xf6,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    PNG.to_vec()
}

async fn a_silent_kiosk_raises_one_offline_alert(engine: Engine) {
    let Some(db) = TestDb::new(engine).await else { return };
    let (demo, clock) = demo(&db).await;
    let state = &demo.server.state;
    let kiosk = demo.token(Role::KioskDevice).await;
    let operator = demo.token(Role::Operator).await;
    // Never heard from: not installed yet, no alert.
    clock.advance(Duration::minutes(5));
    assert!(q10_core::kiosk::watch(state, clock.now()).await.unwrap().is_empty());

    assert_eq!(heartbeat(&demo, &kiosk, &beat()).await.0, StatusCode::OK);
    clock.advance(Duration::seconds(60));
    assert!(
        q10_core::kiosk::watch(state, clock.now()).await.unwrap().is_empty(),
        "two heartbeats missed is not yet offline"
    );
    clock.advance(Duration::seconds(40));
    let raised = q10_core::kiosk::watch(state, clock.now()).await.unwrap();
    assert_eq!(raised.len(), 1, "offline after 90 s");
    assert!(q10_core::kiosk::watch(state, clock.now()).await.unwrap().is_empty(), "raised once");
    assert_eq!(the_kiosk(&demo, &operator).await["online"], false);
    let alerts = demo.get_json("/api/v1/alerts", &operator).await;
    let alert = alerts.as_array().unwrap().iter().find(|a| a["id"] == raised[0]).cloned().unwrap();
    assert_eq!(
        (alert["kind"].as_str(), alert["severity"].as_str()),
        (Some("kiosk_offline"), Some("medium")),
        "{alert}"
    );
    assert!(alert["cleared_at"].is_null());

    // Back: the alert notes it (it stays for the operator to resolve), the kiosk is online.
    assert_eq!(heartbeat(&demo, &kiosk, &beat()).await.0, StatusCode::OK);
    let alerts = demo.get_json("/api/v1/alerts", &operator).await;
    let alert = alerts.as_array().unwrap().iter().find(|a| a["id"] == raised[0]).cloned().unwrap();
    assert!(alert["cleared_at"].is_string(), "{alert}");
    assert_eq!(the_kiosk(&demo, &operator).await["online"], true);
    // Silent again before anyone resolved it: the same alert is raised again.
    clock.advance(Duration::minutes(2));
    assert_eq!(q10_core::kiosk::watch(state, clock.now()).await.unwrap(), raised);
}

async fn a_call_rings_is_answered_once_and_hangs_up(engine: Engine) {
    let Some(db) = TestDb::new(engine).await else { return };
    let (demo, clock) = demo(&db).await;
    let state = &demo.server.state;
    let kiosk = demo.token(Role::KioskDevice).await;
    let operator = demo.token(Role::Operator).await;
    let ward = demo.token(Role::WardOfficial).await;
    let cashier = demo.token(Role::Cashier).await;
    let mut feed = state.feed.subscribe();

    // Only a kiosk calls.
    assert_eq!(demo.post("/api/v1/kiosk/calls", &operator).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let res = demo.post("/api/v1/kiosk/calls", &kiosk).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let join: Value = res.json().await.unwrap();
    let id = join["call"]["id"].as_i64().unwrap();
    let room = format!("kiosk-call-{id}");
    assert_eq!(join["room"], room.as_str());
    assert_eq!(join["call"]["status"], "ringing");
    let kiosk_id = join["call"]["kiosk_id"].as_i64().unwrap();
    assert_eq!(
        join["token"],
        format!("{room}|kiosk-{kiosk_id}|speaker|27211|no-record"),
        "the kiosk speaks, never hosts"
    );
    let rang = feed.recv().await.unwrap();
    assert_eq!((rang.kind, rang.id, rang.ward.as_deref()), ("kiosk_call.ringing", id, Some("27211")));

    // It rings for those who watch the ward; not for a cashier.
    for who in [&operator, &ward] {
        let calls = demo.get_json("/api/v1/kiosk-calls", who).await;
        assert_eq!(calls[0]["id"], id, "{calls}");
        assert_eq!(calls[0]["kiosk_name"], "Kiosk Phường 1");
    }
    assert_eq!(demo.get("/api/v1/kiosk-calls", &cashier).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        demo.get_json(&format!("/api/v1/kiosk-calls/{id}"), &kiosk).await["status"],
        "ringing",
        "the kiosk follows its call"
    );

    // Answered once: the first officer is the call's host, the second is told it is taken.
    let answer = format!("/api/v1/kiosk-calls/{id}/answer");
    assert_eq!(demo.post(&answer, &kiosk).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let res = demo.post(&answer, &operator).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let taken: Value = res.json().await.unwrap();
    assert!(taken["token"].as_str().unwrap().starts_with(&format!("{room}|user-")), "{taken}");
    assert!(taken["token"].as_str().unwrap().contains("|host|"));
    assert_eq!(taken["call"]["status"], "answered");
    assert_eq!(taken["call"]["officer"], "Trực trung tâm điều hành");
    let (status, p) = problem(demo.post(&answer, &ward).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{p:?}");
    assert_eq!(feed.recv().await.unwrap().kind, "kiosk_call.answered");

    // The kiosk hangs up; again changes nothing.
    let end = format!("/api/v1/kiosk-calls/{id}/end");
    let ended: Value = demo.post(&end, &kiosk).send().await.unwrap().json().await.unwrap();
    assert_eq!(ended["status"], "ended");
    assert!(ended["ended_at"].is_string());
    let again: Value = demo.post(&end, &operator).send().await.unwrap().json().await.unwrap();
    assert_eq!(again, ended);
    assert_eq!(feed.recv().await.unwrap().kind, "kiosk_call.ended");

    // A call nobody answers is missed after two minutes; a new call ends the kiosk's last.
    let first: Value = demo.post("/api/v1/kiosk/calls", &kiosk).send().await.unwrap().json().await.unwrap();
    let second: Value = demo.post("/api/v1/kiosk/calls", &kiosk).send().await.unwrap().json().await.unwrap();
    let status = |c: &Value| {
        let path = format!("/api/v1/kiosk-calls/{}", c["call"]["id"]);
        let (demo, operator) = (&demo, &operator);
        async move { demo.get_json(&path, operator).await["status"].as_str().unwrap().to_string() }
    };
    assert_eq!(status(&first).await, "missed", "replaced by the kiosk's next call");
    assert_eq!(status(&second).await, "ringing");
    clock.advance(Duration::minutes(3));
    q10_core::kiosk::watch(state, clock.now()).await.unwrap();
    assert_eq!(status(&second).await, "missed");
    let (status, _) = problem(
        demo.post(&format!("/api/v1/kiosk-calls/{}/answer", second["call"]["id"]), &operator).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "a missed call cannot be answered");
    assert_eq!(
        demo.get(&format!("/api/v1/kiosk-calls/{}", 999_999), &operator).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}
