//! The kiosk's interface, headless (Slint's testing backend, mock time), driven as a person
//! would through the controls' accessible names: every page reached, the language switched, a
//! place found without accents and the walk there told, a problem placed on the map, and a
//! session left alone wiped. (`deploy/q10/tests/kiosk.rs` drives it against a real core.)

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use i_slint_backend_testing::{ElementHandle, mock_elapsed_time};
use q10_kiosk::controllers::{Kiosk, app::Running, setup};
use q10_kiosk::map::Meta;
use q10_kiosk::{AppAdapter, ComplaintAdapter, MainWindow, Page, PlacesAdapter, Speech, Theme};
use slint::{ComponentHandle, Model};

fn kiosk() -> (MainWindow, Running) {
    i_slint_backend_testing::init_no_event_loop();
    let fixture = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/district.osm"));
    let meta = Meta { licence: "test data".into(), ..Meta::default() };
    let map = q10_kiosk::osm::import(fixture, [106.6, 10.7, 106.7, 10.8], meta).unwrap();
    let window = MainWindow::new().unwrap();
    let running = setup(
        &window,
        Kiosk {
            map: Rc::new(map),
            // The west end of Đường A.
            here: [106.6600, 10.7700],
            core: None,
            idle: Duration::from_secs(60),
            warn: Duration::from_secs(10),
            account: None,
            voice: q10_kiosk::call::Source::Microphone,
            printer: None,
            // As a kiosk with a camera: the complaint page shows its photo button (the camera is
            // opened only when a photo is taken).
            camera: q10_kiosk::camera::Camera::Test,
        },
    );
    // A kiosk's screen.
    window.window().set_size(slint::PhysicalSize::new(1280, 800));
    window.show().unwrap();
    (window, running)
}

fn find(w: &MainWindow, label: &str) -> Option<ElementHandle> {
    ElementHandle::find_by_accessible_label(w, label).next()
}

fn press(w: &MainWindow, label: &str) {
    find(w, label).unwrap_or_else(|| panic!("no control named '{label}'")).invoke_accessible_default_action();
    mock_elapsed_time(Duration::from_millis(50));
}

/// The texts on screen now.
fn texts(w: &MainWindow) -> Vec<String> {
    i_slint_backend_testing::ElementQuery::from_root(w)
        .match_descendants()
        .find_all()
        .into_iter()
        .filter_map(|e| e.accessible_label().map(|l| l.to_string()))
        .filter(|l| !l.is_empty())
        .collect()
}

fn shows(w: &MainWindow, needle: &str) -> bool {
    texts(w).iter().any(|t| t.contains(needle))
}

#[test]
fn every_page_is_reached_by_its_name() {
    let (w, _r) = kiosk();
    assert_eq!(w.global::<AppAdapter>().get_page(), Page::Attract);
    press(&w, "Chạm để bắt đầu / Touch to start");
    assert_eq!(w.global::<AppAdapter>().get_page(), Page::Home);
    press(&w, "Tìm địa điểm và đường đi bộ");
    assert!(find(&w, "Tên địa điểm").is_some(), "the search field: {:?}", texts(&w));
    press(&w, "Trang chủ");
    press(&w, "Tra cứu hồ sơ");
    assert!(find(&w, "Mã hồ sơ").is_some(), "the dossier code field: {:?}", texts(&w));
    // Offline, a lookup says the office cannot be reached, and nothing else is lost.
    find(&w, "Mã hồ sơ").unwrap().set_accessible_value("HS-123");
    press(&w, "Tra cứu");
    assert!(shows(&w, "Chưa kết nối được"), "{:?}", texts(&w));
    assert_eq!(find(&w, "Mã hồ sơ").unwrap().accessible_value().as_deref(), Some("HS-123"));
    press(&w, "Trang chủ");
    press(&w, "Lấy số thứ tự");
    assert_eq!(w.global::<AppAdapter>().get_page(), Page::Queue);
    // Offline, no ticket: the office cannot be reached.
    press(&w, "Nộp phí, lệ phí");
    assert!(shows(&w, "Chưa kết nối được"), "{:?}", texts(&w));
    press(&w, "Trang chủ");
    press(&w, "Gọi cán bộ");
    assert_eq!(w.global::<AppAdapter>().get_page(), Page::Call);
    assert!(find(&w, "Gọi cán bộ ngay").is_some(), "{:?}", texts(&w));
}

