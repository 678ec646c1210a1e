//! Street cameras end to end over a real loopback socket, on SQLite and on PostgreSQL: an
//! operator registers a camera whose stream URL carries a password; the password is sealed at
//! rest and never comes back in an answer, an error or the audit log; ward officials see their
//! ward's cameras only and change none; bad input is refused field by field and changes nothing.
//! A camera the relay reports down for long raises one alert, pushed live, cleared when it is back.
//! Counting zones and lines are set with the camera, checked, and what was counted in each is read
//! back by whoever may read the camera.

use std::sync::Arc;

use q10_core::camera::{DOWN_ALERT_AFTER, HealthReport, report_health};
use q10_core::clock::{Clock, ManualClock};
use q10_core::outbox::Outbound;
use q10_core_api::{CameraLink, Role};
use q10_tests::{Demo, Engine, TestDb, demo_for, demo_with, problem};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

q10_tests::on_both_engines!(
    an_operator_registers_a_camera_whose_password_never_comes_back,
    bad_cameras_are_refused_and_wards_see_their_own,
    a_camera_down_for_long_raises_one_alert_cleared_when_it_is_back,
    counts_reach_the_dashboard_hour_by_hour,
    zones_and_lines_are_kept_checked_and_counted,
);

const PASSWORD: &str = "Hik-Pass-2026";

fn camera(code: &str, unit: &str) -> Value {
    json!({ "code": code, "name": "Ngã tư 3/2 – Lý Thường Kiệt", "unit_code": unit, "lon": 106.6655,
        "lat": 10.7635, "heading": 90.0,
        "source": format!("rtsp://viewer:{PASSWORD}@10.10.1.21:554/Streaming/Channels/101") })
}

async fn register(demo: &Demo, token: &str, body: &Value) -> (StatusCode, Value) {
    let res = demo.post("/api/v1/cameras", token).json(body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn patch(demo: &Demo, token: &str, id: i64, body: Value) -> reqwest::Response {
    let url = demo.server.url(&format!("/api/v1/cameras/{id}"));
    demo.http.patch(url).bearer_auth(token).json(&body).send().await.unwrap()
}

async fn an_operator_registers_a_camera_whose_password_never_comes_back(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else { return };
    let operator = demo.token(Role::Operator).await;
    let admin = demo.token(Role::Admin).await;
    let (status, c) = register(&demo, &operator, &camera("p1-3t2-lтк", "27211")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "codes are ASCII: {c}");
    let (status, c) = register(&demo, &operator, &camera("p1-3t2-ltk", "27211")).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    assert_eq!(c["source"], "rtsp://10.10.1.21:554/Streaming/Channels/101");
    assert_eq!((c["has_credentials"].as_bool(), c["enabled"].as_bool()), (Some(true), Some(true)));
    assert_eq!((c["transport"].as_str(), c["unit_name"].as_str()), (Some("tcp"), Some("Phường 1")));
    assert!(!c.to_string().contains(PASSWORD));
    assert_eq!(register(&demo, &operator, &camera("p1-3t2-ltk", "27211")).await.0, StatusCode::CONFLICT);
    let id = c["id"].as_i64().unwrap();

    // Sealed at rest, and the relay can open it.
    let state = &demo.server.state;
    let row = state.store.camera(id).await.unwrap().unwrap();
    let stored = String::from_utf8_lossy(&row.source_sealed).to_string();
    assert!(!stored.contains(PASSWORD) && !row.source_shown.contains(PASSWORD));
    let url = q10_core::camera::stream_url(state, &row).unwrap();
    assert_eq!(url, format!("rtsp://viewer:{PASSWORD}@10.10.1.21:554/Streaming/Channels/101"));

    // A change of place and a move to UDP keep the stream; a new stream replaces it.
    let res = patch(&demo, &operator, id, json!({ "lon": 106.667, "lat": 10.768, "transport": "udp" })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.unwrap();
    assert_eq!((changed["lon"].as_f64(), changed["transport"].as_str()), (Some(106.667), Some("udp")));
    assert_eq!(changed["heading"].as_f64(), Some(90.0), "what is not given stays");
    assert_eq!(changed["has_credentials"].as_bool(), Some(true));
    let res = patch(&demo, &operator, id, json!({ "source": "rtsp://10.10.1.22/live", "enabled": false })).await;
    let changed: Value = res.json().await.unwrap();
    assert_eq!((changed["has_credentials"].as_bool(), changed["enabled"].as_bool()), (Some(false), Some(false)));
    assert_eq!(
        q10_core::camera::stream_url(state, &state.store.camera(id).await.unwrap().unwrap()).unwrap(),
        "rtsp://10.10.1.22/live"
    );

    let listed = demo.get_json("/api/v1/cameras", &operator).await;
    assert!(listed.as_array().unwrap().iter().any(|x| x["id"] == id));
    let log = demo.get_json("/api/v1/audit?limit=500", &admin).await;
    let entries: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["object_type"] == "camera" && e["object_id"].as_str().and_then(|s| s.parse::<i64>().ok()) == Some(id)
        })
        .collect();
    let actions: Vec<&str> = entries.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "camera.register").count(), 1, "{entries:?}");
    assert_eq!(actions.iter().filter(|a| **a == "camera.change").count(), 2, "{entries:?}");
    assert!(!log.to_string().contains(PASSWORD), "the audit log holds no password");
}

