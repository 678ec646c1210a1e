//! The kiosk against a real `q10 serve --demo` on loopback, driven through its interface as a
//! person would (Slint's testing backend, its event loop running so the core's answers come
//! back): a problem reported in the street reaches the ward's queue at the kiosk's place, a
//! dossier applied for on the web is looked up by its code and its fee paid by VietQR (through the
//! demo's bank simulator), and the session left alone is wiped, tracking code and all. One test per binary: the testing backend's event loop is per process.

use std::rc::Rc;
use std::time::Duration;

use i_slint_backend_testing::mock_elapsed_time;
use q10_kiosk::controllers::{Kiosk, setup};
use q10_kiosk::{AppAdapter, ComplaintAdapter, DossierAdapter, MainWindow, Page};
use serde_json::{Value, json};
use slint::{ComponentHandle, Model};

mod kiosk_common;

use kiosk_common::{find, press, serve, settle};

/// A dossier applied for on the web, as a resident would: its code.
async fn apply(base: &str) -> String {
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82";
    let pdf: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
    let body = json!({ "procedure": "1.000894", "ward": "27226", "note": "",
        "applicant": { "full_name": "Trần Văn An", "id_number": "079203099999", "phone": "0912000111",
            "address": "1 Đường 3/2, Quận 10" } });
    let part = |bytes: &'static [u8], name: &str| reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
    let form = reqwest::multipart::Form::new()
        .text("dossier", body.to_string())
        .part("doc:application", part(pdf, "to-khai.pdf"))
        .part("doc:id_card", part(png, "cccd.png"));
    let res = reqwest::Client::new().post(format!("{base}/api/v1/dossiers")).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_string()
}