#[test]
fn the_language_switch_changes_every_text() {
    let (w, _r) = kiosk();
    press(&w, "Chạm để bắt đầu / Touch to start");
    assert!(shows(&w, "Chúng tôi có thể giúp gì?"));
    press(&w, "Tiếng Việt / English");
    assert!(shows(&w, "How can we help?"), "{:?}", texts(&w));
    assert!(find(&w, "Home").is_some() && find(&w, "Trang chủ").is_none());
    press(&w, "Tiếng Việt / English");
    assert!(find(&w, "Trang chủ").is_some());
}

#[test]
fn a_place_is_found_without_accents_and_the_walk_there_told() {
    let (w, _r) = kiosk();
    press(&w, "Chạm để bắt đầu / Touch to start");
    press(&w, "Tìm địa điểm và đường đi bộ");
    find(&w, "Tên địa điểm").unwrap().set_accessible_value("chua an quang");
    mock_elapsed_time(Duration::from_millis(50));
    let results = w.global::<PlacesAdapter>().get_results();
    assert_eq!(results.row_count(), 1);
    press(&w, "Chùa Ấn Quang · Chùa, nhà thờ");
    let p = w.global::<PlacesAdapter>();
    assert!(p.get_chosen());
    // Along Đường A from this kiosk, then the last stretch from the nearest junction.
    assert!(shows(&w, "Đi bộ:") && shows(&w, "Đường A"), "{:?}", texts(&w));
    assert!(p.get_walk_metres() > 500 && p.get_walk_minutes() >= 7, "{} m", p.get_walk_metres());
    assert!(!p.get_route_path().is_empty() && !p.get_streets_path().is_empty());
    let qr = p.get_qr().size();
    assert!(qr.width > 100 && qr.width == qr.height, "a QR code to take along: {qr:?}");
    press(&w, "Trở lại danh sách địa điểm");
    assert!(!w.global::<PlacesAdapter>().get_chosen());
    // A name with no place.
    find(&w, "Tên địa điểm").unwrap().set_accessible_value("san bay");
    mock_elapsed_time(Duration::from_millis(50));
    assert!(shows(&w, "Không có địa điểm nào tên như vậy."), "{:?}", texts(&w));
}

#[test]
fn a_session_left_alone_is_asked_about_then_wiped() {
    let (w, _r) = kiosk();
    press(&w, "Chạm để bắt đầu / Touch to start");
    press(&w, "Tiếng Việt / English");
    press(&w, "Large text");
    press(&w, "Find a place and walk there");
    find(&w, "Name of a place").unwrap().set_accessible_value("pho");
    mock_elapsed_time(Duration::from_millis(50));
    assert!(w.global::<Theme>().get_large_text());
    // A minute without a touch: the question, counting down.
    mock_elapsed_time(Duration::from_secs(60));
    assert_eq!(w.global::<AppAdapter>().get_asking(), 10);
    assert!(shows(&w, "Are you still there?"), "{:?}", texts(&w));
    mock_elapsed_time(Duration::from_secs(1));
    assert_eq!(w.global::<AppAdapter>().get_asking(), 9);
    // Still here: carry on, nothing lost.
    press(&w, "I am still here");
    assert_eq!(w.global::<AppAdapter>().get_asking(), 0);
    assert_eq!(w.global::<PlacesAdapter>().get_query(), "pho");
    // Then left alone for good: everything wiped.
    mock_elapsed_time(Duration::from_secs(60));
    for _ in 0..10 {
        mock_elapsed_time(Duration::from_secs(1));
    }
    assert_eq!(w.global::<AppAdapter>().get_page(), Page::Attract);
    assert_eq!(w.global::<AppAdapter>().get_language(), "vi");
    assert!(!w.global::<Theme>().get_large_text());
    assert_eq!(w.global::<PlacesAdapter>().get_query(), "");
    assert_eq!(w.global::<PlacesAdapter>().get_results().row_count(), 0);
}