async fn bad_cameras_are_refused_and_wards_see_their_own(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else { return };
    let operator = demo.token(Role::Operator).await;
    let ward = demo.token(Role::WardOfficial).await;
    let before = demo.get_json("/api/v1/cameras", &operator).await.as_array().unwrap().len();

    let cases = [
        ("source", json!({ "source": format!("http://admin:{PASSWORD}@10.0.0.9/video") })),
        ("source", json!({ "source": "rtsp:///no-host" })),
        ("lon", json!({ "lon": 106.66, "lat": null })),
        ("heading", json!({ "heading": 400.0 })),
        ("unit_code", json!({ "unit_code": "99999" })),
        ("name", json!({ "name": "  " })),
    ];
    for (field, change) in cases {
        let mut body = camera("bad-one", "27211");
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = demo.post("/api/v1/cameras", &operator).json(&body).send().await.unwrap();
        let (status, p) = problem(res).await;
        assert_eq!((status, p.field.as_deref()), (StatusCode::BAD_REQUEST, Some(field)), "{p:?}");
        assert!(!format!("{p:?}").contains(PASSWORD), "an error never repeats the password: {p:?}");
    }
    let res = demo.post("/api/v1/cameras", &operator).json(&json!({ "code": "x", "extra": 1 })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(demo.get_json("/api/v1/cameras", &operator).await.as_array().unwrap().len(), before, "nothing kept");

    let (_, mine) = register(&demo, &operator, &camera("p1-cam", "27211")).await;
    let (_, theirs) = register(&demo, &operator, &camera("p15-cam", "27190")).await;
    assert_eq!(register(&demo, &ward, &camera("p1-own", "27211")).await.0, StatusCode::FORBIDDEN);
    let seen = demo.get_json("/api/v1/cameras", &ward).await;
    let codes: Vec<&str> = seen.as_array().unwrap().iter().filter_map(|c| c["code"].as_str()).collect();
    assert!(codes.contains(&"p1-cam") && !codes.contains(&"p15-cam"), "{codes:?}");
    let far = demo.get(&format!("/api/v1/cameras/{}", theirs["id"]), &ward).send().await.unwrap();
    assert_eq!(far.status(), StatusCode::NOT_FOUND, "another ward's camera is not there for them");
    let res = patch(&demo, &ward, mine["id"].as_i64().unwrap(), json!({ "enabled": false })).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "ward officials watch, operators change");
    let res = patch(&demo, &operator, mine["id"].as_i64().unwrap(), json!({})).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "an empty change");

    // Watching: a short-lived listener's token for the camera's own room, recorded in the audit
    // log; not for another ward's camera, nor for one switched off.
    let id = mine["id"].as_i64().unwrap();
    let res = demo.post(&format!("/api/v1/cameras/{id}/watch"), &ward).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let watch: Value = res.json().await.unwrap();
    assert_eq!(watch["whep"], format!("/whep/cameras/{id}"));
    assert_eq!(watch["token"], format!("camera-{id}|user-{}|listener|-|no-record", ward_user(&demo, &ward).await));
    let far = demo.post(&format!("/api/v1/cameras/{}/watch", theirs["id"]), &ward).send().await.unwrap();
    assert_eq!(far.status(), StatusCode::NOT_FOUND);
    let admin = demo.token(Role::Admin).await;
    let log = demo.get_json("/api/v1/audit?limit=50", &admin).await;
    assert!(log.to_string().contains("camera.watch"), "watching is recorded");
    assert_eq!(patch(&demo, &operator, id, json!({ "enabled": false })).await.status(), StatusCode::OK);
    let res = demo.post(&format!("/api/v1/cameras/{id}/watch"), &operator).send().await.unwrap();
    let (status, p) = problem(res).await;
    assert_eq!(status, StatusCode::CONFLICT, "{p:?}");
}

