//! What the kiosk's tests against a real core share: `q10 serve --demo` on a free port, the
//! interface's event loop run until the core's answers are handled, controls found by name.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use i_slint_backend_testing::{ElementHandle, mock_elapsed_time};
use q10_kiosk::MainWindow;

pub const BIN: &str = env!("CARGO_BIN_EXE_q10");

/// `q10 serve --demo` on a free port, killed when dropped.
pub struct Serving {
    child: Child,
    pub base: String,
    pub operator_password: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// The child moves into `Serving`, whose `Drop` kills and waits for it.
#[allow(clippy::zombie_processes)]
pub fn serve(data: &std::path::Path) -> Serving {
    // A port of its own rather than 0: the bank simulator calls the core back at its address.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(BIN)
        .args(["serve", "--demo", "--http", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .env_remove("Q10_CONFIG")
        .env("Q10_SFU__UDP", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("q10 serve starts");
    let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut operator_password = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap_or(0) == 0 || Instant::now() > deadline {
            let _ = child.kill();
            panic!("q10 serve exited or stalled before ready");
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"operator") && words.len() == 4 {
            operator_password = words[3].to_string();
        }
        if let Some(url) = line.trim().strip_prefix("Q10 is ready at ") {
            // Whatever it prints later goes nowhere.
            std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
            return Serving { child, base: url.trim_end_matches('/').to_string(), operator_password };
        }
    }
}

/// Runs the interface's event loop for a moment: what came back from the core is handled.
pub fn pump() {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(50));
        let _ = slint::quit_event_loop();
    });
    slint::run_event_loop().unwrap();
}

/// Runs the interface's event loop until `done` holds (the core's answers arrive through it).
pub fn settle(w: &MainWindow, what: &str, done: impl Fn(&MainWindow) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(w) {
        assert!(Instant::now() < deadline, "waited 20 s for {what}");
        pump();
    }
}

pub fn find(w: &MainWindow, label: &str) -> ElementHandle {
    ElementHandle::find_by_accessible_label(w, label).next().unwrap_or_else(|| {
        let shown: Vec<String> = i_slint_backend_testing::ElementQuery::from_root(w)
            .match_descendants()
            .find_all()
            .into_iter()
            .filter_map(|e| e.accessible_label().map(|l| l.to_string()))
            .filter(|l| !l.is_empty())
            .collect();
        panic!("no control named '{label}' among {shown:?}")
    })
}

pub fn press(w: &MainWindow, label: &str) {
    find(w, label).invoke_accessible_default_action();
    mock_elapsed_time(Duration::from_millis(50));
}

/// A receipt printer on loopback, taking ESC/POS over TCP as network printers do: it says its
/// paper is in when asked, and keeps what each connection sent.
pub struct FakePrinter {
    pub address: String,
    sent: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl FakePrinter {
    pub fn start() -> FakePrinter {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = sent.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let keep = keep.clone();
                std::thread::spawn(move || {
                    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let (mut got, mut buf, mut answered) = (Vec::new(), [0u8; 4096], false);
                    while let Ok(n) = conn.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        got.extend_from_slice(&buf[..n]);
                        if !answered && got.windows(3).any(|w| w == [0x10, 0x04, 0x04]) {
                            // The paper-roll sensor: paper present.
                            let _ = conn.write_all(&[0b0001_0010]);
                            answered = true;
                        }
                    }
                    keep.lock().unwrap().push(got);
                });
            }
        });
        FakePrinter { address, sent }
    }

    /// What was printed: the connections that sent a picture.
    pub fn printed(&self) -> Vec<Vec<u8>> {
        let sent = self.sent.lock().unwrap();
        sent.iter().filter(|job| job.windows(3).any(|w| w == [0x1d, b'v', b'0'])).cloned().collect()
    }
}
