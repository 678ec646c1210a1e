//! The kiosk signed in at a real `q10 serve --demo` with the demo's kiosk account, driven through
//! its interface: its heartbeat makes it online in the operators' list with its version; a call
//! to the officer rings at the core, shows as ringing on the kiosk, and hanging up ends it at the
//! core; queue tickets are numbered by the office of the ward the kiosk stands in and printed on
//! its printer (a loopback ESC/POS printer that says its paper is in); a problem it
//! reports, with a photo from its camera (the test picture), is marked as come from a kiosk. (Screenshots
//! need a real renderer: the testing backend takes none.) (Answering, with media both ways, is the browser
//! test `kiosk-call.test.js`.) One test per binary: the testing backend's event loop is per process.

use std::rc::Rc;
use std::time::Duration;

use q10_kiosk::controllers::{Account, Kiosk, setup};
use q10_kiosk::{CallAdapter, ComplaintAdapter, MainWindow, PrintAdapter, QueueAdapter};
use serde_json::{Value, json};
use slint::ComponentHandle;
use slint::Model;

mod kiosk_common;

use kiosk_common::{FakePrinter, find, press, serve, settle};

fn account(data: &std::path::Path) -> Account {
    let text = std::fs::read_to_string(data.join("demo-accounts.txt")).unwrap();
    let line = text.lines().find(|l| l.split('\t').nth(1) == Some("kiosk_device")).expect("a kiosk account");
    let f: Vec<&str> = line.split('\t').collect();
    Account { username: f[0].into(), password: f[3].into() }
}

/// GETs `path` as the operator.
fn operator_sees(base: &str, password: &str, path: &str) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let login = json!({ "username": "operator", "password": password });
        let token: Value =
            http.post(format!("{base}/api/v1/auth/token")).json(&login).send().await.unwrap().json().await.unwrap();
        let token = token["access_token"].as_str().unwrap().to_string();
        http.get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap().json().await.unwrap()
    })
}

