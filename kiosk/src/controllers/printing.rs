//! Printing a page's slip: the queue ticket taken, or the receipt of a fee just paid. Slips are in
//! Vietnamese and English, for whoever takes them, and are printed off the interface's thread.

use slint::ComponentHandle;
use time::OffsetDateTime;
use time::macros::{format_description, offset};

use crate::print::{Line, Printer};
use crate::{DossierAdapter, MainWindow, PrintAdapter, QueueAdapter};

/// When, in Vietnam's time, as slips show it.
fn now() -> String {
    let at = OffsetDateTime::now_utc().to_offset(offset!(+7));
    at.format(format_description!("[hour]:[minute] [day]/[month]/[year]")).unwrap_or_default()
}

/// A queue ticket's slip.
pub fn ticket(office: &str, number: i32, ahead: i32, minutes: i32, at: &str) -> Vec<Line> {
    vec![
        Line::Title(office.to_string()),
        Line::Text("Số thứ tự · Queue number".into()),
        Line::Huge(number.to_string()),
        Line::Text(format!("Trước bạn {ahead} người, khoảng {minutes} phút.")),
        Line::Text(format!("{ahead} people before you, about {minutes} minutes.")),
        Line::Rule,
        Line::Text("Màn hình của phòng tiếp dân sẽ gọi số của bạn.".into()),
        Line::Text("The office's screen calls your number.".into()),
        Line::Text(at.to_string()),
    ]
}

/// A paid fee's receipt.
pub fn receipt(dossier: &str, procedure: &str, fee: &str, number: i32, reference: &str, at: &str) -> Vec<Line> {
    let mut lines = vec![
        Line::Title("Biên nhận thanh toán · Payment receipt".into()),
        Line::Text(procedure.to_string()),
        Line::Rule,
        Line::Text(format!("Hồ sơ · Dossier: {dossier}")),
        Line::Text(format!("Lệ phí · Fee: {fee}")),
        Line::Text(format!("Số biên nhận · Receipt: {number}")),
    ];
    if !reference.is_empty() {
        lines.push(Line::Text(format!("Mã giao dịch · Reference: {reference}")));
    }
    lines.extend([
        Line::Gap,
        Line::Text("Đã thanh toán bằng mã VietQR · Paid by VietQR".into()),
        Line::Text(at.to_string()),
    ]);
    lines
}

/// Prints `lines` on a thread of its own; the page says how it went.
fn print(window: &MainWindow, printer: &Printer, lines: Vec<Line>) {
    let a = window.global::<PrintAdapter>();
    if a.get_state() == 1 {
        return;
    }
    a.set_state(1);
    let (w, printer) = (window.as_weak(), printer.clone());
    std::thread::spawn(move || {
        let done = crate::print::print(&printer, &lines);
        if let Err(e) = &done {
            eprintln!("printing: {e:#}");
        }
        let _ = w.upgrade_in_event_loop(move |win| {
            let a = win.global::<PrintAdapter>();
            // The session may have been wiped meanwhile; only a slip still shown gets its answer.
            if a.get_state() == 1 {
                a.set_state(if done.is_ok() { 2 } else { 3 });
            }
        });
    });
}

pub fn setup(window: &MainWindow, printer: Option<Printer>) {
    let a = window.global::<PrintAdapter>();
    a.set_available(printer.is_some());
    a.set_state(0);
    let Some(printer) = printer else { return };
    let (w, p) = (window.as_weak(), printer.clone());
    a.on_ticket(move || {
        let Some(win) = w.upgrade() else { return };
        let q = win.global::<QueueAdapter>();
        let lines = ticket(&q.get_office(), q.get_number(), q.get_ahead(), q.get_minutes(), &now());
        print(&win, &p, lines);
    });
    let w = window.as_weak();
    a.on_receipt(move || {
        let Some(win) = w.upgrade() else { return };
        let d = win.global::<DossierAdapter>();
        let lines = receipt(
            &d.get_found(),
            &d.get_procedure(),
            &d.get_fee_text(),
            d.get_receipt_number(),
            &d.get_payment_reference(),
            &now(),
        );
        print(&win, &printer, lines);
    });
}