async fn ward_user(demo: &Demo, token: &str) -> i64 {
    demo.get_json("/api/v1/me", token).await["id"].as_i64().unwrap()
}

fn report(state: CameraLink, fault: Option<&'static str>) -> HealthReport {
    let up = state == CameraLink::Up;
    HealthReport {
        state,
        fps: if up { 25.0 } else { 0.0 },
        bitrate: if up { 2_000_000.0 } else { 0.0 },
        width: up.then_some(1280),
        height: up.then_some(720),
        last_keyframe_at: None,
        fault,
    }
}

async fn a_camera_down_for_long_raises_one_alert_cleared_when_it_is_back(engine: Engine) {
    let Some(db) = TestDb::new(engine).await else { return };
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()));
    let demo = demo_with(db.store().await, Some(clock.clone()), Outbound::default()).await;
    let state = &demo.server.state;
    let operator = demo.token(Role::Operator).await;
    let ward = demo.token(Role::WardOfficial).await;
    let (_, c) = register(&demo, &operator, &camera("p1-down", "27211")).await;
    let id = c["id"].as_i64().unwrap();
    let alerts = |token: String| {
        let demo = &demo;
        async move {
            let all = demo.get_json("/api/v1/alerts", &token).await;
            all.as_array().unwrap().iter().filter(|a| a["source_type"] == "camera").cloned().collect::<Vec<Value>>()
        }
    };

    assert_eq!(report_health(state, id, &report(CameraLink::Up, None), clock.now()).await.unwrap(), None);
    let shown = demo.get_json(&format!("/api/v1/cameras/{id}"), &ward).await;
    assert_eq!(shown["health"]["state"], "up");
    assert_eq!(shown["health"]["fps"].as_f64(), Some(25.0));

    // Down, and tried again: no alert until it has been down for long.
    clock.advance(Duration::seconds(5));
    let went_down = clock.now();
    let down = report(CameraLink::Down, Some("ended"));
    assert_eq!(report_health(state, id, &down, clock.now()).await.unwrap(), None);
    clock.advance(Duration::seconds(5));
    report_health(state, id, &report(CameraLink::Connecting, None), clock.now()).await.unwrap();
    let shown = demo.get_json(&format!("/api/v1/cameras/{id}"), &ward).await;
    assert_eq!(shown["health"]["state"], "down", "reaching it again keeps it down: {shown}");
    assert_eq!(shown["health"]["fault"], "ended");
    assert!(alerts(ward.clone()).await.is_empty());

    let mut feed = demo.get("/api/v1/events", &ward).send().await.unwrap();
    clock.advance(went_down + DOWN_ALERT_AFTER - clock.now());
    let raised = report_health(state, id, &report(CameraLink::Down, Some("unreachable")), clock.now()).await.unwrap();
    assert!(raised.is_some(), "down for {DOWN_ALERT_AFTER}: an alert");
    clock.advance(Duration::seconds(5));
    let again = report_health(state, id, &report(CameraLink::Down, Some("unreachable")), clock.now()).await.unwrap();
    assert_eq!(again, None, "one alert while it lasts");
    let mine = alerts(ward.clone()).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!((mine[0]["kind"].as_str(), mine[0]["severity"].as_str()), (Some("camera_down"), Some("high")));
    assert!(mine[0]["cleared_at"].is_null());
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !text.contains("alert.raised") {
        let chunk = tokio::time::timeout_at(deadline, feed.chunk()).await.expect("pushed").unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }

    // Back: the alert notes it, and stays for an operator to resolve.
    report_health(state, id, &report(CameraLink::Up, None), clock.now()).await.unwrap();
    let mine = alerts(ward.clone()).await;
    assert_eq!(mine.len(), 1);
    assert!(mine[0]["cleared_at"].is_string(), "{mine:?}");
    assert_eq!(mine[0]["status"], "open");
    let shown = demo.get_json(&format!("/api/v1/cameras/{id}"), &ward).await;
    assert!(shown["health"]["fault"].is_null(), "{shown}");

    // Switched off, a camera shows no health.
    let res = patch(&demo, &operator, id, json!({ "enabled": false })).await;
    assert!(res.json::<Value>().await.unwrap()["health"].is_null());
}