#[test]
fn a_problem_is_placed_on_the_map_and_forgotten_with_the_session() {
    let (w, _r) = kiosk();
    press(&w, "Chạm để bắt đầu / Touch to start");
    press(&w, "Phản ánh sự cố trên đường phố");
    let c = w.global::<ComplaintAdapter>();
    // Offline: the kinds of problem cannot be asked for, and nothing can be sent.
    assert_eq!(c.get_loaded(), 2);
    assert!(shows(&w, "Chưa kết nối được"), "{:?}", texts(&w));
    let kiosk_spot = (c.get_point_x(), c.get_point_y());
    assert!(kiosk_spot.0 > 0.0 && kiosk_spot.1 > 0.0, "the place starts at the kiosk: {kiosk_spot:?}");
    // Touching the map moves the place there.
    c.invoke_pick(250.0, 750.0);
    assert!((c.get_point_x() - 250.0).abs() < 0.01 && (c.get_point_y() - 750.0).abs() < 0.01);
    find(&w, "Nội dung sự cố").unwrap().set_accessible_value("Ổ gà giữa đường");
    press(&w, "Gửi phản ánh");
    assert_eq!(c.get_outcome(), 4, "no kind of problem chosen");
    assert!(shows(&w, "Vui lòng chọn loại sự cố trước."), "{:?}", texts(&w));
    // Left alone: what was typed and where are gone.
    mock_elapsed_time(Duration::from_secs(60));
    for _ in 0..10 {
        mock_elapsed_time(Duration::from_secs(1));
    }
    assert_eq!(w.global::<AppAdapter>().get_page(), Page::Attract);
    assert_eq!((c.get_description().as_str(), c.get_outcome()), ("", 0));
    assert_eq!((c.get_point_x(), c.get_point_y()), kiosk_spot);
}

#[test]
fn every_page_says_what_read_aloud_speaks_in_the_kiosks_language() {
    let (w, _r) = kiosk();
    let spoken = || w.global::<Speech>().get_text().to_string();
    assert!(spoken().contains("Chạm để bắt đầu") && spoken().contains("Touch to start"), "{}", spoken());
    // What the button asks espeak-ng to say is what the page holds.
    let said = Rc::new(RefCell::new(Vec::<String>::new()));
    let heard = said.clone();
    w.global::<Speech>().on_say(move |t| heard.borrow_mut().push(t.to_string()));
    press(&w, "Chạm để bắt đầu / Touch to start");
    assert!(spoken().starts_with("Chúng tôi có thể giúp gì?") && spoken().contains("Gọi cán bộ"), "{}", spoken());
    press(&w, "Đọc to");
    assert_eq!(said.borrow().as_slice(), [spoken()]);
    press(&w, "Tìm địa điểm và đường đi bộ");
    find(&w, "Tên địa điểm").unwrap().set_accessible_value("chua an quang");
    mock_elapsed_time(Duration::from_millis(50));
    press(&w, "Chùa Ấn Quang · Chùa, nhà thờ");
    assert!(spoken().starts_with("Chùa Ấn Quang") && spoken().contains("Đi bộ:"), "{}", spoken());
    assert!(spoken().contains("1. Đi theo Đường A"), "the walk's steps are read: {}", spoken());
    press(&w, "Tiếng Việt / English");
    assert!(spoken().contains("On foot:"), "the language switch speaks English: {}", spoken());
    assert!(spoken().contains("1. Walk along Đường A"), "{}", spoken());
    press(&w, "Home");
    press(&w, "Call an officer");
    assert!(spoken().starts_with("Call an officer. An officer of the ward"), "{}", spoken());
}

/// A key pressed and let go on the kiosk's keypad.
fn key(w: &MainWindow, text: impl Into<slint::SharedString>) {
    let text = text.into();
    w.window().dispatch_event(slint::platform::WindowEvent::KeyPressed { text: text.clone() });
    w.window().dispatch_event(slint::platform::WindowEvent::KeyReleased { text });
    mock_elapsed_time(Duration::from_millis(20));
}

