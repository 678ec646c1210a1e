//! Monitoring end to end over a real loopback socket, on SQLite and on PostgreSQL: an operator
//! registers a sensor with thresholds; a gateway with an API key sends readings (all or none,
//! again without effect); a reading past a threshold raises one alert, pushed on the live feed;
//! the alert notes when the condition ends and is acknowledged, assigned and resolved within
//! the right jurisdictions. A complaint past its SLA raises one alert, cleared once it is fixed.
//! Readings published to a real MQTT broker (Mosquitto; `TEST_MQTT_ADDR`, set by tests/run) are
//! taken like the gateway's.

use std::sync::Arc;

use q10_core::audit::Actor;
use q10_core::clock::{Clock, ManualClock};
use q10_core::outbox::Outbound;
use q10_core_api::Role;
use q10_tests::{Demo, Engine, TestDb, demo_for, demo_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

q10_tests::on_both_engines!(
    readings_past_a_threshold_raise_one_alert_that_operators_resolve,
    bad_readings_are_refused_whole_and_keys_are_checked,
    a_complaint_past_its_sla_raises_one_alert,
    readings_over_mqtt_raise_and_clear_alerts,
);

async fn sensor(demo: &Demo, token: &str, code: &str, unit: &str) -> (StatusCode, Value) {
    let res = demo
        .post("/api/v1/sensors", token)
        .json(&json!({ "code": code, "name": "Phòng máy chủ UBND Phường 1", "kind": "temperature", "unit": "°C",
            "unit_code": unit, "lon": 106.667, "lat": 10.768, "low": 15.0, "high": 30.0, "severity": "critical" }))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn gateway_key(demo: &Demo) -> String {
    let state = &demo.server.state;
    let (_, secret) =
        q10_core::apikey::create(&state.store, &state.secrets.audit, Actor::system(), "sensor-gateway", state.now())
            .await
            .unwrap();
    secret
}

async fn send(demo: &Demo, key: Option<&str>, readings: Value) -> (StatusCode, Value) {
    let mut req = demo.http.post(demo.server.url("/api/v1/sensors/readings")).json(&json!({ "readings": readings }));
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

fn at(minutes_ago: i64) -> String {
    (OffsetDateTime::now_utc() - Duration::minutes(minutes_ago))
        .replace_nanosecond(0)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}

async fn alerts(demo: &Demo, token: &str) -> Vec<Value> {
    demo.get_json("/api/v1/alerts", token).await.as_array().unwrap().clone()
}

async fn act(demo: &Demo, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
    let res = demo.post(&format!("/api/v1/alerts/{id}/actions"), token).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn readings_past_a_threshold_raise_one_alert_that_operators_resolve(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else { return };
    let operator = demo.token(Role::Operator).await;
    let ward = demo.token(Role::WardOfficial).await;
    let (status, s) = sensor(&demo, &operator, "p1-server-temp", "27211").await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    assert_eq!(sensor(&demo, &operator, "p1-server-temp", "27211").await.0, StatusCode::CONFLICT);
    let (status, _) = sensor(&demo, &ward, "p1-other", "27211").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "ward officials watch, operators register");
    let (_, far) = sensor(&demo, &operator, "p15-flood", "27190").await;
    let key = gateway_key(&demo).await;

    // The live feed of a ward 1 official.
    let mut feed = demo.get("/api/v1/events", &ward).send().await.unwrap();
    let (status, report) = send(
        &demo,
        Some(&key),
        json!([
            { "sensor": "p1-server-temp", "at": at(3), "value": 24.5 },
            { "sensor": "p1-server-temp", "at": at(2), "value": 31.0 },
            { "sensor": "p1-server-temp", "at": at(1), "value": 33.5 },
            { "sensor": "p15-flood", "at": at(1), "value": 40.0 },
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["stored"].as_i64(), report["duplicates"].as_i64()), (Some(4), Some(0)));
    assert_eq!(report["alerts_raised"].as_array().unwrap().len(), 2, "one for the server room, one for the flood");
    let again = send(&demo, Some(&key), json!([{ "sensor": "p1-server-temp", "at": at(1), "value": 33.5 }])).await.1;
    assert_eq!(
        (again["stored"].as_i64(), again["duplicates"].as_i64()),
        (Some(0), Some(1)),
        "sending twice adds nothing"
    );
    let still_hot =
        send(&demo, Some(&key), json!([{ "sensor": "p1-server-temp", "at": at(0), "value": 34.0 }])).await.1;
    assert!(still_hot["alerts_raised"].as_array().unwrap().is_empty(), "one alert while the condition lasts");

    let mine = alerts(&demo, &ward).await;
    assert_eq!(mine.len(), 1, "a ward official sees their ward's alerts only: {mine:?}");
    let alert = &mine[0];
    let id = alert["id"].as_i64().unwrap();
    assert_eq!((alert["severity"].as_str(), alert["condition"].as_str()), (Some("critical"), Some("high")));
    assert_eq!(alert["value"].as_f64(), Some(33.5));
    assert_eq!(alerts(&demo, &operator).await.len(), 2, "the district's operator sees both");
    // As FIWARE Alert entities, for a city platform.
    let fiware = demo.get_json("/api/v1/alerts?format=fiware", &ward).await;
    let e = &fiware[0];
    assert_eq!(fiware.as_array().unwrap().len(), 1, "{fiware}");
    assert_eq!(e["id"], format!("urn:ngsi-ld:Alert:q10-{id}"));
    let fields = ["type", "category", "subCategory", "severity", "alertSource"].map(|k| e[k].as_str().unwrap());
    assert_eq!(
        fields,
        ["Alert", "environment", "highTemperature", "critical", "urn:ngsi-ld:Device:q10-sensor-p1-server-temp"]
    );
    assert_eq!(e["location"]["coordinates"], json!([106.667, 10.768]));
    assert_eq!((e["dateIssued"].is_string(), e["validTo"].is_null()), (true, true), "still hot: {e}");
    let far_alert = alerts(&demo, &operator).await.into_iter().find(|a| a["source_id"] == far["id"]).unwrap();
    let (status, _) = act(&demo, &ward, far_alert["id"].as_i64().unwrap(), json!({ "action": "acknowledge" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another ward's alert");

    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !text.contains("alert.raised") {
        let chunk =
            tokio::time::timeout_at(deadline, feed.chunk()).await.expect("the alert is pushed").unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(text.contains(&format!("\"id\":{id}")), "{text}");

    // The readings are kept for charts.
    let points = demo.get_json(&format!("/api/v1/sensors/{}/readings", s["id"]), &ward).await;
    assert_eq!(points.as_array().unwrap().len(), 4);
    let listed = demo.get_json("/api/v1/sensors", &ward).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["last_value"].as_f64(), Some(34.0));

    // Back to normal: the alert notes it, and stays until resolved.
    send(&demo, Some(&key), json!([{ "sensor": "p1-server-temp", "at": at(0).replace('Z', ".5Z"), "value": 26.0 }]))
        .await;
    let a = alerts(&demo, &ward).await.remove(0);
    assert!(a["cleared_at"].is_string() && a["status"] == "open", "{a}");

    let (status, a) = act(&demo, &ward, id, json!({ "action": "acknowledge" })).await;
    assert_eq!((status, a["status"].as_str()), (StatusCode::OK, Some("acknowledged")));
    assert_eq!(act(&demo, &ward, id, json!({ "action": "acknowledge" })).await.0, StatusCode::CONFLICT);
    let (status, _) = act(&demo, &ward, id, json!({ "action": "assign", "username": "cashier" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "only those who watch the ward");
    let (status, a) = act(&demo, &ward, id, json!({ "action": "assign", "username": "operator" })).await;
    assert_eq!((status, a["assignee"].as_str()), (StatusCode::OK, Some("Trực trung tâm điều hành")));
    let (status, a) = act(&demo, &operator, id, json!({ "action": "resolve", "note": "Điều hoà đã sửa" })).await;
    assert_eq!((status, a["status"].as_str()), (StatusCode::OK, Some("resolved")));
    assert_eq!(act(&demo, &operator, id, json!({ "action": "resolve", "note": "x" })).await.0, StatusCode::CONFLICT);

    // Hot again after it was resolved: a new alert.
    let hot = send(
        &demo,
        Some(&key),
        json!([{ "sensor": "p1-server-temp", "at": at(0).replace('Z', ".9Z"), "value": 35.0 }]),
    )
    .await
    .1;
    assert_eq!(hot["alerts_raised"].as_array().unwrap().len(), 1);
}

async fn bad_readings_are_refused_whole_and_keys_are_checked(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else { return };
    let operator = demo.token(Role::Operator).await;
    let (_, s) = sensor(&demo, &operator, "p1-door", "27211").await;
    let key = gateway_key(&demo).await;
    let good = json!({ "sensor": "p1-door", "at": at(1), "value": 1.0 });
    assert_eq!(send(&demo, None, json!([good])).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&demo, Some("q10k_not-a-key"), json!([good])).await.0, StatusCode::UNAUTHORIZED);
    for (bad, says) in [
        (json!({ "sensor": "nobody", "at": at(1), "value": 1.0 }), "reading 1: no sensor"),
        (json!({ "sensor": "p1-door", "at": at(-60), "value": 1.0 }), "reading 1: the time"),
        (json!({ "sensor": "p1-door", "at": at(60 * 24 * 40), "value": 1.0 }), "reading 1: the time"),
    ] {
        let (status, p) = send(&demo, Some(&key), json!([good, bad])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(p["detail"].as_str().unwrap().contains(says), "{p}");
    }
    let points = demo.get_json(&format!("/api/v1/sensors/{}/readings", s["id"]), &operator).await;
    assert!(points.as_array().unwrap().is_empty(), "nothing of a refused batch is stored");
    let too_many: Vec<Value> = (0..1001).map(|_| good.clone()).collect();
    assert_eq!(send(&demo, Some(&key), Value::Array(too_many)).await.0, StatusCode::BAD_REQUEST);
    let bad_sensor = demo
        .post("/api/v1/sensors", &operator)
        .json(&json!({ "code": "x y", "name": "n", "kind": "temperature", "unit": "°C", "unit_code": "27211" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_sensor.status(), StatusCode::BAD_REQUEST);
    let inverted = demo
        .post("/api/v1/sensors", &operator)
        .json(&json!({ "code": "xy", "name": "n", "kind": "temperature", "unit": "°C", "unit_code": "27211", "low": 5.0, "high": 1.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(inverted.status(), StatusCode::BAD_REQUEST);
}

async fn a_complaint_past_its_sla_raises_one_alert(engine: Engine) {
    let Some(db) = TestDb::new(engine).await else { return };
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()));
    let demo = demo_with(db.store().await, Some(clock.clone()), Outbound::default()).await;
    let state = &demo.server.state;
    let operator = demo.token(Role::Operator).await;
    let handler = demo.token(Role::ComplaintHandler).await;
    // Flooding in Phường 1: twelve hours to fix it.
    let res = demo
        .http
        .post(demo.server.url("/api/v1/complaints"))
        .json(&json!({ "category": "flooding", "description": "Nước ngập sâu trước trường học", "lat": 10.7725, "lon": 106.66725 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let complaint = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    clock.advance(Duration::hours(11));
    assert!(q10_core::monitor::watch_overdue(state, clock.now()).await.unwrap().is_empty(), "still within its SLA");

    let mut feed = demo.get("/api/v1/events", &operator).send().await.unwrap();
    clock.advance(Duration::hours(2));
    let raised = q10_core::monitor::watch_overdue(state, clock.now()).await.unwrap();
    assert_eq!(raised.len(), 1, "one alert for the overdue complaint");
    assert!(q10_core::monitor::watch_overdue(state, clock.now()).await.unwrap().is_empty(), "raised once");
    let id = raised[0];
    let alert = alerts(&demo, &operator).await.into_iter().find(|a| a["id"] == id).expect("the operator sees it");
    assert_eq!((alert["kind"].as_str(), alert["unit_code"].as_str()), (Some("complaint_overdue"), Some("27211")));
    assert_eq!((alert["source_type"].as_str(), alert["source_id"].as_i64()), (Some("complaint"), Some(complaint)));
    assert!(alert["title"].as_str().unwrap().contains(&format!("#{complaint}")), "{alert}");
    assert!(!alert["title"].as_str().unwrap().contains("Nước ngập"), "the citizen's words stay out of the title");
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !text.contains("alert.raised") {
        let chunk = tokio::time::timeout_at(deadline, feed.chunk()).await.expect("the feed pushes the alert").unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk.expect("the feed stays open")));
    }
    // The ward's official sees it too.
    let official = demo.token(Role::WardOfficial).await;
    assert!(alerts(&demo, &official).await.iter().any(|a| a["id"] == id));

    // Fixed: the alert notes that its condition ended and waits to be resolved.
    for action in ["assign", "fix"] {
        let res = demo
            .post(&format!("/api/v1/complaints/{complaint}/actions"), &handler)
            .json(&json!({ "action": action }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{action}");
    }
    q10_core::monitor::watch_overdue(state, clock.now()).await.unwrap();
    let alert = alerts(&demo, &operator).await.into_iter().find(|a| a["id"] == id).unwrap();
    assert!(alert["cleared_at"].is_string(), "{alert}");
    assert_eq!(alert["status"], "open");
    let (status, _) = act(&demo, &operator, id, json!({ "action": "resolve", "note": "đã xử lý" })).await;
    assert_eq!(status, StatusCode::OK);
    assert!(q10_core::monitor::watch_overdue(state, clock.now()).await.unwrap().is_empty(), "never raised again");
}

/// The broker the MQTT test publishes through: `TEST_MQTT_ADDR` (host:port), which CI must set.
fn mqtt_broker() -> Option<(String, u16)> {
    let Ok(addr) = std::env::var("TEST_MQTT_ADDR") else {
        assert!(std::env::var_os("CI").is_none(), "TEST_MQTT_ADDR must name an MQTT broker in CI (tests/run sets it)");
        eprintln!("skipped: set TEST_MQTT_ADDR to an MQTT broker (host:port)");
        return None;
    };
    let (host, port) = addr.rsplit_once(':').expect("TEST_MQTT_ADDR is host:port");
    Some((host.to_string(), port.parse().expect("TEST_MQTT_ADDR's port is a number")))
}

async fn readings_over_mqtt_raise_and_clear_alerts(engine: Engine) {
    let Some((host, port)) = mqtt_broker() else { return };
    let Some((_db, demo)) = demo_for(engine).await else { return };
    let operator = demo.token(Role::Operator).await;
    let (status, s) = sensor(&demo, &operator, "p1-mqtt-temp", "27211").await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    // Topics of this run alone: tests on both engines share the broker.
    let run: u64 = rand::random();
    let prefix = format!("q10test/{run:x}/sensors");
    let settings = q10_core::mqtt::MqttSettings {
        host: host.clone(),
        port,
        client_id: format!("q10-test-{run:x}"),
        topic_prefix: prefix.clone(),
        credentials: None,
    };
    let subscriber = tokio::spawn(q10_core::mqtt::run(demo.server.state.clone(), settings));

    let (publisher, mut events) =
        rumqttc::AsyncClient::new(rumqttc::MqttOptions::new(format!("q10-test-pub-{run:x}"), host, port), 16);
    let pump = tokio::spawn(async move { while events.poll().await.is_ok() {} });
    let publish = |topic: String, payload: String| {
        let publisher = publisher.clone();
        async move { publisher.publish(topic, rumqttc::QoS::AtLeastOnce, false, payload).await.unwrap() }
    };
    // Malformed messages and other topics are refused without harm.
    publish(format!("{prefix}/p1-mqtt-temp"), "warm".into()).await;
    publish(format!("{prefix}/p1-mqtt-temp/extra"), "99".into()).await;
    publish(format!("{prefix}/no-such-sensor"), "99".into()).await;
    // Readings past the threshold until the subscriber, connecting meanwhile, has taken one.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let alert = loop {
        let at = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap().format(&Rfc3339).unwrap();
        publish(format!("{prefix}/p1-mqtt-temp"), format!(r#"{{"value": 34.5, "at": "{at}"}}"#)).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let mine: Vec<Value> =
            alerts(&demo, &operator).await.into_iter().filter(|a| a["source_id"] == s["id"]).collect();
        if let Some(a) = mine.first() {
            assert_eq!(mine.len(), 1, "one alert while the condition lasts");
            break a.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no alert from readings published over MQTT");
    };
    assert_eq!((alert["kind"].as_str(), alert["value"].as_f64()), (Some("sensor_threshold"), Some(34.5)));
    // A bare number is a reading taken now: back within the threshold, the alert notes it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    publish(format!("{prefix}/p1-mqtt-temp"), "24".into()).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let a = alerts(&demo, &operator).await.into_iter().find(|a| a["id"] == alert["id"]).unwrap();
        if a["cleared_at"].is_string() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the alert was not cleared by the reading over MQTT: {a}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let sensors = demo.get_json("/api/v1/sensors", &operator).await;
    let mine = sensors.as_array().unwrap().iter().find(|x| x["code"] == "p1-mqtt-temp").unwrap().clone();
    assert_eq!(mine["last_value"], 24.0, "{mine}");
    subscriber.abort();
    pump.abort();
}