/// The dashboard's traffic: what the unit's cameras counted, by hour and kind; a ward sees its own.
async fn counts_reach_the_dashboard_hour_by_hour(engine: Engine) {
    let Some(db) = TestDb::new(engine).await else { return };
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let demo = demo_with(db.store().await, Some(clock.clone()), Outbound::default()).await;
    let operator = demo.token(Role::Operator).await;
    let (status, c) = register(&demo, &operator, &camera("p1-traffic", "27211")).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let id = c["id"].as_i64().unwrap();
    let state = &demo.server.state;
    let now = clock.now();
    let hour_ago = now - Duration::minutes(61);
    // [frames, in view, peak, appeared]
    let mut feed = state.feed.subscribe();
    q10_core::camera::record_counts(state, id, hour_ago, &[("person", [30, 60, 3, 4]), ("car", [30, 30, 1, 2])])
        .await
        .unwrap();
    let live = feed.try_recv().expect("the live feed hears of the counts");
    assert_eq!((live.kind, live.id, live.ward.as_deref()), ("camera.counts", id, Some("27211")));
    q10_core::camera::record_counts(state, id, now, &[("person", [30, 30, 2, 5])]).await.unwrap();
    q10_core::camera::record_counts(state, id, now - Duration::days(2), &[("person", [1, 1, 1, 9])]).await.unwrap();
    // The list carries what counting sees now, for the map's badge: this minute's, not the hour-old.
    let listed = demo.get_json("/api/v1/cameras", &operator).await;
    let mine = listed.as_array().unwrap().iter().find(|x| x["id"] == id).unwrap();
    assert_eq!((mine["now"]["people"].as_f64(), mine["now"]["vehicles"].as_f64()), (Some(1.0), Some(0.0)), "{mine}");

    let district = demo.token(Role::DistrictOfficial).await;
    let t = demo.get_json("/api/v1/dashboard/traffic", &district).await;
    let hours = t["hours"].as_array().unwrap();
    let seen: Vec<(&str, i64, i64)> = hours
        .iter()
        .map(|h| (h["kind"].as_str().unwrap(), h["counted"].as_i64().unwrap(), h["peak"].as_i64().unwrap()))
        .collect();
    assert_eq!(seen, [("car", 2, 1), ("person", 4, 3), ("person", 5, 2)], "the last 24 hours: {t}");
    assert!(hours[0]["hour"].as_str().unwrap().ends_with(":00:00Z"), "{t}");
    assert_ne!(hours[0]["hour"], hours[2]["hour"]);
    let week = demo.get_json("/api/v1/dashboard/traffic?hours=168", &district).await;
    assert_eq!(week["hours"].as_array().unwrap().len(), 4, "{week}");
    let ward = demo.token(Role::WardOfficial).await;
    let own = demo.get_json("/api/v1/dashboard/traffic", &ward).await;
    assert_eq!((own["unit"].as_str(), own["hours"].as_array().unwrap().len()), (Some("27211"), 3), "{own}");
    let other = demo.get_json("/api/v1/dashboard/traffic?unit=27214", &district).await;
    assert_eq!(other["hours"], json!([]), "another ward's cameras counted nothing: {other}");
    let res = demo.get("/api/v1/dashboard/traffic?hours=0", &district).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

/// Counting areas: given at registration, replaced whole by a change, refused when malformed
/// (changing nothing), and what was counted in each read back minute by minute.
async fn zones_and_lines_are_kept_checked_and_counted(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else { return };
    let operator = demo.token(Role::Operator).await;
    let zone = json!({ "name": "Vỉa hè", "shape": "zone", "points": [[0.0, 0.6], [0.4, 0.6], [0.4, 1.0], [0.0, 1.0]],
        "crowd_people": 20 });
    let line =
        json!({ "name": "Vạch dừng", "shape": "line", "points": [[0.1, 0.7], [0.9, 0.7]], "crowd_people": null });
    let mut body = camera("p1-areas", "27211");
    body["areas"] = json!([zone]);
    let (status, c) = register(&demo, &operator, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    assert_eq!(c["areas"], json!([zone]));
    let id = c["id"].as_i64().unwrap();
    let res = patch(&demo, &operator, id, json!({ "areas": [zone, line] })).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["areas"], json!([zone, line]));

    let bad = [
        (json!([{ "name": "a", "shape": "line", "points": [[0.1, 0.1]] }]), "two points"),
        (json!([{ "name": "a", "shape": "zone", "points": [[0.1, 0.1], [0.2, 0.2], [1.4, 0.3]] }]), "fractions"),
        (json!([zone, zone]), "two areas"),
        (json!([{ "name": "a", "shape": "circle", "points": [] }]), "shape"),
    ];
    for (areas, why) in bad {
        let res = patch(&demo, &operator, id, json!({ "areas": areas })).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{areas}");
        let (_, p) = problem(res).await;
        assert!(format!("{p:?}").contains(why), "{why}: {p:?}");
    }
    let ward = demo.token(Role::WardOfficial).await;
    let res = patch(&demo, &ward, id, json!({ "areas": [] })).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "ward officials draw no areas");
    let kept = demo.get_json(&format!("/api/v1/cameras/{id}"), &operator).await;
    assert_eq!(kept["areas"], json!([zone, line]), "refused changes changed nothing");

    // [frames, in the zone summed, most at once, crossed forward, back]
    let state = &demo.server.state;
    let now = state.now();
    let minute = |area, kind, counts| q10_core::camera::areas::AreaMinute { area, kind, counts };
    let rows = [minute("Vỉa hè", "person", [30, 45, 3, 0, 0]), minute("Vạch dừng", "motorcycle", [30, 0, 0, 12, 4])];
    q10_core::camera::areas::record(state, id, now, &rows).await.unwrap();
    // Written again later in the same minute: replaced, not added.
    let rows = [minute("Vỉa hè", "person", [40, 60, 3, 0, 0]), minute("Vạch dừng", "motorcycle", [40, 0, 0, 15, 5])];
    q10_core::camera::areas::record(state, id, now, &rows).await.unwrap();
    q10_core::camera::areas::record(state, id, now - Duration::hours(3), &rows).await.unwrap();
    let bad = [minute("Vỉa hè", "horse", [1, 1, 1, 0, 0])];
    assert!(q10_core::camera::areas::record(state, id, now, &bad).await.is_err());

    let counts = demo.get_json(&format!("/api/v1/cameras/{id}/counts/areas"), &ward).await;
    let seen: Vec<(&str, &str, f64, i64, i64, i64)> = counts
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_i64().unwrap();
            (
                r["area"].as_str().unwrap(),
                r["kind"].as_str().unwrap(),
                r["mean"].as_f64().unwrap(),
                n("peak"),
                n("forward"),
                n("back"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("Vạch dừng", "motorcycle", 0.0, 0, 15, 5), ("Vỉa hè", "person", 1.5, 3, 0, 0)],
        "the last hour, as last written: {counts}"
    );
    // As FIWARE: the zone's most people at once, the line's motorbikes each way.
    let fiware = demo.get_json(&format!("/api/v1/cameras/{id}/counts/areas?format=fiware"), &ward).await;
    let seen: Vec<(&str, &str, Option<i64>, Option<&str>)> = fiware
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let n = e["peopleCount"].as_i64().or(e["intensity"].as_i64());
            (e["type"].as_str().unwrap(), e["name"].as_str().unwrap(), n, e["laneDirection"].as_str())
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("TrafficFlowObserved", "Ngã tư 3/2 – Lý Thường Kiệt — Vạch dừng", Some(15), Some("forward")),
            ("TrafficFlowObserved", "Ngã tư 3/2 – Lý Thường Kiệt — Vạch dừng", Some(5), Some("backward")),
            ("CrowdFlowObserved", "Ngã tư 3/2 – Lý Thường Kiệt — Vỉa hè", Some(3), None),
        ],
        "{fiware}"
    );
    let crowd = &fiware[2];
    assert_eq!(crowd["congested"], Value::Null, "3 people is no crowd for a zone of 20: {crowd}");
    assert!(crowd["id"].as_str().unwrap().starts_with("urn:ngsi-ld:CrowdFlowObserved:q10-p1-areas-a0-"), "{crowd}");
    assert_eq!(fiware[0]["vehicleType"], "motorcycle");
    let (from, to) = (crowd["dateObservedFrom"].as_str().unwrap(), crowd["dateObservedTo"].as_str().unwrap());
    assert_eq!(crowd["dateObserved"], format!("{from}/{to}"));
    let res = demo.get(&format!("/api/v1/cameras/{id}/counts/areas?format=ngsi"), &ward).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let day = demo.get_json(&format!("/api/v1/cameras/{id}/counts/areas?minutes=1440"), &ward).await;
    assert_eq!(day.as_array().unwrap().len(), 4, "{day}");
    let res = demo.get(&format!("/api/v1/cameras/{id}/counts/areas?minutes=0"), &ward).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let url = demo.server.url(&format!("/api/v1/cameras/{id}/counts/areas"));
    let anonymous = demo.http.get(url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
