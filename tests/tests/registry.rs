//! The civil-status registry end to end over a real loopback socket, on SQLite and on
//! PostgreSQL: CSV import (dry run, all or nothing, idempotent), search without accents and with
//! near spellings, sealed ID numbers, corrections that keep the history, the life cycle with its
//! refusals and duplicate flags, and extracts whose QR link verifies.

use q10_core_api::Role;
use q10_tests::{Demo, Engine, demo_for};
use reqwest::StatusCode;
use serde_json::{Value, json};

q10_tests::on_both_engines!(
    a_digitised_book_is_imported_searched_corrected_and_certified,
    imports_are_all_or_nothing,
    a_record_is_declared_and_registered_with_duplicates_flagged,
);

const HEADER: &str = "page,entry,registered_on,child_name,sex,birth_date,birth_place,native_place,ethnicity,nationality,id_number,father_name,father_birth_year,father_ethnicity,father_nationality,father_residence,mother_name,mother_birth_year,mother_ethnicity,mother_nationality,mother_residence";

fn book_csv(rows: &[&str]) -> String {
    let mut s = String::from(HEADER);
    for r in rows {
        s.push('\n');
        s.push_str(r);
    }
    s.push('\n');
    s
}

const GOOD: [&str; 4] = [
    "1,1,2024-03-04,Nguyễn Văn An,male,2024-03-01,Bệnh viện Hùng Vương,TP. Hồ Chí Minh,Kinh,Việt Nam,079224000101,Nguyễn Văn Bình,1990,Kinh,Việt Nam,12 Đường 3/2,Trần Thị Cúc,1992,Kinh,Việt Nam,12 Đường 3/2",
    "1,2,2024-03-05,Lê Thị Hoa,female,2024-02-28,Bệnh viện Từ Dũ,TP. Hồ Chí Minh,Kinh,Việt Nam,,Lê Văn Dũng,1988,Kinh,Việt Nam,5 Lý Thường Kiệt,Phạm Thị Em,1989,Kinh,Việt Nam,5 Lý Thường Kiệt",
    "1,3,2024-03-06,Trần Minh Khôi,male,2024-03-02,Bệnh viện Nhân dân 115,Long An,Kinh,Việt Nam,,Trần Văn Lộc,1985,Kinh,Việt Nam,8 Sư Vạn Hạnh,Võ Thị Mai,1987,Kinh,Việt Nam,8 Sư Vạn Hạnh",
    "2,4,2024-03-07,Đặng Thị Ngọc,female,2024-03-03,Bệnh viện Hùng Vương,Cần Thơ,Hoa,Việt Nam,,Đặng Văn Phúc,1991,Hoa,Việt Nam,3 Ngô Quyền,Lý Thị Quyên,1993,Hoa,Việt Nam,3 Ngô Quyền",
];

