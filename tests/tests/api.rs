//! The core's HTTP API over a real loopback socket, on SQLite and on PostgreSQL: the schema,
//! access control for every role and endpoint, sessions and CSRF, lock-out, jurisdiction scope,
//! the audit chain, reference-data reforms, and bad input.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::http::Method;
use q10_core::audit::Actor;
use q10_core::clock::ManualClock;
use q10_core::store::EXPECTED_COLUMNS;
use q10_core_api::{AuditVerification, LoginResponse, Role};
use q10_tests::{Demo, Engine, TestDb, demo_for, demo_with, problem};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

q10_tests::on_both_engines!(
    migrated_schema_is_what_the_code_expects,
    every_role_against_every_endpoint,
    cookie_sessions_need_the_csrf_token_and_end_at_logout,
    repeated_failed_logins_lock_the_account_for_a_while,
    officials_see_staff_only_within_their_jurisdiction,
    audit_chain_holds_and_catches_a_row_edited_by_hand,
    a_reform_of_wards_is_a_data_change,
    bad_input_gets_a_clear_problem_and_changes_nothing,
    disabling_an_account_ends_its_sessions,
    concurrent_logins_keep_the_audit_chain_whole,
    meetings_invite_wards_hold_documents_and_keep_attendance,
);

async fn migrated_schema_is_what_the_code_expects(engine: Engine) {
    let Some(db) = TestDb::new(engine).await else {
        return;
    };
    let store = db.store().await;
    let mut expected: Vec<(String, String)> = EXPECTED_COLUMNS
        .iter()
        .flat_map(|(t, cols)| cols.iter().map(move |c| (t.to_string(), c.to_string())))
        .collect();
    expected.sort();
    assert_eq!(store.columns().await.unwrap(), expected);
    assert!(store.pending_migrations().await.unwrap().is_empty());
    // Migrating again is a no-op.
    store.migrate().await.unwrap();
}