/// What the keypad is on: the button inside the focus ring, `map` for the map, or `None` for a
/// control that shows its own focus (a text field).
fn keyed(w: &MainWindow) -> Option<String> {
    let rings =
        |id: &str| i_slint_backend_testing::ElementQuery::from_root(w).match_descendants().match_id(id).find_all();
    // The query may meet an element more than once: rings are told apart by where they are.
    let (mut buttons, maps) = (rings("BigButton::ring"), rings("DistrictMap::ring"));
    buttons.dedup_by(|a, b| a.absolute_position() == b.absolute_position());
    let mut spots: Vec<_> = buttons.iter().map(|b| b.absolute_position()).collect();
    spots.dedup();
    assert!(spots.len() + usize::from(!maps.is_empty()) <= 1, "one ring at most: {spots:?}");
    if !maps.is_empty() {
        return Some("map".into());
    }
    let ring = buttons.first()?.absolute_position();
    let found = visible_buttons(w)
        .into_iter()
        .find(|(_, at)| (at.x - ring.x - 5.0).abs() < 0.5 && (at.y - ring.y - 5.0).abs() < 0.5);
    Some(found.map(|(label, _)| label).unwrap_or_else(|| panic!("a ring around no button at {ring:?}")))
}

/// The buttons on screen, by name, with where they are.
fn visible_buttons(w: &MainWindow) -> Vec<(String, slint::LogicalPosition)> {
    i_slint_backend_testing::ElementQuery::from_root(w)
        .match_descendants()
        .match_accessible_role(i_slint_backend_testing::AccessibleRole::Button)
        .find_all()
        .into_iter()
        .filter_map(|e| Some((e.accessible_label()?.to_string(), e.absolute_position())))
        .collect()
}

/// Tab from the window round to where it began: what the keypad was on, in order.
fn tab_round(w: &MainWindow) -> Vec<Option<String>> {
    let mut seen = Vec::new();
    for _ in 0..80 {
        key(w, slint::platform::Key::Tab);
        let now = keyed(w);
        // Round once the first button (a text field has no name here) comes again.
        if let Some(start) = seen.iter().position(Option::is_some)
            && now == seen[start]
        {
            return seen.split_off(start);
        }
        seen.push(now);
    }
    panic!("Tab never came round: {seen:?}");
}

/// Tab until the keypad is on `name`.
fn tab_to(w: &MainWindow, name: &str) {
    for _ in 0..80 {
        if keyed(w).as_deref() == Some(name) {
            return;
        }
        key(w, slint::platform::Key::Tab);
    }
    panic!("Tab never reached '{name}'");
}

