//! Queue tickets over a real loopback socket, on SQLite and on PostgreSQL: numbered from 1 each
//! day per ward office, for the office named or the ward a kiosk stands in; many taken at once
//! never share a number; bad requests are refused whole; the office's staff call people to their
//! desks, and the wait told follows the pace they call at.

use std::sync::Arc;

use q10_core::clock::ManualClock;
use q10_core::outbox::Outbound;
use q10_core_api::Role;
use q10_tests::{Demo, Engine, TestDb, demo_with, problem};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

q10_tests::on_both_engines!(tickets_are_numbered_per_office_and_day, staff_call_people_to_their_desks);

/// Phường 1's office and a point inside Phường 14 (where the demo's kiosk stands).
const WARD1: &str = "27211";
const KIOSK_AT: [f64; 2] = [106.6652, 10.7648];

async fn demo(db: &TestDb) -> (Demo, Arc<ManualClock>) {
    // Nine in the morning in Vietnam.
    let morning = OffsetDateTime::now_utc().replace_time(time::macros::time!(02:00)).replace_nanosecond(0).unwrap();
    let clock = Arc::new(ManualClock::new(morning));
    (demo_with(db.store().await, Some(clock.clone()), Outbound::default()).await, clock)
}

async fn take(demo: &Demo, body: Value) -> (StatusCode, Value) {
    let res = demo.http.post(demo.server.url("/api/v1/queue/tickets")).json(&body).send().await.unwrap();
    (res.status(), res.json().await.unwrap())
}

async fn tickets_are_numbered_per_office_and_day(engine: Engine) {
    let Some(db) = TestDb::new(engine).await else { return };
    let (demo, clock) = demo(&db).await;
    for n in 1..=3 {
        let (status, t) = take(&demo, json!({ "service": "civil_status", "unit_code": WARD1 })).await;
        assert_eq!(status, StatusCode::CREATED, "{t}");
        assert_eq!((t["number"].as_i64(), t["ahead"].as_i64()), (Some(n), Some(n - 1)), "{t}");
        assert_eq!(t["wait_minutes"], (n - 1) * 5, "five minutes a person until the office calls some");
        assert_eq!(t["unit_name"], "Phường 1");
    }
    // At a kiosk's place: the office of the ward it stands in, numbered on its own.
    let (status, t) = take(&demo, json!({ "service": "dossier", "at": KIOSK_AT })).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!((t["number"].as_i64(), t["unit_code"].as_str()), (Some(1), Some("27226")), "{t}");

    // Refused whole: nothing numbered for them.
    for bad in [
        json!({ "service": "dossier" }),
        json!({ "service": "dossier", "unit_code": WARD1, "at": KIOSK_AT }),
        json!({ "service": "dossier", "unit_code": "771" }),
        json!({ "service": "dossier", "unit_code": "99999" }),
        json!({ "service": "dossier", "at": [105.0, 21.0] }),
        json!({ "service": "dossier", "at": [1000.0, 10.0] }),
        json!({ "service": "haircut", "unit_code": WARD1 }),
        json!({ "service": "dossier", "unit_code": WARD1, "name": "An" }),
    ] {
        let res = demo.http.post(demo.server.url("/api/v1/queue/tickets")).json(&bad).send().await.unwrap();
        let (status, p) = problem(res).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{bad} → {status} {p:?}"
        );
    }

    // Twenty at once: twenty numbers, none shared.
    let all = futures_util::future::join_all(
        (0..20).map(|_| take(&demo, json!({ "service": "payment", "unit_code": WARD1 }))),
    )
    .await;
    let mut numbers: Vec<i64> = all
        .iter()
        .map(|(status, t)| {
            assert_eq!(*status, StatusCode::CREATED, "{t}");
            t["number"].as_i64().unwrap()
        })
        .collect();
    numbers.sort();
    assert_eq!(numbers, (4..24).collect::<Vec<_>>());

    // The next day starts again from 1.
    clock.advance(Duration::days(1));
    let (_, t) = take(&demo, json!({ "service": "other", "unit_code": WARD1 })).await;
    assert_eq!((t["number"].as_i64(), t["ahead"].as_i64()), (Some(1), Some(0)), "{t}");
}

async fn staff_call_people_to_their_desks(engine: Engine) {
    let Some(db) = TestDb::new(engine).await else { return };
    let (demo, clock) = demo(&db).await;
    let clerk = demo.token(Role::WardOfficial).await;
    let operator = demo.token(Role::Operator).await;
    let next = |desk: &str, token: &str| {
        demo.http
            .post(demo.server.url(&format!("/api/v1/queue/{WARD1}/next")))
            .bearer_auth(token)
            .json(&json!({ "desk": desk }))
            .send()
    };
    let (status, p) = problem(next("Quầy 1", &clerk).await.unwrap()).await;
    assert_eq!(status, StatusCode::CONFLICT, "nobody waits yet: {p:?}");
    for _ in 0..6 {
        take(&demo, json!({ "service": "civil_status", "unit_code": WARD1 })).await;
    }
    // Desk 1 calls 1, then 2 (1 is served); desk 2 calls 3; four minutes apart.
    let called: Value = next("Quầy 1", &clerk).await.unwrap().json().await.unwrap();
    assert_eq!((called["number"].as_i64(), called["desk"].as_str()), (Some(1), Some("Quầy 1")));
    clock.advance(Duration::minutes(4));
    assert_eq!(next("Quầy 1", &clerk).await.unwrap().json::<Value>().await.unwrap()["number"], 2);
    clock.advance(Duration::minutes(4));
    assert_eq!(next("Quầy 2", &clerk).await.unwrap().json::<Value>().await.unwrap()["number"], 3);
    let state = demo.get_json(&format!("/api/v1/queue/{WARD1}"), &clerk).await;
    assert_eq!((state["waiting"].as_i64(), state["taken"].as_i64()), (Some(3), Some(6)), "{state}");
    assert_eq!(state["minutes_per_person"], 4.0);
    let serving: Vec<(String, i64)> = state["serving"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["desk"].as_str().unwrap().to_string(), s["number"].as_i64().unwrap()))
        .collect();
    assert_eq!(serving, [("Quầy 1".to_string(), 2), ("Quầy 2".to_string(), 3)]);
    // A ticket taken now waits behind three, at the office's pace.
    let (_, t) = take(&demo, json!({ "service": "dossier", "unit_code": WARD1 })).await;
    assert_eq!((t["ahead"].as_i64(), t["wait_minutes"].as_i64()), (Some(3), Some(12)), "{t}");

    // Only the office's staff call; a desk has a name.
    assert_eq!(next("Quầy 1", &operator).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        demo.get(&format!("/api/v1/queue/{WARD1}"), &operator).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        demo.get("/api/v1/queue/27226", &clerk).send().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "another ward's office"
    );
    assert_eq!(next("", &clerk).await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(next("Quầy rất rất rất rất rất dài", &clerk).await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        demo.get_json(&format!("/api/v1/queue/{WARD1}"), &clerk).await["waiting"],
        4,
        "nothing called by refusals"
    );
}
