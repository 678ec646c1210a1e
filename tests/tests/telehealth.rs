//! Telehealth end to end over a real loopback socket, on SQLite and on PostgreSQL: a doctor
//! publishes slots, a ward clinic books one, consents, waits and is admitted, the doctor writes
//! the visit note; rescheduling, cancelling and blocking free and take the right slots; other
//! wards see nothing; reminders go out a day ahead through the notifier; the FHIR façade books,
//! reads and updates with versions.

use std::sync::{Arc, Mutex};

use q10_core::clock::{Clock, ManualClock};
use q10_core::outbox::{Notifier, Outbound, Worker};
use q10_core_api::{ComplaintContact, NotifyChannel, Role};
use q10_tests::{Demo, Engine, TestDb, demo_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

q10_tests::on_both_engines!(
    a_clinic_books_waits_and_is_admitted_and_the_doctor_writes_the_note,
    rescheduling_cancelling_and_blocking_move_the_slots,
    reminders_go_out_a_day_ahead_without_the_number_in_the_outbox,
    the_fhir_facade_books_reads_and_updates_with_versions,
);

/// The reminders the notifier was asked to send: (appointment, phone).
#[derive(Default)]
struct Reminders(Mutex<Vec<(i64, String)>>);

#[async_trait::async_trait]
impl Notifier for Reminders {
    async fn send(&self, _: NotifyChannel, _: &ComplaintContact, _: &q10_core::outbox::Notice) -> Result<(), String> {
        Ok(())
    }

    async fn remind(&self, phone: &str, r: &q10_core::telehealth::Reminder) -> Result<(), String> {
        self.0.lock().unwrap().push((r.appointment_id, phone.to_string()));
        Ok(())
    }
}

/// A demo served with a clock the test moves, starting now.
async fn setup(engine: Engine, notifier: Option<Arc<Reminders>>) -> Option<(TestDb, Demo, Arc<ManualClock>)> {
    let db = TestDb::new(engine).await?;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let mut outbound = Outbound::default();
    if let Some(n) = notifier {
        outbound.notifier = n;
    }
    let demo = demo_with(db.store().await, Some(clock.clone()), outbound).await;
    Some((db, demo, clock))
}

fn at(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// The first 19:00 in Vietnam at least `ahead` of `now`: outside the demo doctor's office hours,
/// so the slots a test publishes never meet the demo schedule, whatever the time of day.
fn evening(now: OffsetDateTime, ahead: Duration) -> OffsetDateTime {
    let vn = UtcOffset::from_hms(7, 0, 0).unwrap();
    let earliest = (now + ahead).to_offset(vn);
    let seven = earliest.date().with_hms(19, 0, 0).unwrap().assume_offset(vn);
    if seven >= earliest { seven } else { seven + Duration::days(1) }
}

/// Publishes an hour of 15-minute slots starting `from`; their ids.
async fn publish(demo: &Demo, doctor: &str, from: OffsetDateTime) -> Vec<i64> {
    let res = demo
        .post("/api/v1/telehealth/slots", doctor)
        .json(&json!({ "start": at(from), "end": at(from + Duration::hours(1)), "minutes": 15 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    body["created"].as_array().unwrap().iter().map(|s| s["id"].as_i64().unwrap()).collect()
}

fn patient() -> Value {
    json!({ "name": "Trần Thị Bình", "birth_year": 1958, "phone": "+84 901 234 567" })
}

async fn book(demo: &Demo, clinic: &str, slot: i64) -> (StatusCode, Value) {
    let res = demo
        .post("/api/v1/telehealth/appointments", clinic)
        .json(&json!({ "slot_id": slot, "patient": patient(), "reason": "ho kéo dài, khó thở về đêm" }))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn act(demo: &Demo, token: &str, id: i64, action: &str, body: Value) -> (StatusCode, Value) {
    let res =
        demo.post(&format!("/api/v1/telehealth/appointments/{id}/{action}"), token).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn slot_status(demo: &Demo, token: &str, doctor_id: i64, slot: i64) -> String {
    let slots = demo.get_json(&format!("/api/v1/telehealth/slots?doctor={doctor_id}"), token).await;
    let s = slots.as_array().unwrap().iter().find(|s| s["id"] == slot).expect("the slot is listed");
    s["status"].as_str().unwrap().to_string()
}

async fn a_clinic_books_waits_and_is_admitted_and_the_doctor_writes_the_note(engine: Engine) {
    let Some((_db, demo, clock)) = setup(engine, None).await else { return };
    let doctor = demo.token(Role::Doctor).await;
    let clinic = demo.token(Role::ClinicStaff).await;
    let start = evening(clock.now(), Duration::days(2));
    let slots = publish(&demo, &doctor, start).await;
    assert_eq!(slots.len(), 4, "an hour of 15-minute slots");
    let again: Value = demo
        .post("/api/v1/telehealth/slots", &doctor)
        .json(&json!({ "start": at(start), "end": at(start + Duration::hours(1)), "minutes": 15 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((again["created"].as_array().unwrap().len(), again["skipped"].as_i64()), (0, Some(4)), "no overlaps");

    let doctors = demo.get_json("/api/v1/telehealth/doctors", &clinic).await;
    let me = &doctors.as_array().unwrap()[0];
    assert!(me["free_slots"].as_i64().unwrap() >= 4, "{doctors}");
    let doctor_id = me["id"].as_i64().unwrap();

    // Bad input loses nothing and says what is wrong.
    let bad = demo
        .post("/api/v1/telehealth/appointments", &clinic)
        .json(&json!({ "slot_id": slots[0], "patient": { "name": "Bình", "birth_year": 1958, "phone": "12345" }, "reason": "ho" }))
        .send()
        .await
        .unwrap();
    let (status, p) = q10_tests::problem(bad).await;
    assert_eq!((status, p.field.as_deref()), (StatusCode::BAD_REQUEST, Some("patient.phone")));
    assert!(!p.detail.unwrap_or_default().contains("12345"), "the input is not echoed");
    assert_eq!(slot_status(&demo, &clinic, doctor_id, slots[0]).await, "free");

    let (status, a) = book(&demo, &clinic, slots[0]).await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let id = a["id"].as_i64().unwrap();
    assert_eq!((a["status"].as_str(), a["patient"]["phone"].as_str()), (Some("booked"), Some("0901234567")));
    assert_eq!(book(&demo, &clinic, slots[0]).await.0, StatusCode::CONFLICT, "a slot holds one appointment");
    assert_eq!(slot_status(&demo, &clinic, doctor_id, slots[0]).await, "busy");
    let mine = demo.get_json("/api/v1/telehealth/appointments", &doctor).await;
    let listed = mine.as_array().unwrap().iter().find(|x| x["id"] == id).expect("the doctor sees it");
    assert_eq!(listed["patient_name"], "Trần Thị Bình");
    assert!(listed.get("patient").is_none() && !listed.to_string().contains("0901234567"), "lists hold no phone");

    // The clinic waits in the waiting room only with consent, and only near the time.
    assert_eq!(act(&demo, &clinic, id, "join", json!({})).await.0, StatusCode::CONFLICT, "not in the waiting room");
    let (status, p) = act(&demo, &clinic, id, "arrive", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(p["detail"].as_str().unwrap().contains("consent"), "{p}");
    let (status, _) = act(&demo, &clinic, id, "consent", json!({ "call": false, "recording": false })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no call without consent");
    let (status, a) = act(&demo, &clinic, id, "consent", json!({ "call": true, "recording": false })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(a["consent"]["recording"], false);
    assert_eq!(act(&demo, &clinic, id, "arrive", json!({})).await.0, StatusCode::CONFLICT, "two days early");
    clock.advance(start - Duration::minutes(10) - clock.now());
    let (status, a) = act(&demo, &clinic, id, "arrive", json!({})).await;
    assert_eq!((status, a["status"].as_str()), (StatusCode::OK, Some("arrived")));

    let (_, wait) = act(&demo, &clinic, id, "join", json!({})).await;
    assert_eq!((wait["admitted"].as_bool(), wait["token"].as_str()), (Some(false), None), "waiting: no token");
    let (status, host) = act(&demo, &doctor, id, "join", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let room = a_room(&host);
    assert_eq!(host["token"].as_str().unwrap(), format!("{room}|user-{doctor_id}|host|-|no-record"));
    let mine = demo.get_json("/api/v1/telehealth/appointments", &doctor).await;
    assert_eq!(mine.as_array().unwrap().iter().find(|x| x["id"] == id).unwrap()["waiting"], true);
    assert_eq!(act(&demo, &clinic, id, "admit", json!({})).await.0, StatusCode::FORBIDDEN, "only the doctor admits");
    let (status, a) = act(&demo, &doctor, id, "admit", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(a["admitted_at"].is_string());
    let (_, joined) = act(&demo, &clinic, id, "join", json!({})).await;
    assert_eq!((joined["admitted"].as_bool(), joined["role"].as_str()), (Some(true), Some("speaker")));
    assert!(joined["token"].as_str().unwrap().starts_with(&format!("{room}|")), "the same room");
    assert!(joined["token"].as_str().unwrap().ends_with("|no-record"), "no consent to recording");

    let (status, a) =
        act(&demo, &doctor, id, "note", json!({ "note": "Viêm phế quản cấp. Kháng sinh 5 ngày, tái khám nếu sốt." }))
            .await;
    assert_eq!((status, a["status"].as_str()), (StatusCode::OK, Some("fulfilled")));
    assert_eq!(act(&demo, &doctor, id, "note", json!({ "note": "again" })).await.0, StatusCode::CONFLICT);
    let seen_by_clinic = demo.get_json(&format!("/api/v1/telehealth/appointments/{id}"), &clinic).await;
    assert_eq!((seen_by_clinic["status"].as_str(), &seen_by_clinic["note"]), (Some("fulfilled"), &Value::Null));
    let seen_by_doctor = demo.get_json(&format!("/api/v1/telehealth/appointments/{id}"), &doctor).await;
    assert!(seen_by_doctor["note"].as_str().unwrap().starts_with("Viêm phế quản"));
    assert_eq!(act(&demo, &doctor, id, "join", json!({})).await.0, StatusCode::CONFLICT, "the call is over");

    // Each read is audited, and the audit log holds no patient's details.
    let admin = demo.token(Role::Admin).await;
    let log: Vec<Value> = demo.get("/api/v1/audit?limit=500", &admin).send().await.unwrap().json().await.unwrap();
    let views = log.iter().filter(|e| e["action"] == "telehealth.appointment.view").count();
    assert!(views >= 2, "the reads are audited");
    let text = serde_json::to_string(&log).unwrap();
    for secret in ["0901234567", "Trần Thị Bình", "ho kéo dài", "Viêm phế quản"] {
        assert!(!text.contains(secret), "the audit log names {secret}");
    }
}

fn a_room(join: &Value) -> String {
    let room = join["room"].as_str().unwrap().to_string();
    assert!(room.starts_with("th-") && room.len() > 20, "{room}");
    room
}

async fn rescheduling_cancelling_and_blocking_move_the_slots(engine: Engine) {
    let Some((_db, demo, clock)) = setup(engine, None).await else { return };
    let doctor = demo.token(Role::Doctor).await;
    let clinic = demo.token(Role::ClinicStaff).await;
    let doctor_id = demo.get_json("/api/v1/me", &doctor).await["id"].as_i64().unwrap();
    let slots = publish(&demo, &doctor, evening(clock.now(), Duration::days(3))).await;
    let (_, a) = book(&demo, &clinic, slots[0]).await;
    let id = a["id"].as_i64().unwrap();

    let (status, a) = act(&demo, &clinic, id, "reschedule", json!({ "slot_id": slots[1] })).await;
    assert_eq!((status, a["slot_id"].as_i64()), (StatusCode::OK, Some(slots[1])));
    assert_eq!(slot_status(&demo, &doctor, doctor_id, slots[0]).await, "free", "the old slot is freed");
    assert_eq!(slot_status(&demo, &doctor, doctor_id, slots[1]).await, "busy");

    let blocked = demo.post(&format!("/api/v1/telehealth/slots/{}/block", slots[2]), &doctor).send().await.unwrap();
    assert_eq!(blocked.status(), StatusCode::OK);
    assert_eq!(book(&demo, &clinic, slots[2]).await.0, StatusCode::CONFLICT, "a blocked slot is not free");
    let (status, _) = act(&demo, &clinic, id, "reschedule", json!({ "slot_id": slots[2] })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(slot_status(&demo, &doctor, doctor_id, slots[1]).await, "busy", "a refused move keeps the slot");
    let busy = demo.post(&format!("/api/v1/telehealth/slots/{}/block", slots[1]), &doctor).send().await.unwrap();
    assert_eq!(busy.status(), StatusCode::CONFLICT, "a booked slot is not blocked");

    // Another ward's clinic sees nothing of it; a second doctor asked in does.
    let admin = demo.token(Role::Admin).await;
    for (username, role, unit) in [("ward2.clinic", "clinic_staff", "27217"), ("doctor2", "doctor", "79")] {
        let new = json!({ "username": username, "display_name": username, "kind": "person",
            "password": "a long enough password", "grants": [{ "role": role, "jurisdiction": unit }] });
        assert_eq!(demo.post("/api/v1/users", &admin).json(&new).send().await.unwrap().status(), StatusCode::CREATED);
    }
    let login = |u: &'static str| {
        let http = demo.http.clone();
        let url = demo.server.url("/api/v1/auth/token");
        async move {
            let res = http.post(url).json(&json!({ "username": u, "password": "a long enough password" })).send().await;
            res.unwrap().json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
        }
    };
    let other = login("ward2.clinic").await;
    let res = demo.get(&format!("/api/v1/telehealth/appointments/{id}"), &other).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(demo.get_json("/api/v1/telehealth/appointments", &other).await.as_array().unwrap().is_empty());
    assert_eq!(act(&demo, &other, id, "cancel", json!({ "reason": "x" })).await.0, StatusCode::NOT_FOUND);
    let second = login("doctor2").await;
    assert_eq!(
        demo.get(&format!("/api/v1/telehealth/appointments/{id}"), &second).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let (status, a) = act(&demo, &doctor, id, "participants", json!({ "username": "doctor2" })).await;
    assert_eq!((status, a["participants"][0]["name"].as_str()), (StatusCode::OK, Some("doctor2")));
    let (status, _) = act(&demo, &doctor, id, "participants", json!({ "username": "ward1.official" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "only doctors and clinic staff");
    assert_eq!(demo.get_json("/api/v1/telehealth/appointments", &second).await.as_array().unwrap().len(), 1);

    let (status, a) = act(&demo, &clinic, id, "cancel", json!({ "reason": "bệnh nhân đã khỏi" })).await;
    assert_eq!((status, a["status"].as_str()), (StatusCode::OK, Some("cancelled")));
    assert_eq!(slot_status(&demo, &doctor, doctor_id, slots[1]).await, "free", "cancelling frees the slot");
    assert_eq!(act(&demo, &clinic, id, "cancel", json!({ "reason": "x" })).await.0, StatusCode::CONFLICT);
    let (status, rebooked) = book(&demo, &clinic, slots[1]).await;
    assert_eq!(status, StatusCode::CREATED, "the slot can be booked again: {rebooked}");
}

async fn reminders_go_out_a_day_ahead_without_the_number_in_the_outbox(engine: Engine) {
    let notifier = Arc::new(Reminders::default());
    let Some((_db, demo, clock)) = setup(engine, Some(notifier.clone())).await else { return };
    let doctor = demo.token(Role::Doctor).await;
    let clinic = demo.token(Role::ClinicStaff).await;
    let start = evening(clock.now(), Duration::hours(30));
    let slots = publish(&demo, &doctor, start).await;
    let (_, a) = book(&demo, &clinic, slots[0]).await;
    let id = a["id"].as_i64().unwrap();
    let state = &demo.server.state;
    assert_eq!(q10_core::telehealth::queue_reminders(state, clock.now()).await.unwrap(), 0, "more than a day ahead");
    clock.advance(start - Duration::hours(23) - clock.now());
    assert_eq!(q10_core::telehealth::queue_reminders(state, clock.now()).await.unwrap(), 1);
    assert_eq!(q10_core::telehealth::queue_reminders(state, clock.now()).await.unwrap(), 0, "one reminder each");
    let queued = state.store.outbox_due(clock.now(), 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert!(!queued[0].payload.contains("0901234567"), "the outbox holds no phone number");
    let worker =
        Worker::new(state.store.clone(), state.outbound.clone(), state.secrets.data_encryption.clone(), clock.clone());
    assert_eq!(worker.run_once(clock.now()).await.unwrap(), 1);
    assert_eq!(notifier.0.lock().unwrap().clone(), vec![(id, "0901234567".to_string())]);
    let a = demo.get_json(&format!("/api/v1/telehealth/appointments/{id}"), &clinic).await;
    assert!(a["reminded_at"].is_string());
    // Moved to another slot, it is reminded again before that one.
    let (status, _) = act(&demo, &clinic, id, "reschedule", json!({ "slot_id": slots[1] })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(q10_core::telehealth::queue_reminders(state, clock.now()).await.unwrap(), 1);
}

async fn the_fhir_facade_books_reads_and_updates_with_versions(engine: Engine) {
    let Some((_db, demo, clock)) = setup(engine, None).await else { return };
    let doctor = demo.token(Role::Doctor).await;
    let clinic = demo.token(Role::ClinicStaff).await;
    let meta = demo.http.get(demo.server.url("/fhir/metadata")).send().await.unwrap();
    assert_eq!(meta.headers()["content-type"], "application/fhir+json");
    let meta: Value = meta.json().await.unwrap();
    assert_eq!(
        (meta["resourceType"].as_str(), meta["fhirVersion"].as_str()),
        (Some("CapabilityStatement"), Some("4.0.1"))
    );
    assert_eq!(
        demo.http.get(demo.server.url("/fhir/Schedule")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    let start = evening(clock.now(), Duration::days(5));
    let slots = publish(&demo, &doctor, start).await;
    let schedules = demo.get_json("/fhir/Schedule", &clinic).await;
    assert_eq!(schedules["type"], "searchset");
    let schedule = schedules["entry"][0]["resource"]["id"].as_str().unwrap().to_string();
    let q = format!(
        "/fhir/Slot?schedule=Schedule/{schedule}&status=free&start=ge{}&start=lt{}",
        at(start).replace('+', "%2B"),
        at(start + Duration::hours(1)).replace('+', "%2B")
    );
    let found = demo.get_json(&q, &clinic).await;
    assert_eq!(found["total"], 4, "{found}");
    assert!(found["entry"].as_array().unwrap().iter().all(|e| e["resource"]["status"] == "free"));

    let appointment = json!({
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{ "reference": format!("Slot/{}", slots[0]) }],
        "reasonCode": [{ "text": "đau ngực" }],
        "contained": [{ "resourceType": "Patient", "id": "p", "name": [{ "family": "Lê", "given": ["Văn", "Tám"] }],
            "birthDate": "1949", "telecom": [{ "system": "phone", "value": "0912345678" }] }],
        "participant": [{ "actor": { "reference": "#p" }, "status": "accepted" }]
    });
    let res = demo.post("/fhir/Appointment", &clinic).json(&appointment).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    assert!(res.headers()["location"].to_str().unwrap().contains("/fhir/Appointment/"));
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["contained"][0]["name"][0]["text"], "Lê Văn Tám");
    assert_eq!(demo.get_json(&format!("/fhir/Slot/{}", slots[0]), &clinic).await["status"], "busy");

    let mut moved = created.clone();
    moved["slot"] = json!([{ "reference": format!("Slot/{}", slots[1]) }]);
    let put = |body: Value, if_match: String| {
        demo.http
            .put(demo.server.url(&format!("/fhir/Appointment/{id}")))
            .bearer_auth(&clinic)
            .header("if-match", if_match)
            .json(&body)
            .send()
    };
    let res = put(moved.clone(), etag.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let new_etag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(new_etag, etag);
    let stale = put(moved.clone(), etag).await.unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.json::<Value>().await.unwrap()["resourceType"], "OperationOutcome");
    let mut cancelled = moved;
    cancelled["status"] = json!("cancelled");
    cancelled["cancelationReason"] = json!({ "text": "chuyển viện" });
    let res: Value = put(cancelled, new_etag).await.unwrap().json().await.unwrap();
    assert_eq!(
        (res["status"].as_str(), res["cancelationReason"]["text"].as_str()),
        (Some("cancelled"), Some("chuyển viện"))
    );
    assert_eq!(demo.get_json(&format!("/fhir/Slot/{}", slots[1]), &clinic).await["status"], "free");

    let missing = demo.get("/fhir/Appointment/999999", &clinic).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.json::<Value>().await.unwrap()["issue"][0]["code"], "not-found");
    let mut no_slot = appointment.clone();
    no_slot["slot"] = json!([]);
    let bad = demo.post("/fhir/Appointment", &clinic).json(&no_slot).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.json::<Value>().await.unwrap()["resourceType"], "OperationOutcome");
    let as_doctor = demo.post("/fhir/Appointment", &doctor).json(&appointment).send().await.unwrap();
    assert_eq!(as_doctor.status(), StatusCode::FORBIDDEN, "clinics book");
}
