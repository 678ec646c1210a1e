//! The kiosk as one of a fleet: every 30 s it tells the core how it is (version, uptime, its
//! printer's state as the printer tells it, network) and takes back the settings the operators
//! gave it (idle time, languages, where it stands); when an operator asks, it sends a screenshot
//! of what it shows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use q10_core_api::{KioskConfig, KioskHeartbeat, PrinterState};
use slint::ComponentHandle;

use super::net::{Session, client};
use crate::MainWindow;
use crate::print::Printer;

/// How often the kiosk reports.
pub const EVERY: Duration = Duration::from_secs(30);

/// What the settings change, applied on the interface's thread.
pub type Apply = Box<dyn Fn(&MainWindow, &KioskConfig)>;

/// Starts the heartbeat (from the interface's thread); `apply` takes each answer's settings there.
pub fn setup(window: &MainWindow, session: Arc<Session>, printer: Option<Printer>, apply: Apply) {
    APPLY.with(|a| *a.borrow_mut() = Some(apply));
    let started = Instant::now();
    let w = window.as_weak();
    let spawned = std::thread::Builder::new().name("heartbeat".into()).spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => return eprintln!("cannot start the heartbeat: {e}"),
        };
        rt.block_on(async move {
            let Ok(http) = client() else { return };
            let mut tick = tokio::time::interval(EVERY);
            loop {
                tick.tick().await;
                let printer = match printer.clone() {
                    Some(p) => tokio::task::spawn_blocking(move || crate::print::state(&p))
                        .await
                        .unwrap_or(PrinterState::Offline),
                    None => PrinterState::None,
                };
                let beat = KioskHeartbeat {
                    version: env!("CARGO_PKG_VERSION").into(),
                    uptime_seconds: started.elapsed().as_secs(),
                    printer,
                    network: network(),
                };
                match heartbeat(&http, &session, &beat).await {
                    Ok(config) => {
                        let shot = config.screenshot_requested;
                        let (w, session) = (w.clone(), session.clone());
                        let sent = slint::invoke_from_event_loop(move || {
                            let Some(window) = w.upgrade() else { return };
                            APPLY.with(|a| {
                                if let Some(apply) = a.borrow().as_ref() {
                                    apply(&window, &config);
                                }
                            });
                            if shot {
                                send_screenshot(&window, session);
                            }
                        });
                        if sent.is_err() {
                            return; // The window is gone.
                        }
                    }
                    Err(e) => eprintln!("heartbeat: {e}"),
                }
            }
        });
    });
    if let Err(e) = spawned {
        eprintln!("cannot start the heartbeat: {e}");
    }
}

// What the settings change lives on the interface's thread, where the answers are applied.
thread_local! {
    static APPLY: std::cell::RefCell<Option<Apply>> = const { std::cell::RefCell::new(None) };
}

async fn heartbeat(http: &reqwest::Client, session: &Session, beat: &KioskHeartbeat) -> anyhow::Result<KioskConfig> {
    for _ in 0..2 {
        let token = session.token(http).await?;
        let res =
            http.post(format!("{}/api/v1/kiosk/heartbeat", session.core)).bearer_auth(token).json(beat).send().await?;
        if res.status() == reqwest::StatusCode::UNAUTHORIZED {
            session.forget();
            continue;
        }
        anyhow::ensure!(res.status().is_success(), "the core answered {}", res.status());
        return Ok(res.json().await?);
    }
    anyhow::bail!("the core does not take the kiosk's login")
}

/// The window as it is now, as a PNG.
pub fn screenshot(window: &MainWindow) -> anyhow::Result<Vec<u8>> {
    let shot = window.window().take_snapshot()?;
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, shot.width(), shot.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(shot.as_bytes())?;
    Ok(png)
}

fn send_screenshot(window: &MainWindow, session: Arc<Session>) {
    let png = match screenshot(window) {
        Ok(png) => png,
        Err(e) => return eprintln!("cannot take a screenshot: {e}"),
    };
    super::net::on_thread(
        move || async move {
            let http = client()?;
            let token = session.token(&http).await?;
            let res = http
                .put(format!("{}/api/v1/kiosk/screenshot", session.core))
                .bearer_auth(token)
                .header(reqwest::header::CONTENT_TYPE, "image/png")
                .body(png)
                .send()
                .await?;
            anyhow::ensure!(res.status().is_success(), "the core refused the screenshot ({})", res.status());
            Ok::<_, anyhow::Error>(())
        },
        |sent| {
            if let Err(e) = sent {
                eprintln!("screenshot: {e}");
            }
        },
    );
}

/// How the kiosk is connected: the interface its default route leaves by (Linux), else
/// "unknown".
fn network() -> String {
    let Ok(routes) = std::fs::read_to_string("/proc/net/route") else { return "unknown".into() };
    routes
        .lines()
        .skip(1)
        .find_map(|l| {
            let mut f = l.split_whitespace();
            let iface = f.next()?;
            (f.next()? == "00000000").then(|| iface.to_string())
        })
        .map(|iface| if iface.starts_with('w') { format!("wifi ({iface})") } else { format!("wired ({iface})") })
        .unwrap_or_else(|| "no default route".into())
}