/// A banking app pays the payment's VietQR code (the demo's bank simulator).
async fn bank_pays(base: &str, reference: &str) {
    let http = reqwest::Client::new();
    let res = http.post(format!("{base}/api/v1/payments/{reference}/vietqr")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let payload = res.json::<Value>().await.unwrap()["payload"].as_str().unwrap().to_string();
    let res = http.post(format!("{base}/sim/bank/transfer")).form(&[("payload", payload)]).send().await.unwrap();
    let page = res.text().await.unwrap();
    assert!(!page.contains("Không chuyển được"), "the bank refused: {page}");
}

/// The complaint as the ward's staff see it.
async fn complaint_seen_by_staff(base: &str, password: &str, id: i32) -> Value {
    let http = reqwest::Client::new();
    let login = json!({ "username": "operator", "password": password });
    let token: Value =
        http.post(format!("{base}/api/v1/auth/token")).json(&login).send().await.unwrap().json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let res = http.get(format!("{base}/api/v1/complaints/{id}")).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[test]
fn the_kiosk_reports_a_problem_and_looks_up_a_dossier_at_a_real_core() {
    let data = tempfile::tempdir().unwrap();
    let serving = serve(data.path());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let code = rt.block_on(apply(&serving.base));

    i_slint_backend_testing::init_integration_test_with_mock_time();
    let w = MainWindow::new().unwrap();
    let kiosk = Kiosk {
        map: Rc::new(q10_kiosk::demo::map().unwrap()),
        here: q10_kiosk::demo::KIOSK_AT,
        core: Some(serving.base.clone()),
        idle: Duration::from_secs(60),
        warn: Duration::from_secs(10),
        account: None,
        voice: q10_kiosk::call::Source::Microphone,
        printer: None,
        camera: q10_kiosk::camera::Camera::None,
    };
    let _running = setup(&w, kiosk);
    // A kiosk's screen.
    w.window().set_size(slint::PhysicalSize::new(1280, 800));
    w.show().unwrap();

    // A problem in the street, reported where the kiosk stands.
    press(&w, "Chạm để bắt đầu / Touch to start");
    press(&w, "Phản ánh sự cố trên đường phố");
    assert_eq!(w.global::<AppAdapter>().get_page(), Page::Complaint);
    settle(&w, "the kinds of problem", |w| w.global::<ComplaintAdapter>().get_loaded() != 0);
    let c = w.global::<ComplaintAdapter>();
    assert_eq!(c.get_loaded(), 1, "the core named the kinds of problem");
    let kinds = c.get_categories();
    assert!(kinds.row_count() >= 5, "{} kinds", kinds.row_count());
    let kind = kinds.row_data(0).unwrap();
    press(&w, "Gửi phản ánh");
    assert_eq!(c.get_outcome(), 4, "no kind chosen yet: nothing sent");
    press(&w, kind.name_vi.as_str());
    press(&w, "Gửi phản ánh");
    assert_eq!(c.get_outcome(), 5, "nothing said yet: nothing sent");
    find(&w, "Nội dung sự cố").set_accessible_value("Đèn đường trước ki-ốt không sáng");
    mock_elapsed_time(Duration::from_millis(50));
    press(&w, "Gửi phản ánh");
    settle(&w, "the complaint filed", |w| !w.global::<ComplaintAdapter>().get_busy());
    assert_eq!(c.get_outcome(), 1, "filed: {}", c.get_reason());
    let (number, tracking) = (c.get_number(), c.get_tracking_code().to_string());
    assert!(number > 0 && tracking.len() >= 8, "number {number}, code {tracking}");
    assert!(find(&w, "Mã theo dõi").accessible_label().is_some());
    let seen = rt.block_on(complaint_seen_by_staff(&serving.base, &serving.operator_password, number));
    assert_eq!(seen["description"], "Đèn đường trước ki-ốt không sáng", "{seen}");
    assert_eq!(seen["category"], kind.code.as_str(), "{seen}");
    // This kiosk has no account: its complaint comes as anyone's would.
    assert_eq!(seen["source"], "web", "{seen}");
    let [lon, lat] = q10_kiosk::demo::KIOSK_AT;
    let (at_lon, at_lat) = (seen["lon"].as_f64().unwrap(), seen["lat"].as_f64().unwrap());
    assert!((at_lon - lon).abs() < 1e-6 && (at_lat - lat).abs() < 1e-6, "at the kiosk: {seen}");
    assert_eq!(seen["ward"], "27226", "routed to the ward the kiosk stands in: {seen}");

    // A dossier looked up by its code.
    press(&w, "Trang chủ");
    press(&w, "Tra cứu hồ sơ");
    find(&w, "Mã hồ sơ").set_accessible_value(&code);
    mock_elapsed_time(Duration::from_millis(50));
    press(&w, "Tra cứu");
    settle(&w, "the dossier", |w| !w.global::<DossierAdapter>().get_busy());
    let d = w.global::<DossierAdapter>();
    assert_eq!(d.get_outcome(), 1, "found");
    assert_eq!(d.get_status(), "received");
    assert!(!d.get_procedure().is_empty());
    // Its fee, paid by VietQR: the code shown, a banking app pays it, the kiosk sees it land.
    assert_eq!((d.get_fee(), d.get_fee_paid(), d.get_fee_text().as_str()), (15_000, false, "15.000 đ"));
    press(&w, "Nộp lệ phí 15.000 đ bằng mã QR ngân hàng");
    settle(&w, "the payment code", |w| w.global::<DossierAdapter>().get_pay_state() != 1);
    assert_eq!(d.get_pay_state(), 2, "the code shown");
    assert!(d.get_pay_qr().size().width > 150, "a QR code to scan");
    let reference = d.get_payment_reference().to_string();
    rt.block_on(bank_pays(&serving.base, &reference));
    // The kiosk asks every 3 s (its clock is mocked: moved on here).
    mock_elapsed_time(Duration::from_secs(3));
    settle(&w, "the payment to land", |w| w.global::<DossierAdapter>().get_pay_state() != 2);
    assert_eq!(d.get_pay_state(), 3, "paid");
    assert!(d.get_receipt_number() > 0, "a receipt number");
    find(&w, "Mã hồ sơ").set_accessible_value("HS-KHONG-CO");
    mock_elapsed_time(Duration::from_millis(50));
    press(&w, "Tra cứu");
    settle(&w, "the unknown code", |w| !w.global::<DossierAdapter>().get_busy());
    assert_eq!(d.get_outcome(), 2, "no dossier has that code");

    // Left alone: the complaint's code and the dossier's are gone.
    mock_elapsed_time(Duration::from_secs(60));
    for _ in 0..11 {
        mock_elapsed_time(Duration::from_secs(1));
    }
    assert_eq!(w.global::<AppAdapter>().get_page(), Page::Attract);
    assert_eq!((c.get_tracking_code().as_str(), c.get_outcome(), c.get_category()), ("", 0, -1));
    assert_eq!((d.get_code().as_str(), d.get_found().as_str(), d.get_pay_state()), ("", "", 0));
}