#[test]
fn the_keypad_reaches_every_control_presses_buttons_and_reads_aloud() {
    let (w, _r) = kiosk();
    let said = Rc::new(RefCell::new(Vec::<String>::new()));
    let heard = said.clone();
    w.global::<Speech>().on_say(move |t| heard.borrow_mut().push(t.to_string()));
    // Any key wakes the attract screen.
    key(&w, "a");
    assert_eq!(w.global::<AppAdapter>().get_page(), Page::Home);
    // F1 reads the page aloud, wherever the keypad is.
    key(&w, slint::platform::Key::F1);
    assert_eq!(said.borrow().len(), 1);
    assert!(said.borrow()[0].starts_with("Chúng tôi có thể giúp gì?"), "{:?}", said.borrow());

    // On every page, Tab goes round every button (and every text field and the map once).
    let pages = [
        ("Tìm địa điểm và đường đi bộ", 1),
        ("Tra cứu hồ sơ", 1),
        ("Phản ánh sự cố trên đường phố", 2),
        ("Lấy số thứ tự", 0),
        ("Gọi cán bộ", 0),
    ];
    let home = tab_round(&w);
    let names: BTreeSet<String> = visible_buttons(&w).into_iter().map(|(l, _)| l).collect();
    let reached: BTreeSet<String> = home.iter().flatten().cloned().collect();
    assert!(names.len() >= 10, "the header's and the home page's buttons: {names:?}");
    assert_eq!(reached, names, "Tab reaches every button on the home page");
    for (page, others) in pages {
        // Tab to the page's button and press Enter, as from a keypad.
        tab_to(&w, page);
        key(&w, slint::platform::Key::Return);
        assert_ne!(w.global::<AppAdapter>().get_page(), Page::Home, "Enter on '{page}'");
        let round = tab_round(&w);
        let names: BTreeSet<String> = visible_buttons(&w).into_iter().map(|(l, _)| l).collect();
        let reached: BTreeSet<String> = round.iter().flatten().filter(|l| *l != "map").cloned().collect();
        assert!(names.len() >= 5, "the header's buttons and the page's: {names:?}");
        assert_eq!(reached, names, "Tab reaches every button on '{page}'");
        let fields =
            round.iter().filter(|k| k.is_none()).count() + round.iter().filter(|k| k.as_deref() == Some("map")).count();
        assert_eq!(fields, others, "the text fields and the map on '{page}': {round:?}");
        // Escape goes home.
        key(&w, slint::platform::Key::Escape);
        assert_eq!(w.global::<AppAdapter>().get_page(), Page::Home);
    }

    // On the complaint page, the arrow keys move the problem's place on the map; Space presses.
    tab_to(&w, "Phản ánh sự cố trên đường phố");
    key(&w, " ");
    let c = w.global::<ComplaintAdapter>();
    let (x, y) = (c.get_point_x(), c.get_point_y());
    tab_to(&w, "map");
    key(&w, slint::platform::Key::RightArrow);
    key(&w, slint::platform::Key::UpArrow);
    assert!(
        (c.get_point_x() - (x + 20.0)).abs() < 0.01 && (c.get_point_y() - (y - 20.0)).abs() < 0.01,
        "moved by the keypad"
    );
    // And with the "still there?" question up, any key answers it.
    mock_elapsed_time(Duration::from_secs(60));
    assert!(w.global::<AppAdapter>().get_asking() > 0);
    key(&w, slint::platform::Key::Escape);
    assert_eq!(w.global::<AppAdapter>().get_asking(), 0);
    assert_eq!(w.global::<AppAdapter>().get_page(), Page::Complaint, "nothing lost");
}

/// What lies outside the window: every named thing on screen (texts and controls) whose box
/// leaves the 1280 × 800 window or has no size, with where it is.
fn off_screen(w: &MainWindow) -> Vec<String> {
    i_slint_backend_testing::ElementQuery::from_root(w)
        .match_descendants()
        .find_all()
        .into_iter()
        .filter(|e| e.accessible_label().is_some_and(|l| !l.is_empty()))
        .filter_map(|e| {
            let (at, size) = (e.absolute_position(), e.size());
            let inside = at.x >= -0.5
                && at.y >= -0.5
                && at.x + size.width <= 1280.5
                && at.y + size.height <= 800.5
                && size.width > 0.0
                && size.height > 0.0;
            (!inside).then(|| format!("{:?} at {at:?} size {size:?}", e.accessible_label().unwrap_or_default()))
        })
        .collect()
}

#[test]
fn large_text_keeps_every_text_and_control_on_the_screen() {
    let (w, _r) = kiosk();
    press(&w, "Chạm để bắt đầu / Touch to start");
    for language in ["vi", "en"] {
        if language == "en" {
            press(&w, "Tiếng Việt / English");
        }
        w.global::<Theme>().set_large_text(true);
        for page in [Page::Home, Page::Dossier, Page::Complaint, Page::Queue, Page::Call, Page::Places] {
            w.global::<AppAdapter>().set_page(page);
            mock_elapsed_time(Duration::from_millis(50));
            assert_eq!(off_screen(&w), Vec::<String>::new(), "{page:?} in {language}, large text");
        }
        // A place's card, with its walk.
        let field = if language == "vi" { "Tên địa điểm" } else { "Name of a place" };
        find(&w, field)
            .unwrap_or_else(|| panic!("no '{field}': {:?}", texts(&w)))
            .set_accessible_value("chua an quang");
        mock_elapsed_time(Duration::from_millis(50));
        let row = texts(&w).into_iter().find(|t| t.starts_with("Chùa Ấn Quang ·")).expect("the place found");
        press(&w, &row);
        assert_eq!(off_screen(&w), Vec::<String>::new(), "a place's card in {language}, large text");
        press(&w, if language == "vi" { "Trở lại danh sách địa điểm" } else { "Back to the places found" });
    }
}