/// Who may call what, written out independently of the route table. `None` = anyone;
/// `Some(&[])` = any logged-in account.
fn expected_access() -> BTreeMap<(Method, &'static str), Option<&'static [Role]>> {
    use Role::*;
    const STAFF: &[Role] = &[
        Admin,
        DistrictOfficial,
        WardOfficial,
        RegistryClerk,
        ComplaintHandler,
        Operator,
        Doctor,
        ClinicStaff,
        Cashier,
    ];
    const COMPLAINT_STAFF: &[Role] = &[DistrictOfficial, WardOfficial, ComplaintHandler, Operator];
    const DOSSIER_STAFF: &[Role] = &[DistrictOfficial, WardOfficial, RegistryClerk];
    const CASHIERS: &[Role] = &[Cashier, DistrictOfficial, WardOfficial];
    const PAYMENT_MANAGERS: &[Role] = &[Cashier, DistrictOfficial];
    const REGISTRY_READERS: &[Role] = &[RegistryClerk, DistrictOfficial, WardOfficial];
    let any: Option<&'static [Role]> = Some(&[]);
    BTreeMap::from([
        ((Method::GET, "/healthz"), None),
        ((Method::GET, "/readyz"), None),
        ((Method::GET, "/metrics"), None),
        ((Method::GET, "/openapi.json"), None),
        ((Method::GET, "/api/docs"), None),
        ((Method::POST, "/api/v1/auth/login"), None),
        ((Method::POST, "/api/v1/auth/token"), None),
        ((Method::POST, "/api/v1/auth/logout"), any),
        ((Method::GET, "/api/v1/me"), any),
        ((Method::GET, "/api/v1/auth/csrf"), any),
        ((Method::GET, "/api/v1/jurisdictions"), None),
        ((Method::GET, "/api/v1/jurisdictions/boundaries"), None),
        ((Method::GET, "/api/v1/jurisdictions/{code}"), None),
        ((Method::POST, "/api/v1/jurisdictions/import"), Some(&[Admin])),
        ((Method::GET, "/api/v1/jurisdictions/{code}/staff"), Some(&[Admin, DistrictOfficial, WardOfficial])),
        ((Method::GET, "/api/v1/users"), Some(&[Admin])),
        ((Method::POST, "/api/v1/users"), Some(&[Admin])),
        ((Method::POST, "/api/v1/users/{id}/disable"), Some(&[Admin])),
        ((Method::GET, "/api/v1/audit"), Some(&[Admin])),
        ((Method::GET, "/api/v1/audit/verify"), Some(&[Admin])),
        ((Method::GET, "/api/v1/meetings"), Some(STAFF)),
        ((Method::POST, "/api/v1/meetings"), Some(&[Admin, DistrictOfficial, WardOfficial, Operator])),
        ((Method::GET, "/api/v1/meetings/{id}"), Some(STAFF)),
        ((Method::POST, "/api/v1/meetings/{id}/join"), Some(STAFF)),
        ((Method::GET, "/api/v1/meetings/{id}/documents"), Some(STAFF)),
        ((Method::POST, "/api/v1/meetings/{id}/documents"), Some(&[Admin, DistrictOfficial, WardOfficial, Operator])),
        ((Method::GET, "/api/v1/meetings/{id}/documents/{doc}"), Some(STAFF)),
        ((Method::GET, "/api/v1/meetings/{id}/attendance"), Some(STAFF)),
        ((Method::GET, "/api/v1/meetings/{id}/attendance.csv"), Some(STAFF)),
        ((Method::GET, "/api/v1/complaint-categories"), None),
        ((Method::POST, "/api/v1/complaints"), None),
        ((Method::GET, "/api/v1/complaints/nearby"), None),
        ((Method::POST, "/api/v1/complaints/track"), None),
        ((Method::POST, "/api/v1/complaints/reopen"), None),
        ((Method::POST, "/api/v1/complaints/rate"), None),
        ((Method::GET, "/api/v1/complaint-photos/{photo}"), None),
        ((Method::GET, "/api/v1/complaints"), Some(COMPLAINT_STAFF)),
        ((Method::GET, "/api/v1/complaints/{id}"), Some(COMPLAINT_STAFF)),
        ((Method::POST, "/api/v1/complaints/{id}/actions"), Some(COMPLAINT_STAFF)),
        ((Method::GET, "/api/v1/complaints/{id}/contact"), Some(&[DistrictOfficial, WardOfficial, ComplaintHandler])),
        ((Method::GET, "/api/v1/dashboard/kpis"), Some(&[DistrictOfficial, WardOfficial, Operator])),
        ((Method::GET, "/api/v1/dashboard/scorecards"), Some(&[DistrictOfficial, WardOfficial, Operator])),
        ((Method::GET, "/api/v1/dashboard/scorecards.csv"), Some(&[DistrictOfficial, WardOfficial, Operator])),
        ((Method::GET, "/api/v1/dashboard/trend"), Some(&[DistrictOfficial, WardOfficial, Operator])),
        ((Method::GET, "/api/v1/dashboard/traffic"), Some(&[DistrictOfficial, WardOfficial, Operator])),
        ((Method::GET, "/api/v1/dashboard/complaints.geojson"), Some(COMPLAINT_STAFF)),
        ((Method::GET, "/api/v1/events"), Some(&[Admin, DistrictOfficial, WardOfficial, Operator, ComplaintHandler])),
        ((Method::GET, "/api/v1/procedures"), None),
        ((Method::GET, "/api/v1/holidays"), None),
        ((Method::PUT, "/api/v1/holidays/{date}"), Some(&[Admin])),
        ((Method::DELETE, "/api/v1/holidays/{date}"), Some(&[Admin])),
        ((Method::POST, "/api/v1/dossiers"), None),
        ((Method::POST, "/api/v1/dossiers/track"), None),
        ((Method::POST, "/api/v1/dossiers/supplement"), None),
        ((Method::POST, "/api/v1/dossiers/rate"), None),
        ((Method::GET, "/api/v1/dossiers"), Some(DOSSIER_STAFF)),
        ((Method::GET, "/api/v1/dossiers/{id}"), Some(DOSSIER_STAFF)),
        ((Method::POST, "/api/v1/dossiers/{id}/actions"), Some(DOSSIER_STAFF)),
        ((Method::GET, "/api/v1/dossiers/{id}/documents/{doc}"), Some(DOSSIER_STAFF)),
        ((Method::POST, "/api/v1/payments"), None),
        ((Method::GET, "/api/v1/payments"), Some(PAYMENT_MANAGERS)),
        ((Method::GET, "/api/v1/payments/vnpay/ipn"), None),
        ((Method::POST, "/api/v1/payments/bank-notify"), None),
        ((Method::GET, "/api/v1/payments/{reference}"), None),
        ((Method::POST, "/api/v1/payments/{reference}/vnpay"), None),
        ((Method::POST, "/api/v1/payments/{reference}/vietqr"), None),
        ((Method::POST, "/api/v1/payments/{reference}/cancel"), None),
        ((Method::POST, "/api/v1/payments/{reference}/cash"), Some(CASHIERS)),
        ((Method::POST, "/api/v1/payments/{reference}/refund"), Some(PAYMENT_MANAGERS)),
        ((Method::GET, "/api/v1/payments/{reference}/receipt"), None),
        ((Method::GET, "/pay/vnpay/return"), None),
        ((Method::GET, "/sim/vnpay/pay"), None),
        ((Method::POST, "/sim/vnpay/pay"), None),
        ((Method::POST, "/sim/vnpay/api"), None),
        ((Method::GET, "/sim/bank"), None),
        ((Method::POST, "/sim/bank/transfer"), None),
        ((Method::GET, "/api/v1/registry/books"), Some(REGISTRY_READERS)),
        ((Method::POST, "/api/v1/registry/books"), Some(&[RegistryClerk])),
        ((Method::POST, "/api/v1/registry/books/{id}/import"), Some(&[RegistryClerk])),
        ((Method::POST, "/api/v1/registry/search"), Some(REGISTRY_READERS)),
        ((Method::POST, "/api/v1/registry/records"), Some(&[RegistryClerk])),
        ((Method::GET, "/api/v1/registry/records/{id}"), Some(REGISTRY_READERS)),
        ((Method::POST, "/api/v1/registry/records/{id}/actions"), Some(&[RegistryClerk])),
        ((Method::POST, "/api/v1/registry/records/{id}/extracts"), Some(&[RegistryClerk])),
        ((Method::GET, "/api/v1/registry/extracts/{id}"), Some(REGISTRY_READERS)),
        ((Method::GET, "/verify/{token}"), None),
        ((Method::GET, "/api/v1/telehealth/doctors"), Some(&[Doctor, ClinicStaff])),
        ((Method::GET, "/api/v1/telehealth/slots"), Some(&[Doctor, ClinicStaff])),
        ((Method::POST, "/api/v1/telehealth/slots"), Some(&[Doctor])),
        ((Method::POST, "/api/v1/telehealth/slots/{id}/block"), Some(&[Doctor])),
        ((Method::POST, "/api/v1/telehealth/slots/{id}/unblock"), Some(&[Doctor])),
        ((Method::GET, "/api/v1/telehealth/appointments"), Some(&[Doctor, ClinicStaff])),
        ((Method::POST, "/api/v1/telehealth/appointments"), Some(&[ClinicStaff])),
        ((Method::GET, "/api/v1/telehealth/appointments/{id}"), Some(&[Doctor, ClinicStaff])),
        ((Method::POST, "/api/v1/telehealth/appointments/{id}/reschedule"), Some(&[Doctor, ClinicStaff])),
        ((Method::POST, "/api/v1/telehealth/appointments/{id}/cancel"), Some(&[Doctor, ClinicStaff])),
        ((Method::POST, "/api/v1/telehealth/appointments/{id}/consent"), Some(&[ClinicStaff])),
        ((Method::POST, "/api/v1/telehealth/appointments/{id}/arrive"), Some(&[ClinicStaff])),
        ((Method::POST, "/api/v1/telehealth/appointments/{id}/admit"), Some(&[Doctor])),
        ((Method::POST, "/api/v1/telehealth/appointments/{id}/participants"), Some(&[Doctor])),
        ((Method::POST, "/api/v1/telehealth/appointments/{id}/note"), Some(&[Doctor])),
        ((Method::POST, "/api/v1/telehealth/appointments/{id}/noshow"), Some(&[Doctor])),
        ((Method::POST, "/api/v1/telehealth/appointments/{id}/join"), Some(&[Doctor, ClinicStaff])),
        ((Method::GET, "/api/v1/sensors"), Some(&[Admin, Operator, DistrictOfficial, WardOfficial])),
        ((Method::POST, "/api/v1/sensors"), Some(&[Admin, Operator])),
        ((Method::POST, "/api/v1/sensors/readings"), None),
        ((Method::GET, "/api/v1/sensors/{id}/readings"), Some(&[Admin, Operator, DistrictOfficial, WardOfficial])),
        ((Method::GET, "/api/v1/alerts"), Some(&[Admin, Operator, DistrictOfficial, WardOfficial])),
        ((Method::POST, "/api/v1/alerts/{id}/actions"), Some(&[Admin, Operator, DistrictOfficial, WardOfficial])),
        ((Method::GET, "/api/v1/cameras"), Some(&[Admin, Operator, DistrictOfficial, WardOfficial])),
        ((Method::POST, "/api/v1/cameras"), Some(&[Admin, Operator])),
        ((Method::GET, "/api/v1/cameras/{id}"), Some(&[Admin, Operator, DistrictOfficial, WardOfficial])),
        ((Method::PATCH, "/api/v1/cameras/{id}"), Some(&[Admin, Operator])),
        ((Method::POST, "/api/v1/cameras/{id}/watch"), Some(&[Admin, Operator, DistrictOfficial, WardOfficial])),
        ((Method::GET, "/api/v1/cameras/{id}/counts"), Some(&[Admin, Operator, DistrictOfficial, WardOfficial])),
        ((Method::GET, "/api/v1/cameras/{id}/counts/areas"), Some(&[Admin, Operator, DistrictOfficial, WardOfficial])),
        ((Method::GET, "/api/v1/cameras/{id}/footage"), Some(&[Admin, Operator, DistrictOfficial])),
        ((Method::GET, "/api/v1/cameras/{id}/footage/segments"), Some(&[Admin, Operator, DistrictOfficial])),
        ((Method::POST, "/api/v1/queue/tickets"), None),
        (
            (Method::GET, "/api/v1/queue/{unit}"),
            Some(&[Admin, DistrictOfficial, WardOfficial, RegistryClerk, Cashier, ComplaintHandler]),
        ),
        (
            (Method::POST, "/api/v1/queue/{unit}/next"),
            Some(&[Admin, DistrictOfficial, WardOfficial, RegistryClerk, Cashier, ComplaintHandler]),
        ),
        ((Method::POST, "/api/v1/kiosk/heartbeat"), Some(&[KioskDevice])),
        ((Method::PUT, "/api/v1/kiosk/screenshot"), Some(&[KioskDevice])),
        ((Method::POST, "/api/v1/kiosk/calls"), Some(&[KioskDevice])),
        ((Method::GET, "/api/v1/kiosks"), Some(&[Admin, Operator, DistrictOfficial, WardOfficial])),
        ((Method::PATCH, "/api/v1/kiosks/{id}"), Some(&[Admin, Operator])),
        ((Method::POST, "/api/v1/kiosks/{id}/screenshot"), Some(&[Admin, Operator])),
        ((Method::GET, "/api/v1/kiosks/{id}/screenshot"), Some(&[Admin, Operator, DistrictOfficial, WardOfficial])),
        ((Method::GET, "/api/v1/kiosk-calls"), Some(&[Admin, Operator, DistrictOfficial, WardOfficial])),
        (
            (Method::GET, "/api/v1/kiosk-calls/{id}"),
            Some(&[KioskDevice, Admin, Operator, DistrictOfficial, WardOfficial]),
        ),
        ((Method::POST, "/api/v1/kiosk-calls/{id}/answer"), Some(&[Admin, Operator, DistrictOfficial, WardOfficial])),
        (
            (Method::POST, "/api/v1/kiosk-calls/{id}/end"),
            Some(&[KioskDevice, Admin, Operator, DistrictOfficial, WardOfficial]),
        ),
        ((Method::GET, "/fhir/metadata"), None),
        ((Method::GET, "/fhir/Schedule"), Some(&[Doctor, ClinicStaff])),
        ((Method::GET, "/fhir/Schedule/{id}"), Some(&[Doctor, ClinicStaff])),
        ((Method::GET, "/fhir/Slot"), Some(&[Doctor, ClinicStaff])),
        ((Method::GET, "/fhir/Slot/{id}"), Some(&[Doctor, ClinicStaff])),
        ((Method::POST, "/fhir/Appointment"), Some(&[ClinicStaff])),
        ((Method::GET, "/fhir/Appointment/{id}"), Some(&[Doctor, ClinicStaff])),
        ((Method::PUT, "/fhir/Appointment/{id}"), Some(&[Doctor, ClinicStaff])),
        ((Method::GET, "/open311/v2/discovery.json"), None),
        ((Method::GET, "/open311/v2/discovery.xml"), None),
        ((Method::GET, "/open311/v2/services.json"), None),
        ((Method::GET, "/open311/v2/services.xml"), None),
        ((Method::GET, "/open311/v2/services/{file}"), None),
        ((Method::GET, "/open311/v2/requests.json"), None),
        ((Method::GET, "/open311/v2/requests.xml"), None),
        ((Method::POST, "/open311/v2/requests.json"), None),
        ((Method::POST, "/open311/v2/requests.xml"), None),
        ((Method::GET, "/open311/v2/requests/{file}"), None),
        ((Method::GET, "/open311/v2/tokens/{file}"), None),
        ((Method::GET, "/open311/v2/servicerequestupdates.json"), None),
        ((Method::GET, "/open311/v2/servicerequestupdates.xml"), None),
    ])
}

async fn every_role_against_every_endpoint(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else {
        return;
    };
    let expected = expected_access();

    // The table covers exactly the served endpoints, and the OpenAPI document describes them all.
    let served: BTreeSet<(Method, &str)> =
        q10_core::http::endpoints().iter().map(|e| (e.method.clone(), e.path)).collect();
    let listed: BTreeSet<(Method, &str)> = expected.keys().cloned().collect();
    assert_eq!(served, listed, "every endpoint needs a row in expected_access()");
    let doc: Value = demo.http.get(demo.server.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    for (method, path) in &served {
        let op = &doc["paths"][*path][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {path} is in /openapi.json");
        assert!(op["x-q10-access"].is_object(), "{method} {path} documents who may call it");
    }

    let mut callers: Vec<(Option<Role>, Option<String>)> = vec![(None, None)];
    for role in Role::ALL {
        callers.push((Some(role), Some(demo.token(role).await)));
    }
    for ((method, path), rule) in &expected {
        let concrete = path.replace("{code}", "27211").replace("{id}", "999999").replace("{doc}", "d1");
        for (role, token) in &callers {
            // Logging out ends the session used: give it one of its own.
            let token = match (path.ends_with("/logout"), role) {
                (true, Some(r)) => Some(demo.token(*r).await),
                _ => token.clone(),
            };
            let mut req = demo.http.request(method.clone(), demo.server.url(&concrete));
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            if *method == Method::POST {
                req = req.header("content-type", "application/json").body("{}");
            }
            let status = req.send().await.unwrap().status();
            let allowed = match (rule, role) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(roles), Some(r)) => roles.is_empty() || roles.contains(r),
            };
            let who = role.map(|r| r.as_str()).unwrap_or("anonymous");
            if allowed {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{who} may call {method} {path} but got {status}"
                );
            } else {
                let want = if role.is_none() { StatusCode::UNAUTHORIZED } else { StatusCode::FORBIDDEN };
                assert_eq!(status, want, "{who} must not call {method} {path}");
            }
        }
    }
}