async fn open_book(demo: &Demo, clerk: &str, volume: &str) -> i64 {
    let res = demo
        .post("/api/v1/registry/books", clerk)
        .json(&json!({ "kind": "birth", "volume": volume, "year": 2024, "unit": "27211" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn import(demo: &Demo, clerk: &str, book: i64, csv: &str, dry_run: bool) -> (StatusCode, Value) {
    let res = demo
        .post(&format!("/api/v1/registry/books/{book}/import?dry_run={dry_run}"), clerk)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn search(demo: &Demo, token: &str, q: Value) -> Value {
    let res = demo.post("/api/v1/registry/search", token).json(&q).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{q}");
    res.json().await.unwrap()
}

fn names(result: &Value) -> Vec<String> {
    result["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()).collect()
}

async fn act(demo: &Demo, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
    let res = demo.post(&format!("/api/v1/registry/records/{id}/actions"), token).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn a_digitised_book_is_imported_searched_corrected_and_certified(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else { return };
    let clerk = demo.token(Role::RegistryClerk).await;
    let book = open_book(&demo, &clerk, "01/2024").await;
    let res = demo
        .post("/api/v1/registry/books", &clerk)
        .json(&json!({ "kind": "birth", "volume": "01/2024", "year": 2024, "unit": "27211" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT, "one book per kind, unit and volume");

    // A dry run reports every bad row, with its line, and adds nothing.
    let bad = book_csv(&[
        GOOD[0],
        "1,2,2024-03-05,Lê Thị Hoa,x,2024-02-30,,,Kinh,Việt Nam,12345,,,,,,,,,,",
        GOOD[2],
        GOOD[0],
    ]);
    let (status, report) = import(&demo, &clerk, book, &bad, true).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["rows"], 4);
    assert_eq!(report["applied"], false);
    let rejected = report["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{report}");
    assert_eq!(rejected[0]["line"], 3);
    let reasons = rejected[0]["reasons"].to_string();
    for field in ["sex", "birth_date", "birth_place", "id_number"] {
        assert!(reasons.contains(field), "{field} in {reasons}");
    }
    assert!(!reasons.contains("12345"), "values are not echoed: {reasons}");
    assert_eq!(rejected[1]["line"], 5, "the same entry twice");

    let good = book_csv(&GOOD);
    let (_, report) = import(&demo, &clerk, book, &good, false).await;
    assert_eq!((report["applied"].as_bool(), report["added"].as_u64()), (Some(true), Some(4)), "{report}");
    let (_, again) = import(&demo, &clerk, book, &good, false).await;
    assert_eq!((again["added"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(4)), "idempotent: {again}");
    let books: Value = demo.get_json("/api/v1/registry/books", &clerk).await;
    assert_eq!(books[0]["records"], 4);

    // Found without accents, with a near spelling, by part of the name, by a parent, by ID.
    assert_eq!(names(&search(&demo, &clerk, json!({ "name": "nguyen van an" })).await), ["Nguyễn Văn An"]);
    assert_eq!(names(&search(&demo, &clerk, json!({ "name": "Nguyen Van Ann" })).await), ["Nguyễn Văn An"]);
    assert_eq!(names(&search(&demo, &clerk, json!({ "name": "dang thi ngoc" })).await), ["Đặng Thị Ngọc"]);
    assert_eq!(names(&search(&demo, &clerk, json!({ "name": "Thị" })).await), ["Lê Thị Hoa", "Đặng Thị Ngọc"]);
    assert_eq!(names(&search(&demo, &clerk, json!({ "parent": "tran thi cuc" })).await), ["Nguyễn Văn An"]);
    assert_eq!(names(&search(&demo, &clerk, json!({ "id_number": "079224000101" })).await), ["Nguyễn Văn An"]);
    let range =
        search(&demo, &clerk, json!({ "event_from": "2024-03-01", "event_to": "2024-03-02", "kind": "birth" })).await;
    assert_eq!(names(&range), ["Nguyễn Văn An", "Trần Minh Khôi"]);
    assert_eq!(search(&demo, &clerk, json!({ "name": "zzzz qqqq" })).await["total"], 0);
    let res = demo.post("/api/v1/registry/search", &clerk).json(&json!({ "id_number": "12" })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let id = search(&demo, &clerk, json!({ "name": "nguyen van an" })).await["items"][0]["id"].as_i64().unwrap();

    // The ID number is sealed at rest, shown in full to the clerk and masked to others.
    let row = demo.server.state.store.civil_record(id).await.unwrap().unwrap();
    assert!(!row.fields.contains("079224000101"));
    assert!(!row.ids.as_deref().unwrap().windows(12).any(|w| w == b"079224000101"));
    let full = demo.get_json(&format!("/api/v1/registry/records/{id}"), &clerk).await;
    assert_eq!(full["fields"]["id_number"], "079224000101");
    assert_eq!(full["status"], "registered");
    let ward = demo.token(Role::WardOfficial).await;
    let masked = demo.get_json(&format!("/api/v1/registry/records/{id}"), &ward).await;
    assert_eq!(masked["fields"]["id_number"], "••••••••0101");
    let (status, _) = act(&demo, &ward, id, json!({ "action": "assign" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only clerks change records");

    // A correction: assigned first, with a reason and a document; the old value stays in the history.
    let fix = json!({ "action": "correct", "reason": "Sai nơi sinh", "document_ref": "QĐ 15/2024/UBND", "fields": { "birth_place": "Bệnh viện Từ Dũ" } });
    let (status, _) = act(&demo, &clerk, id, fix.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "assign before edit");
    act(&demo, &clerk, id, json!({ "action": "assign" })).await;
    let (status, _) = act(
        &demo,
        &clerk,
        id,
        json!({ "action": "correct", "reason": "Sai nơi sinh", "fields": { "birth_place": "x" } }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a correction names its document");
    let (status, v) = act(&demo, &clerk, id, fix).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "corrected");
    assert_eq!(v["fields"]["birth_place"], "Bệnh viện Từ Dũ");
    let last = v["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "correct");
    assert_eq!(last["before"]["birth_place"], "Bệnh viện Hùng Vương");
    assert_eq!(last["after"]["birth_place"], "Bệnh viện Từ Dũ");
    assert_eq!(last["document_ref"], "QĐ 15/2024/UBND");
    let history: Vec<&str> = v["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(history, ["import", "assign", "correct"]);

    // The extract, and the public page its QR code opens.
    let res = demo.post(&format!("/api/v1/registry/records/{id}/extracts"), &clerk).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let extract: Value = res.json().await.unwrap();
    assert!(extract["qr_svg"].as_str().unwrap().contains("<svg"));
    assert_eq!(extract["content"]["fields"]["id_number"], "••••••••0101", "extracts show ID numbers masked");
    let url = extract["verify_url"].as_str().unwrap();
    assert!(url.starts_with(&demo.server.url("/verify/")), "{url}");
    let page = reqwest::get(url).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Bản trích lục hợp lệ") && page.contains("Nguyễn Văn An") && page.contains("Bệnh viện Từ Dũ"),
        "{page}"
    );
    assert!(!page.contains("079224000101"));
    let tampered = format!("{}{}", &url[..url.len() - 1], if url.ends_with('0') { '1' } else { '0' });
    let page = reqwest::get(&tampered).await.unwrap().text().await.unwrap();
    assert!(page.contains("Không xác thực được"), "{page}");
    assert_eq!(demo.get_json(&format!("/api/v1/registry/records/{id}"), &clerk).await["status"], "certified");

    let admin = demo.token(Role::Admin).await;
    let audit = demo.get_json("/api/v1/audit?limit=200", &admin).await.to_string();
    for action in ["registry.import", "registry.record.view", "registry.record.act", "registry.extract.issue"] {
        assert!(audit.contains(action), "{action}");
    }
    assert!(!audit.contains("079224000101"));
}

async fn imports_are_all_or_nothing(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else { return };
    let clerk = demo.token(Role::RegistryClerk).await;
    let book = open_book(&demo, &clerk, "02/2024").await;
    let bad = book_csv(&[GOOD[0], GOOD[1], "2,9,2024-13-01,Ai Đó,male,2024-01-01,Nơi sinh,,Kinh,Việt Nam,,,,,,,,,,,"]);
    let (_, report) = import(&demo, &clerk, book, &bad, false).await;
    assert_eq!((report["applied"].as_bool(), report["added"].as_u64()), (Some(false), Some(0)), "{report}");
    assert_eq!(demo.server.state.store.count_civil_records().await.unwrap(), 0, "nothing was added");
    let (status, _) = import(&demo, &clerk, book, "page,entry,registered_on,colour\n1,1,2024-01-01,blue\n", true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown columns");
    let (_, ok) = import(&demo, &clerk, book, &book_csv(&GOOD[..2]), false).await;
    assert_eq!(ok["added"], 2);
    // The same entry with other content is refused, and the file adds nothing.
    let changed = GOOD[1].replace("Lê Thị Hoa", "Lê Thị Hồng");
    let (_, report) = import(&demo, &clerk, book, &book_csv(&[GOOD[2], &changed]), false).await;
    assert_eq!(report["applied"], false);
    assert!(report["rejected"][0]["reasons"][0].as_str().unwrap().contains("entry 2"), "{report}");
    assert_eq!(demo.server.state.store.count_civil_records().await.unwrap(), 2);
    let res = demo
        .post(&format!("/api/v1/registry/books/{book}/import"), &clerk)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn a_record_is_declared_and_registered_with_duplicates_flagged(engine: Engine) {
    let Some((_db, demo)) = demo_for(engine).await else { return };
    let clerk = demo.token(Role::RegistryClerk).await;
    let book = open_book(&demo, &clerk, "03/2024").await;
    let fields = json!({
        "child_name": "Phạm Gia Huy", "sex": "male", "birth_date": "2024-05-01", "birth_place": "Bệnh viện Hùng Vương",
        "ethnicity": "Kinh", "nationality": "Việt Nam", "father_name": "Phạm Văn Tài", "mother_name": "Ngô Thị Uyên"
    });
    let create = |entry: i64, fields: Value| {
        demo.post("/api/v1/registry/records", &clerk)
            .json(
                &json!({ "book_id": book, "page": 1, "entry": entry, "registered_on": "2024-05-03", "fields": fields }),
            )
            .send()
    };
    let res = create(1, fields.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let first: Value = res.json().await.unwrap();
    let a = first["id"].as_i64().unwrap();
    assert_eq!(first["status"], "draft");
    assert_eq!(create(1, fields.clone()).await.unwrap().status(), StatusCode::CONFLICT, "the entry is taken");
    let mut bad = fields.clone();
    bad["sex"] = json!("unknown");
    assert_eq!(create(2, bad).await.unwrap().status(), StatusCode::BAD_REQUEST);

    for (action, want) in
        [("register", StatusCode::CONFLICT), ("correct", StatusCode::CONFLICT), ("annotate", StatusCode::CONFLICT)]
    {
        let (status, v) = act(&demo, &clerk, a, json!({ "action": action, "reason": "x", "document_ref": "y", "note_kind": "other", "fields": { "sex": "female" } })).await;
        assert_eq!(status, want, "{action} on a draft: {v}");
    }
    let (_, v) = act(&demo, &clerk, a, json!({ "action": "update", "fields": { "native_place": "Huế" } })).await;
    assert_eq!(v["fields"]["native_place"], "Huế");
    act(&demo, &clerk, a, json!({ "action": "declare" })).await;
    let (_, v) = act(&demo, &clerk, a, json!({ "action": "register" })).await;
    assert_eq!(v["status"], "registered");
    assert_eq!(v["possible_duplicate_of"], Value::Null);

    // The same child declared again is flagged for review, not blocked.
    let second: Value = create(2, fields.clone()).await.unwrap().json().await.unwrap();
    let b = second["id"].as_i64().unwrap();
    let (_, v) = act(&demo, &clerk, b, json!({ "action": "update", "fields": { "native_place": "Huế" } })).await;
    assert_eq!(v["status"], "draft");
    let (_, v) = act(&demo, &clerk, b, json!({ "action": "declare" })).await;
    assert_eq!(v["possible_duplicate_of"], a, "{v}");
    let (status, _) = act(&demo, &clerk, b, json!({ "action": "register" })).await;
    assert_eq!(status, StatusCode::OK);

    // A later change is noted against the record with its document; archiving ends changes.
    let (status, v) = act(&demo, &clerk, a, json!({ "action": "annotate", "note_kind": "change_of_name", "reason": "Đổi tên thành Phạm Gia Hưng", "document_ref": "QĐ 7/2025" })).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, _) = act(&demo, &clerk, b, json!({ "action": "archive" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "archiving says why");
    act(&demo, &clerk, b, json!({ "action": "archive", "reason": "Đăng ký trùng" })).await;
    let (status, _) = act(&demo, &clerk, b, json!({ "action": "assign" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let res = demo.post(&format!("/api/v1/registry/records/{b}/extracts"), &clerk).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT, "no extract of an archived record");
}