#[test]
fn the_kiosk_reports_in_calls_the_officer_and_takes_queue_tickets_at_a_real_core() {
    let data = tempfile::tempdir().unwrap();
    let serving = serve(data.path());
    let (base, password) = (serving.base.clone(), serving.operator_password.clone());
    let printer = FakePrinter::start();
    i_slint_backend_testing::init_integration_test_with_mock_time();
    let w = MainWindow::new().unwrap();
    let kiosk = Kiosk {
        map: Rc::new(q10_kiosk::demo::map().unwrap()),
        here: q10_kiosk::demo::KIOSK_AT,
        core: Some(base.clone()),
        idle: Duration::from_secs(60),
        warn: Duration::from_secs(10),
        account: Some(account(data.path())),
        voice: q10_kiosk::call::Source::Tone,
        printer: Some(format!("tcp://{}", printer.address).parse().unwrap()),
        camera: q10_kiosk::camera::Camera::Test,
    };
    let _running = setup(&w, kiosk);
    w.window().set_size(slint::PhysicalSize::new(1280, 800));
    w.show().unwrap();

    // Its first heartbeat goes at once: online, with its version and its printer ready (the
    // printer said its paper is in).
    let online = |_: &MainWindow| {
        let list = operator_sees(&base, &password, "/api/v1/kiosks");
        list.as_array()
            .unwrap()
            .iter()
            .any(|k| k["online"] == true && k["version"] == env!("CARGO_PKG_VERSION") && k["printer"] == "ready")
    };
    settle(&w, "the kiosk to report in", online);

    // A call: asked for, ringing at the core and on the kiosk; hung up before anyone answered.
    press(&w, "Chạm để bắt đầu / Touch to start");
    press(&w, "Gọi cán bộ");
    press(&w, "Gọi cán bộ ngay");
    settle(&w, "the call to ring", |w| w.global::<CallAdapter>().get_state() == 2);
    let calls = operator_sees(&base, &password, "/api/v1/kiosk-calls");
    assert_eq!(calls[0]["status"], "ringing", "{calls}");
    assert_eq!(calls[0]["kiosk_name"], "Kiosk Phường 1");
    press(&w, "Kết thúc cuộc gọi");
    assert_eq!(w.global::<CallAdapter>().get_state(), 4, "ended on the kiosk at once");
    let ended = |_: &MainWindow| operator_sees(&base, &password, "/api/v1/kiosk-calls")[0]["status"] == "missed";
    settle(&w, "the core to hear the kiosk hung up (unanswered: missed)", ended);

    // A queue ticket for the office of the ward the kiosk stands in.
    press(&w, "Trang chủ");
    press(&w, "Lấy số thứ tự");
    press(&w, "Nộp phí, lệ phí");
    settle(&w, "the ticket", |w| w.global::<QueueAdapter>().get_state() != 1);
    let q = w.global::<QueueAdapter>();
    assert_eq!((q.get_state(), q.get_number(), q.get_ahead(), q.get_minutes()), (2, 1, 0, 0));
    assert!(q.get_office().starts_with("UBND Phường"), "{}", q.get_office());
    // Printed on the kiosk's printer: one job, with the ticket as a picture.
    press(&w, "In phiếu số thứ tự");
    settle(&w, "the ticket printed", |w| w.global::<PrintAdapter>().get_state() != 1);
    assert_eq!(w.global::<PrintAdapter>().get_state(), 2, "printed");
    settle(&w, "the printer to have it all", |_| printer.printed().len() == 1);
    press(&w, "Lấy số khác");
    press(&w, "Việc khác");
    settle(&w, "the second ticket", |w| w.global::<QueueAdapter>().get_state() != 1);
    assert_eq!((q.get_number(), q.get_ahead(), q.get_minutes()), (2, 1, 5), "one before it, five minutes a person");

    // A problem reported from the kiosk: the ward's staff see it came from a kiosk.
    press(&w, "Trang chủ");
    press(&w, "Phản ánh sự cố trên đường phố");
    settle(&w, "the kinds of problem", |w| w.global::<ComplaintAdapter>().get_loaded() != 0);
    let c = w.global::<ComplaintAdapter>();
    press(&w, c.get_categories().row_data(0).unwrap().name_vi.as_str());
    find(&w, "Nội dung sự cố").set_accessible_value("Nắp cống trước ki-ốt bị vỡ");
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(50));
    // A photo from the kiosk's camera, shown before it goes; removed, then taken again.
    press(&w, "Chụp ảnh (nếu bạn muốn)");
    settle(&w, "the photo", |w| w.global::<ComplaintAdapter>().get_photo_state() != 1);
    assert_eq!(c.get_photo_state(), 2, "taken");
    press(&w, "Bỏ ảnh");
    assert_eq!(c.get_photo_state(), 0, "removed");
    press(&w, "Chụp ảnh (nếu bạn muốn)");
    settle(&w, "the photo again", |w| w.global::<ComplaintAdapter>().get_photo_state() != 1);
    assert_eq!(c.get_photo_state(), 2, "taken again");
    assert_eq!((c.get_photo().size().width, c.get_photo().size().height), (640, 360));
    find(&w, "Ảnh chụp");
    press(&w, "Gửi phản ánh");
    settle(&w, "the complaint filed", |w| !w.global::<ComplaintAdapter>().get_busy());
    assert_eq!(c.get_outcome(), 1, "filed: {}", c.get_reason());
    let seen = operator_sees(&base, &password, &format!("/api/v1/complaints/{}", c.get_number()));
    assert_eq!(seen["source"], "kiosk", "{seen}");
    assert_eq!(seen["description"], "Nắp cống trước ki-ốt bị vỡ");
    // The photo went with it, and is no longer on the kiosk.
    assert_eq!(seen["photos"].as_array().map(Vec::len), Some(1), "{seen}");
    assert_eq!(c.get_photo_state(), 0);
}