async fn cookie_sessions_need_the_csrf_token_and_end_at_logout(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else {
        return;
    };
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let (user, password) = &demo.passwords[&Role::Operator];
    let res = http
        .post(demo.server.url("/api/v1/auth/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let login: LoginResponse = res.json().await.unwrap();
    assert_eq!(login.user.username, "operator");

    let me = http.get(demo.server.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // A page opened later (another tab) gets the session's CSRF token again; bearer tokens have none.
    let again: Value = http.get(demo.server.url("/api/v1/auth/csrf")).send().await.unwrap().json().await.unwrap();
    assert_eq!(again["csrf_token"], login.csrf_token.as_str());
    let bearer = demo.token(Role::Operator).await;
    let res = demo.get("/api/v1/auth/csrf", &bearer).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let other = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let second: LoginResponse = other
        .post(demo.server.url("/api/v1/auth/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(second.csrf_token, login.csrf_token, "each session has its own");
    let crossed = http
        .post(demo.server.url("/api/v1/auth/logout"))
        .header("x-csrf-token", &second.csrf_token)
        .send()
        .await
        .unwrap();
    assert_eq!(crossed.status(), StatusCode::FORBIDDEN, "another session's token does not pass");

    let no_csrf = http.post(demo.server.url("/api/v1/auth/logout")).send().await.unwrap();
    let (status, p) = problem(no_csrf).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(p.detail.unwrap().contains("CSRF"));
    let wrong = http.post(demo.server.url("/api/v1/auth/logout")).header("x-csrf-token", "nope").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);

    let out = http
        .post(demo.server.url("/api/v1/auth/logout"))
        .header("x-csrf-token", &login.csrf_token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = http.get(demo.server.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

async fn repeated_failed_logins_lock_the_account_for_a_while(engine: Engine) {
    let Some(db) = TestDb::new(engine).await else {
        return;
    };
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let demo = demo_with(db.store().await, Some(clock.clone()), Default::default()).await;
    let (user, password) = demo.passwords[&Role::Cashier].clone();
    let attempt = |pw: &str| {
        demo.http.post(demo.server.url("/api/v1/auth/token")).json(&json!({ "username": user, "password": pw })).send()
    };
    for i in 1..=5 {
        let (status, p) = problem(attempt("wrong password!!").await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let locked = p.detail.unwrap().contains("locked");
        assert_eq!(locked, i == 5, "attempt {i}");
    }
    // The right password does not open a locked account…
    let (status, p) = problem(attempt(&password).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(p.detail.unwrap().contains("locked"));
    // …until the lock-out has passed.
    clock.advance(time::Duration::minutes(16));
    assert_eq!(attempt(&password).await.unwrap().status(), StatusCode::OK);
    // Unknown accounts fail the same way as wrong passwords.
    let res = demo
        .http
        .post(demo.server.url("/api/v1/auth/token"))
        .json(&json!({ "username": "nobody", "password": "whatever-password" }))
        .send()
        .await
        .unwrap();
    let (_, p) = problem(res).await;
    assert_eq!(p.detail.as_deref(), Some("wrong username or password"));
}

async fn officials_see_staff_only_within_their_jurisdiction(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else {
        return;
    };
    let ward = demo.token(Role::WardOfficial).await;
    let district = demo.token(Role::DistrictOfficial).await;
    let own = demo.get("/api/v1/jurisdictions/27211/staff", &ward).send().await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let staff: Vec<Value> = own.json().await.unwrap();
    let names: BTreeSet<&str> = staff.iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert!(names.contains("ward1.official") && names.contains("kiosk.ward1"), "{names:?}");
    let other = demo.get("/api/v1/jurisdictions/27190/staff", &ward).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    for code in ["27211", "27190", "771"] {
        let res = demo.get(&format!("/api/v1/jurisdictions/{code}/staff"), &district).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "district official on {code}");
    }
    let city = demo.get("/api/v1/jurisdictions/79/staff", &district).send().await.unwrap();
    assert_eq!(city.status(), StatusCode::FORBIDDEN, "the city is above the district");
    let missing = demo.get("/api/v1/jurisdictions/00000/staff", &district).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

async fn audit_chain_holds_and_catches_a_row_edited_by_hand(engine: Engine) {
    let Some((db, demo)) = demo_for(engine).await else {
        return;
    };
    let admin = demo.token(Role::Admin).await;
    let new = json!({
        "username": "ward2.official", "display_name": "Cán bộ Phường 2", "kind": "person",
        "password": "a long enough password", "grants": [{ "role": "ward_official", "jurisdiction": "27217" }],
    });
    assert_eq!(demo.post("/api/v1/users", &admin).json(&new).send().await.unwrap().status(), StatusCode::CREATED);
    let users = demo.get("/api/v1/users", &admin).send().await.unwrap();
    assert_eq!(users.status(), StatusCode::OK);

    let log: Vec<Value> = demo.get("/api/v1/audit?limit=500", &admin).send().await.unwrap().json().await.unwrap();
    let actions: BTreeSet<&str> = log.iter().map(|r| r["action"].as_str().unwrap()).collect();
    for a in ["jurisdictions.import", "user.create", "session.create", "personal_data.read"] {
        assert!(actions.contains(a), "audit has {a}: {actions:?}");
    }
    let created =
        log.iter().find(|r| r["action"] == "user.create" && r["detail"]["username"] == "ward2.official").unwrap();
    assert_eq!(created["actor"], "admin");
    assert_ne!(created["source"], "");
    // No passwords in the log.
    assert!(!serde_json::to_string(&log).unwrap().contains("a long enough password"));

    let verify = |demo: &Demo, admin: &str| {
        let req = demo.get("/api/v1/audit/verify", admin);
        async move { req.send().await.unwrap().json::<AuditVerification>().await.unwrap() }
    };
    let v = verify(&demo, &admin).await;
    assert!(v.ok, "{v:?}");
    assert!(v.rows >= 13);

    // The database refuses edits; someone with the database's own powers can still force one…
    let store = &demo.server.state.store;
    let raw = Raw::open(&db).await;
    assert!(raw.exec("UPDATE audit_log SET actor = 'intruder' WHERE seq = 3").await.is_err(), "append-only");
    raw.drop_guards().await;
    raw.exec("UPDATE audit_log SET actor = 'intruder' WHERE seq = 3").await.unwrap();
    // …and the chain shows it.
    let v = verify(&demo, &admin).await;
    assert!(!v.ok);
    assert_eq!(v.first_bad_seq, Some(3));
    assert_eq!(q10_core::audit::verify(store, &demo.server.state.secrets.audit).await.unwrap().first_bad_seq, Some(3));
}

/// Direct SQL on the test database, as a person with database access would do it.
struct Raw {
    engine: Engine,
    url: String,
}

impl Raw {
    async fn open(db: &TestDb) -> Raw {
        Raw { engine: db.engine, url: db.url.clone() }
    }

    async fn exec(&self, sql: &'static str) -> Result<(), sqlx::Error> {
        use sqlx::Connection;
        match self.engine {
            Engine::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await?;
                sqlx::query(sql).execute(&mut c).await?;
            }
            Engine::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await?;
                sqlx::query(sql).execute(&mut c).await?;
            }
        }
        Ok(())
    }

    async fn drop_guards(&self) {
        match self.engine {
            Engine::Sqlite => {
                self.exec("DROP TRIGGER audit_log_no_update").await.unwrap();
                self.exec("DROP TRIGGER audit_log_no_delete").await.unwrap();
            }
            Engine::Postgres => self.exec("DROP TRIGGER audit_log_no_change ON audit_log").await.unwrap(),
        }
    }
}

async fn a_reform_of_wards_is_a_data_change(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else {
        return;
    };
    let admin = demo.token(Role::Admin).await;
    let reform = include_str!("../fixtures/reform-2025.geojson");
    let import = |body: &'static str| {
        demo.post("/api/v1/jurisdictions/import", &admin)
            .header("content-type", "application/geo+json")
            .body(body)
            .send()
    };
    let report: Value = import(reform).await.unwrap().json().await.unwrap();
    assert_eq!(report, json!({ "inserted": 3, "updated": 15, "unchanged": 0 }));
    let again: Value = import(reform).await.unwrap().json().await.unwrap();
    assert_eq!(again, json!({ "inserted": 0, "updated": 0, "unchanged": 18 }), "importing twice changes nothing");

    let wards_on = |day: &str| {
        let req = demo.http.get(demo.server.url(&format!("/api/v1/jurisdictions?kind=ward&at={day}")));
        async move { req.send().await.unwrap().json::<Vec<Value>>().await.unwrap() }
    };
    assert_eq!(wards_on("2025-06-30").await.len(), 15);
    let after = wards_on("2025-07-01").await;
    let names: BTreeSet<&str> = after.iter().map(|w| w["name_vi"].as_str().unwrap()).collect();
    assert_eq!(names, BTreeSet::from(["Phường Diên Hồng", "Phường Hòa Hưng", "Phường Vườn Lài"]));
    assert_eq!(after[0]["parent"], "771");
    let shapes: Value = demo
        .http
        .get(demo.server.url("/api/v1/jurisdictions/boundaries?kind=ward&at=2025-07-01"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shapes["features"].as_array().unwrap().len(), 3);
    assert_eq!(shapes["features"][0]["geometry"]["type"], "MultiPolygon");
    let old = demo.http.get(demo.server.url("/api/v1/jurisdictions/27211?at=2024-01-01")).send().await.unwrap();
    assert_eq!(old.status(), StatusCode::OK);
    let gone = demo.http.get(demo.server.url("/api/v1/jurisdictions/27211?at=2025-07-01")).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

async fn bad_input_gets_a_clear_problem_and_changes_nothing(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else {
        return;
    };
    let admin = demo.token(Role::Admin).await;
    let users_before = demo.server.state.store.count_users().await.unwrap();
    let units_before = demo.server.state.store.count_jurisdictions().await.unwrap();

    let syntax =
        demo.post("/api/v1/users", &admin).header("content-type", "application/json").body("{").send().await.unwrap();
    assert_eq!(problem(syntax).await.0, StatusCode::BAD_REQUEST);
    let untyped = demo.post("/api/v1/users", &admin).body("{}").send().await.unwrap();
    assert_eq!(problem(untyped).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = "x".repeat(200 * 1024);
    // On a connection of its own: the server answers before reading the whole body and closes the
    // connection, which a pooled connection's next request must not stumble on.
    let alone = reqwest::Client::new().post(demo.server.url("/api/v1/users")).bearer_auth(&admin);
    let big = alone.json(&json!({ "username": huge })).send().await.unwrap();
    assert_eq!(problem(big).await.0, StatusCode::PAYLOAD_TOO_LARGE);

    let base = json!({
        "username": "new.person", "display_name": "Người mới", "kind": "person",
        "password": "a long enough password", "grants": [{ "role": "operator", "jurisdiction": "771" }],
    });
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        body[field] = value;
        demo.post("/api/v1/users", &admin).json(&body).send()
    };
    let cases = [
        ("username", json!("x"), Some("username")),
        ("password", json!("short"), Some("password")),
        ("display_name", json!("   "), Some("display_name")),
        ("grants", json!([]), Some("grants")),
        ("grants", json!([{ "role": "mayor", "jurisdiction": "771" }]), None),
        ("grants", json!([{ "role": "operator", "jurisdiction": "99999" }]), Some("grants")),
        ("grants", json!([{ "role": "kiosk_device", "jurisdiction": "771" }]), Some("grants")),
        ("kind", json!("robot"), None),
    ];
    for (field, value, expect_field) in cases {
        let (status, p) = problem(with(field, value.clone()).await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field} = {value}");
        assert!(p.detail.as_deref().is_some_and(|d| !d.is_empty()), "{field} = {value} says why");
        if let Some(f) = expect_field {
            assert_eq!(p.field.as_deref(), Some(f), "{field} = {value}");
        }
    }
    // An import that fails half-way leaves nothing behind.
    let broken = r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","geometry":null,"properties":{"code":"N1","kind":"ward","parent":"771","name_vi":"a","name_en":"a","valid_from":"2030-01-01"}},
        {"type":"Feature","geometry":null,"properties":{"code":"N2","kind":"ward","parent":"NOPE","name_vi":"b","name_en":"b","valid_from":"2030-01-01"}}]}"#;
    let res = demo.post("/api/v1/jurisdictions/import", &admin).body(broken).send().await.unwrap();
    let (status, p) = problem(res).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(p.detail.unwrap().contains("N2"));

    let bad_id = demo.post("/api/v1/users/abc/disable", &admin).send().await.unwrap();
    assert_eq!(problem(bad_id).await.0, StatusCode::BAD_REQUEST);
    let bad_day = demo.http.get(demo.server.url("/api/v1/jurisdictions?at=yesterday")).send().await.unwrap();
    let (_, p) = problem(bad_day).await;
    assert_eq!(p.field.as_deref(), Some("at"));
    let dup = with("username", json!("admin")).await.unwrap();
    assert_eq!(problem(dup).await.0, StatusCode::CONFLICT);

    assert_eq!(demo.server.state.store.count_users().await.unwrap(), users_before);
    assert_eq!(demo.server.state.store.count_jurisdictions().await.unwrap(), units_before);
}

async fn disabling_an_account_ends_its_sessions(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else {
        return;
    };
    let admin = demo.token(Role::Admin).await;
    let doctor = demo.token(Role::Doctor).await;
    assert_eq!(demo.get("/api/v1/me", &doctor).send().await.unwrap().status(), StatusCode::OK);
    let me: Value = demo.get("/api/v1/me", &doctor).send().await.unwrap().json().await.unwrap();
    let id = me["id"].as_i64().unwrap();
    let res = demo.post(&format!("/api/v1/users/{id}/disable"), &admin).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(demo.get("/api/v1/me", &doctor).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let (user, password) = &demo.passwords[&Role::Doctor];
    let again = demo
        .http
        .post(demo.server.url("/api/v1/auth/token"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    let me_admin: Value = demo.get("/api/v1/me", &admin).send().await.unwrap().json().await.unwrap();
    let own = demo.post(&format!("/api/v1/users/{}/disable", me_admin["id"]), &admin).send().await.unwrap();
    assert_eq!(own.status(), StatusCode::CONFLICT);
}

async fn concurrent_logins_keep_the_audit_chain_whole(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else {
        return;
    };
    let demo = Arc::new(demo);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let demo = demo.clone();
        tasks.push(tokio::spawn(async move {
            let role = Role::ALL[i % Role::ALL.len()];
            demo.token(role).await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let state = &demo.server.state;
    let v = q10_core::audit::verify(&state.store, &state.secrets.audit).await.unwrap();
    assert!(v.ok, "{v:?}");
    // 1 import + 10 accounts + the demo doctor's slots + 24 logins.
    assert_eq!(v.rows, 36);
    // Appends from outside the server (the CLI, say) join the same chain.
    let mut tx = state.store.begin().await.unwrap();
    let event = q10_core::audit::Event::new(Actor::system(), "test.append", "test", 1);
    q10_core::audit::append(&mut tx, &state.secrets.audit, event, OffsetDateTime::now_utc()).await.unwrap();
    tx.commit().await.unwrap();
    assert!(q10_core::audit::verify(&state.store, &state.secrets.audit).await.unwrap().ok);
}

async fn meetings_invite_wards_hold_documents_and_keep_attendance(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else {
        return;
    };
    let district = demo.token(Role::DistrictOfficial).await;
    let ward = demo.token(Role::WardOfficial).await;
    let cashier = demo.token(Role::Cashier).await;
    let doctor = demo.token(Role::Doctor).await;
    let starts = (OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();

    // Bad input is refused with the field at fault, and nothing is created.
    for (body, field) in [
        (json!({ "title": " ", "starts_at": starts, "wards": ["27211"] }), Some("title")),
        (json!({ "title": "Giao ban", "starts_at": starts, "wards": [] }), Some("wards")),
        (json!({ "title": "Giao ban", "starts_at": starts, "wards": ["99999"] }), Some("wards")),
        (json!({ "title": "Giao ban", "starts_at": "tomorrow", "wards": ["27211"] }), None),
        (json!({ "title": "Giao ban", "starts_at": starts, "wards": ["27211"], "x": 1 }), None),
    ] {
        let (status, p) = problem(demo.post("/api/v1/meetings", &district).json(&body).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(p.field.as_deref(), field, "{body}");
    }
    // A ward official cannot invite a ward outside its own.
    let res = demo
        .post("/api/v1/meetings", &ward)
        .json(&json!({ "title": "Họp", "starts_at": starts, "wards": ["27190"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res).await.0, StatusCode::FORBIDDEN);
    let listed: Vec<Value> = demo.get("/api/v1/meetings", &district).send().await.unwrap().json().await.unwrap();
    assert!(listed.is_empty(), "nothing was created: {listed:?}");

    let res = demo
        .post("/api/v1/meetings", &district)
        .json(&json!({ "title": "Giao ban quận – phường", "starts_at": starts, "wards": ["27211", "27190"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let meeting: q10_core_api::Meeting = res.json().await.unwrap();
    assert!(meeting.host);
    let codes: Vec<&str> = meeting.wards.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["27190", "27211"]);
    let path = |rest: &str| format!("/api/v1/meetings/{}{rest}", meeting.id);

    // The invited ward's official sees it; staff of neither invited ward do not, not even by id.
    let seen: Vec<q10_core_api::Meeting> =
        demo.get("/api/v1/meetings", &ward).send().await.unwrap().json().await.unwrap();
    assert_eq!(seen.iter().map(|m| m.id).collect::<Vec<_>>(), [meeting.id]);
    assert!(!seen[0].host);
    for outsider in [&cashier, &doctor] {
        let seen: Vec<Value> = demo.get("/api/v1/meetings", outsider).send().await.unwrap().json().await.unwrap();
        assert!(seen.is_empty());
        assert_eq!(problem(demo.get(&path(""), outsider).send().await.unwrap()).await.0, StatusCode::NOT_FOUND);
        let join = demo.post(&path("/join"), outsider).send().await.unwrap();
        assert_eq!(problem(join).await.0, StatusCode::NOT_FOUND);
    }

    // Joining mints a token for the room: host for the host, speaker with its ward for the ward.
    let join: q10_core_api::MeetingJoin =
        demo.post(&path("/join"), &district).send().await.unwrap().json().await.unwrap();
    assert_eq!((join.role.as_str(), join.unit.as_deref()), ("host", Some("771")));
    assert_eq!(join.token, format!("{}|{}|host|771", meeting.room, join.identity));
    let join: q10_core_api::MeetingJoin = demo.post(&path("/join"), &ward).send().await.unwrap().json().await.unwrap();
    assert_eq!((join.role.as_str(), join.unit.as_deref()), ("speaker", Some("27211")));

    // Documents: the host attaches PDFs; others read them; anything else is refused.
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
    let upload = |token: &str, name: &str, ct: &str, body: Vec<u8>| {
        demo.post(&format!("{}?name={name}", path("/documents")), token).header("content-type", ct).body(body)
    };
    let res = upload(&district, "to-trinh.pdf", "application/pdf", pdf.clone()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let doc: q10_core_api::MeetingDocument = res.json().await.unwrap();
    assert_eq!(doc.size, pdf.len() as i64);
    let res = upload(&district, "x.pdf", "application/pdf", b"<html>".to_vec()).send().await.unwrap();
    assert_eq!(problem(res).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = upload(&district, "x.pdf", "text/plain", pdf.clone()).send().await.unwrap();
    assert_eq!(problem(res).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = upload(&district, "..%2Fx.pdf", "application/pdf", pdf.clone()).send().await.unwrap();
    assert_eq!(problem(res).await.0, StatusCode::BAD_REQUEST);
    let res = upload(&ward, "y.pdf", "application/pdf", pdf.clone()).send().await.unwrap();
    assert_eq!(problem(res).await.0, StatusCode::FORBIDDEN);
    let docs: Vec<q10_core_api::MeetingDocument> =
        demo.get(&path("/documents"), &ward).send().await.unwrap().json().await.unwrap();
    assert_eq!(docs.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["to-trinh.pdf"]);
    let res = demo.get(&path(&format!("/documents/{}", doc.id)), &ward).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.bytes().await.unwrap().to_vec(), pdf);
    let res = demo.get(&path("/documents/nope"), &ward).send().await.unwrap();
    assert_eq!(problem(res).await.0, StatusCode::NOT_FOUND);

    // Attendance, as the signaling service reports it: the ward is called present while there.
    let store = &demo.server.state.store;
    let t0 = OffsetDateTime::now_utc() - time::Duration::minutes(10);
    let joined = |who: &str, unit: &str, at| q10_core::meeting::RoomEvent::Joined {
        room: meeting.room.clone(),
        identity: who.into(),
        name: format!("Cán bộ {who}"),
        unit: Some(unit.into()),
        at,
    };
    q10_core::meeting::record(store, &joined("user-1", "771", t0)).await.unwrap();
    q10_core::meeting::record(store, &joined("user-3", "27211", t0 + time::Duration::minutes(1))).await.unwrap();
    let left = q10_core::meeting::RoomEvent::Left {
        room: meeting.room.clone(),
        identity: "user-3".into(),
        at: t0 + time::Duration::minutes(6),
    };
    q10_core::meeting::record(store, &left).await.unwrap();
    // A room that is no meeting leaves no trace.
    let other = q10_core::meeting::RoomEvent::Left { room: "ad-hoc".into(), identity: "x".into(), at: t0 };
    q10_core::meeting::record(store, &other).await.unwrap();
    let report: q10_core_api::Attendance =
        demo.get(&path("/attendance"), &ward).send().await.unwrap().json().await.unwrap();
    assert_eq!(report.entries.len(), 2);
    let ward_stay = report.entries.iter().find(|e| e.identity == "user-3").unwrap();
    assert_eq!(ward_stay.seconds, 300);
    let roll: Vec<(&str, bool, bool)> =
        report.roll_call.iter().map(|r| (r.code.as_str(), r.attended, r.present)).collect();
    assert_eq!(roll, [("27190", false, false), ("27211", true, false)]);
    let csv = demo.get(&path("/attendance.csv"), &district).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.contains("\"Cán bộ user-3\",\"user-3\",\"27211\","), "{csv}");
}
