//! `q10-kiosk`: the street kiosk's program. `run` (the default) opens the kiosk's window; `import-osm` makes
//! the kiosk's map from OpenStreetMap; `route` prints walking directions on it; `bench-route`
//! times route queries; `check-in` checks that the kiosk reaches the core with its machine
//! account.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use q10_core_api::{LoginRequest, Me, Readiness, TokenResponse};
use q10_kiosk::call::Source;
use q10_kiosk::camera::Camera;
use q10_kiosk::controllers::Account;
use q10_kiosk::map::{MapData, Meta};
use q10_kiosk::route::{Router, grid};
use q10_kiosk::search::search;

#[derive(Debug, Parser)]
#[command(name = "q10-kiosk", version, about = "The Q10 street kiosk")]
struct Args {
    /// What to do; `run` with the demo's map unless told.
    #[command(subcommand)]
    command: Option<Command>,
}

/// The kiosk's machine account. Without one, beside a demo core started in this directory, the
/// demo's kiosk account is read from `q10-data/demo-accounts.txt`.
#[derive(Debug, Clone, clap::Args)]
struct AccountArgs {
    #[arg(long, env = "Q10_KIOSK_USERNAME")]
    username: Option<String>,
    /// Its password (prefer the environment variable to the command line).
    #[arg(long, env = "Q10_KIOSK_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Where a demo core keeps its accounts.
    #[arg(long, default_value = "q10-data/demo-accounts.txt")]
    demo_accounts: PathBuf,
}

impl AccountArgs {
    fn account(&self) -> Option<Account> {
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            return Some(Account { username: username.clone(), password: password.clone() });
        }
        // Lines of username, role, unit, password; the first kiosk account.
        let text = std::fs::read_to_string(&self.demo_accounts).ok()?;
        let found = text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 4 && f[1] == "kiosk_device").then(|| Account { username: f[0].into(), password: f[3].into() })
        });
        if let Some(a) = &found {
            eprintln!("signed in as the demo's kiosk account {} (from {})", a.username, self.demo_accounts.display());
        }
        found
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Open the kiosk (full screen on a kiosk; a window elsewhere).
    Run {
        /// The kiosk's map (made by import-osm); the demo's map of District 10 unless given.
        #[arg(long, env = "Q10_KIOSK_MAP")]
        map: Option<PathBuf>,
        /// Where the kiosk stands: longitude,latitude (the middle of the map unless given; on
        /// Đường 3 Tháng 2 on the demo's map).
        #[arg(long, env = "Q10_KIOSK_AT", value_delimiter = ',', allow_negative_numbers = true)]
        at: Option<Vec<f64>>,
        /// Base URL of the core, for e-services.
        #[arg(long, env = "Q10_KIOSK_CORE", default_value = "http://127.0.0.1:8080")]
        core: String,
        /// Seconds without a touch before asking "still there?".
        #[arg(long, default_value_t = 90)]
        idle_seconds: u64,
        /// Seconds the question waits before the screen starts afresh.
        #[arg(long, default_value_t = 15)]
        warn_seconds: u64,
        #[command(flatten)]
        account: AccountArgs,
        /// Fill the screen (as on a kiosk) instead of opening a window.
        #[arg(long, env = "Q10_KIOSK_FULLSCREEN")]
        fullscreen: bool,
        /// Its receipt printer (ESC/POS): tcp://HOST[:PORT] (9100 unless given) or a device such
        /// as /dev/usb/lp0. Without one, the kiosk offers no printing.
        #[arg(long, env = "Q10_KIOSK_PRINTER")]
        printer: Option<q10_kiosk::print::Printer>,
        /// Its camera, for calls and complaints' photos: auto (the first V4L2 camera, if any),
        /// none, a device such as /dev/video0, or test (a moving test picture).
        #[arg(long, env = "Q10_KIOSK_CAMERA", default_value = "auto")]
        camera: Camera,
    },
    /// Print a sample queue ticket, to try the printer; or save it as a PNG picture (`--png`).
    PrintSample {
        /// The printer, as for `run`.
        #[arg(long, env = "Q10_KIOSK_PRINTER", required_unless_present = "png")]
        printer: Option<q10_kiosk::print::Printer>,
        /// Save the slip as it would print, as a PNG picture, instead of printing it.
        #[arg(long)]
        png: Option<PathBuf>,
    },
    /// Call the officer on duty without the interface (to try a kiosk's call path): rings, holds
    /// the call for `--seconds` once answered, and prints what went through it as JSON.
    Call {
        /// Base URL of the core.
        #[arg(long, env = "Q10_KIOSK_CORE", default_value = "http://127.0.0.1:8080")]
        core: String,
        #[command(flatten)]
        account: AccountArgs,
        /// How long to talk once an officer answers.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// How long to ring before giving up.
        #[arg(long, default_value_t = 60)]
        ring_seconds: u64,
        /// Send a 440 Hz tone instead of the microphone.
        #[arg(long)]
        tone: bool,
        /// The camera to send, as for `run`.
        #[arg(long, env = "Q10_KIOSK_CAMERA", default_value = "auto")]
        camera: Camera,
    },
    /// Make the kiosk's map from an OpenStreetMap extract (.osm XML or .osm.pbf).
    ImportOsm {
        file: PathBuf,
        /// The area to keep: west,south,east,north in degrees.
        #[arg(long, value_delimiter = ',', required = true, allow_negative_numbers = true)]
        bbox: Vec<f64>,
        /// Where to write the map.
        #[arg(long)]
        out: PathBuf,
        /// Where the data came from and its licence, kept in the map.
        #[arg(long, default_value = "OpenStreetMap contributors, ODbL 1.0")]
        licence: String,
    },
    /// Walking directions from a point to the place best matching a name.
    Route {
        #[arg(long)]
        map: PathBuf,
        /// Where the walk starts: longitude,latitude.
        #[arg(long, value_delimiter = ',', required = true, allow_negative_numbers = true)]
        from: Vec<f64>,
        /// A place's name, with or without accents.
        to: String,
    },
    /// Save a picture of every page in both languages (and in large text) into a folder: the
    /// window drawn by the software renderer and taken as an operator's screenshot is.
    Screenshots {
        /// Where to write kiosk-PAGE-LANG.png.
        #[arg(long, default_value = "docs/screenshots")]
        out: PathBuf,
    },
    /// Time route queries between random junctions of a map, or of a made-up grid district.
    BenchRoute {
        /// A kiosk's map; `demo` for the demo's District 10.
        #[arg(long)]
        map: Option<PathBuf>,
        /// Junctions along each side of the made-up grid (when no map is given).
        #[arg(long, default_value_t = 100)]
        grid: u32,
        #[arg(long, default_value_t = 2000)]
        queries: usize,
    },
    /// Check that this kiosk can reach the core and log in with its device account.
    CheckIn {
        /// Base URL of the core, e.g. http://127.0.0.1:8080
        #[arg(long, env = "Q10_KIOSK_CORE")]
        core: String,
        /// The kiosk's device account.
        #[arg(long, env = "Q10_KIOSK_USERNAME")]
        username: String,
        /// Its password (prefer the environment variable to the command line).
        #[arg(long, env = "Q10_KIOSK_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

fn main() -> anyhow::Result<()> {
    let command = Args::parse().command.unwrap_or_else(|| Command::Run {
        map: None,
        at: None,
        core: std::env::var("Q10_KIOSK_CORE").unwrap_or_else(|_| "http://127.0.0.1:8080".into()),
        idle_seconds: 90,
        warn_seconds: 15,
        account: AccountArgs {
            username: std::env::var("Q10_KIOSK_USERNAME").ok(),
            password: std::env::var("Q10_KIOSK_PASSWORD").ok(),
            demo_accounts: "q10-data/demo-accounts.txt".into(),
        },
        fullscreen: std::env::var("Q10_KIOSK_FULLSCREEN").is_ok_and(|v| v == "true" || v == "1"),
        printer: std::env::var("Q10_KIOSK_PRINTER").ok().map(|p| p.parse()).transpose().unwrap_or_else(|e| {
            eprintln!("Q10_KIOSK_PRINTER: {e}; the kiosk offers no printing");
            None
        }),
        camera: std::env::var("Q10_KIOSK_CAMERA").map_or(Ok(Camera::Auto), |c| c.parse()).unwrap_or_else(|e| {
            eprintln!("Q10_KIOSK_CAMERA: {e}; the kiosk uses no camera");
            Camera::None
        }),
    });
    match command {
        Command::PrintSample { printer, png } => {
            let slip =
                q10_kiosk::controllers::printing::ticket("UBND Phường 1, Quận 10", 27, 3, 12, "08:30 05/12/2026");
            match (png, printer) {
                (Some(path), _) => q10_kiosk::print::save_png(&q10_kiosk::print::draw(&slip)?, &path)?,
                (None, Some(printer)) => q10_kiosk::print::print(&printer, &slip)?,
                (None, None) => anyhow::bail!("name a printer (--printer) or a picture to save (--png)"),
            }
        }
        Command::Run { map, at, core, idle_seconds, warn_seconds, account, fullscreen, printer, camera } => {
            use slint::ComponentHandle;
            anyhow::ensure!(at.as_ref().is_none_or(|a| a.len() == 2), "--at is longitude,latitude");
            let (map, here) = match &map {
                Some(path) => {
                    let map = MapData::load(path)?;
                    let b = map.meta.bbox;
                    (map, [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0])
                }
                None => (q10_kiosk::demo::map()?, q10_kiosk::demo::KIOSK_AT),
            };
            let here = at.map_or(here, |a| [a[0], a[1]]);
            let map = std::rc::Rc::new(map);
            let window = q10_kiosk::MainWindow::new()?;
            let kiosk = q10_kiosk::controllers::Kiosk {
                map,
                here,
                core: Some(core),
                idle: std::time::Duration::from_secs(idle_seconds),
                warn: std::time::Duration::from_secs(warn_seconds),
                account: account.account(),
                voice: q10_kiosk::call::Source::Microphone,
                printer,
                camera: camera_named(camera),
            };
            let _running = q10_kiosk::controllers::setup(&window, kiosk);
            window.window().set_fullscreen(fullscreen);
            window.run()?;
        }
        Command::ImportOsm { file, bbox, out, licence } => {
            anyhow::ensure!(bbox.len() == 4, "--bbox is west,south,east,north");
            let meta = Meta { source: file.display().to_string(), licence, ..Meta::default() };
            let map = q10_kiosk::osm::import(&file, [bbox[0], bbox[1], bbox[2], bbox[3]], meta)?;
            map.save(&out)?;
            println!(
                "{}: {} junctions, {} street edges, {} named streets, {} shapes, {} places",
                out.display(),
                map.junctions.len(),
                map.edges.len(),
                map.streets.len(),
                map.shapes.len(),
                map.places.len()
            );
        }
        Command::Route { map, from, to } => {
            anyhow::ensure!(from.len() == 2, "--from is longitude,latitude");
            let map = MapData::load(&map)?;
            let place = *search(&map.places, &to, 1).first().with_context(|| format!("no place is called '{to}'"))?;
            let route = Router::new(&map)
                .route(&map, [from[0], from[1]], place.at)
                .with_context(|| format!("no walk reaches {}", place.name))?;
            println!("{}: {:.0} m, about {} min", place.name, route.metres, route.minutes);
            for s in &route.steps {
                println!("  {:?} {} ({:.0} m)", s.turn, s.street.as_deref().unwrap_or("—"), s.metres);
            }
        }
        Command::BenchRoute { map, grid: n, queries } => bench_route(map, n, queries)?,
        Command::Screenshots { out } => screenshots(&out)?,
        Command::CheckIn { core, username, password } => check_in(&core, username, password)?,
        Command::Call { core, account, seconds, ring_seconds, tone, camera } => {
            let account = account.account().context("the kiosk's account: --username and --password")?;
            let source = if tone { Source::Tone } else { Source::Microphone };
            call_now(&core, account, source, camera_named(camera), seconds, ring_seconds)?;
        }
    }
    Ok(())
}

/// Times `queries` routes between junctions spread over the map; prints one JSON line.
fn bench_route(path: Option<PathBuf>, n: u32, queries: usize) -> anyhow::Result<()> {
    let map = match &path {
        Some(p) if p.as_os_str() == "demo" => q10_kiosk::demo::map()?,
        Some(p) => MapData::load(p)?,
        None => grid(n, 80.0),
    };
    anyhow::ensure!(map.junctions.len() >= 2, "the map has no streets");
    let t = Instant::now();
    let router = Router::new(&map);
    let built = t.elapsed();
    // A fixed spread of pairs (a linear congruential walk), the same on every run.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut pick = || {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        map.junctions[(x >> 33) as usize % map.junctions.len()]
    };
    let mut times = Vec::with_capacity(queries);
    let mut metres = 0.0;
    for _ in 0..queries {
        let (a, b) = (pick(), pick());
        let t = Instant::now();
        let r = router.route(&map, a, b);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        metres += r.map_or(0.0, |r| r.metres);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{}",
        serde_json::json!({
            "map": path.map_or(format!("grid {n}x{n}, 80 m blocks"), |p| p.display().to_string()),
            "junctions": map.junctions.len(),
            "edges": map.edges.len(),
            "router_build_ms": built.as_secs_f64() * 1e3,
            "queries": queries,
            "mean_walk_m": metres / queries as f64,
            "route_ms_p50": at(0.5),
            "route_ms_p95": at(0.95),
            "route_ms_max": at(1.0),
        })
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn check_in(core: &str, username: String, password: String) -> anyhow::Result<()> {
    let base = core.trim_end_matches('/');
    let http = reqwest::Client::new();
    let ready: Readiness =
        http.get(format!("{base}/readyz")).send().await.context("the core does not answer")?.json().await?;
    anyhow::ensure!(ready.ready, "the core is not ready: {:?}", ready.checks);
    let login = LoginRequest { username, password };
    let res = http.post(format!("{base}/api/v1/auth/token")).json(&login).send().await?;
    anyhow::ensure!(res.status().is_success(), "login refused: {}", res.text().await.unwrap_or_default());
    let token: TokenResponse = res.json().await?;
    let me: Me = http.get(format!("{base}/api/v1/me")).bearer_auth(&token.access_token).send().await?.json().await?;
    let grants: Vec<String> = me.grants.iter().map(|g| format!("{}@{}", g.role, g.jurisdiction)).collect();
    println!("checked in as {} ({}), token valid until {}", me.username, grants.join(", "), token.expires_at);
    Ok(())
}

/// The camera asked for, `auto` resolved; says which one the kiosk uses.
fn camera_named(camera: Camera) -> Camera {
    let camera = camera.resolve();
    match &camera {
        Camera::None => eprintln!("no camera: calls carry the kiosk's voice only"),
        Camera::Device(path) => eprintln!("camera: {}", path.display()),
        Camera::Test => eprintln!("camera: the test picture"),
        Camera::Auto => {}
    }
    camera
}

/// Calls the officer on duty and prints the call's events and summary as JSON lines.
#[tokio::main]
async fn call_now(
    core: &str,
    account: Account,
    source: Source,
    camera: Camera,
    seconds: u64,
    ring_seconds: u64,
) -> anyhow::Result<()> {
    use q10_kiosk::call::{self, Event};
    let core = core.trim_end_matches('/').to_string();
    let http = reqwest::Client::new();
    let login = LoginRequest { username: account.username, password: account.password };
    let res = http.post(format!("{core}/api/v1/auth/token")).json(&login).send().await?;
    anyhow::ensure!(res.status().is_success(), "login refused ({})", res.status());
    let token = res.json::<TokenResponse>().await?.access_token;
    let (hang_up, rx) = tokio::sync::watch::channel(false);
    let talk_for = std::time::Duration::from_secs(seconds);
    let mut pictures = 0u64;
    let events = move |e: Event| {
        let line = match &e {
            Event::Ringing { call } => serde_json::json!({ "event": "ringing", "call": call }),
            Event::Sound { microphone } => serde_json::json!({ "event": "sound", "microphone": microphone }),
            Event::Answered { officer } => {
                let hang_up = hang_up.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(talk_for).await;
                    let _ = hang_up.send(true);
                });
                serde_json::json!({ "event": "answered", "officer": officer })
            }
            // The first picture, then one line in a hundred.
            Event::Picture(p) => {
                pictures += 1;
                if pictures % 100 != 1 {
                    return;
                }
                serde_json::json!({ "event": "picture", "width": p.width, "height": p.height })
            }
            Event::Ended(end) => serde_json::json!({ "event": "ended", "why": format!("{end:?}") }),
        };
        println!("{line}");
    };
    let o = call::Options { core, token, source, camera, ring_for: std::time::Duration::from_secs(ring_seconds) };
    let summary = call::run(&o, events, rx).await?;
    println!("{}", serde_json::json!({ "event": "summary", "summary": summary }));
    Ok(())
}

/// Opens the kiosk on the demo's map without a core and photographs each page in Vietnamese and
/// English, and the home page in large text, one after the other on the interface's timer.
fn screenshots(out: &std::path::Path) -> anyhow::Result<()> {
    use q10_kiosk::{AppAdapter, Page, PlacesAdapter, Theme};
    use slint::ComponentHandle;
    std::fs::create_dir_all(out)?;
    let window = q10_kiosk::MainWindow::new()?;
    let kiosk = q10_kiosk::controllers::Kiosk {
        map: std::rc::Rc::new(q10_kiosk::demo::map()?),
        here: q10_kiosk::demo::KIOSK_AT,
        core: None,
        idle: std::time::Duration::from_secs(3600),
        warn: std::time::Duration::from_secs(15),
        account: None,
        voice: Source::Microphone,
        printer: None,
        // As a kiosk with a camera shows its pages (the complaint page's photo button).
        camera: Camera::Test,
    };
    let _running = q10_kiosk::controllers::setup(&window, kiosk);
    window.window().set_size(slint::PhysicalSize::new(1280, 800));
    let pages = [
        (Page::Attract, "attract"),
        (Page::Home, "home"),
        (Page::Places, "places"),
        (Page::Dossier, "dossier"),
        (Page::Complaint, "complaint"),
        (Page::Call, "call"),
        (Page::Queue, "queue"),
    ];
    let mut shots: Vec<(String, &'static str, Option<Page>, bool)> = Vec::new();
    for lang in ["vi", "en"] {
        for (page, name) in pages {
            shots.push((format!("kiosk-{name}-{lang}.png"), lang, Some(page), false));
        }
    }
    shots.push(("kiosk-home-large-vi.png".into(), "vi", Some(Page::Home), true));
    let shots = std::rc::Rc::new(std::cell::RefCell::new(shots.into_iter()));
    let failed = std::rc::Rc::new(std::cell::RefCell::new(None::<anyhow::Error>));
    let (w, out_dir, fail) = (window.as_weak(), out.to_path_buf(), failed.clone());
    // Each step takes the picture the last one set up, then sets up the next.
    let pending = std::rc::Rc::new(std::cell::RefCell::new(None::<String>));
    let timer = slint::Timer::default();
    timer.start(slint::TimerMode::Repeated, std::time::Duration::from_millis(400), move || {
        let Some(w) = w.upgrade() else { return };
        if let Some(file) = pending.borrow_mut().take() {
            match q10_kiosk::controllers::fleet::screenshot(&w) {
                Ok(png) => {
                    if let Err(e) = std::fs::write(out_dir.join(&file), png) {
                        *fail.borrow_mut() = Some(e.into());
                    }
                    println!("{}", out_dir.join(&file).display());
                }
                Err(e) => *fail.borrow_mut() = Some(e),
            }
        }
        let Some((file, lang, page, large)) = shots.borrow_mut().next() else {
            let _ = slint::quit_event_loop();
            return;
        };
        q10_kiosk::controllers::app::set_language(&w, lang);
        w.global::<Theme>().set_large_text(large);
        if let Some(page) = page {
            w.global::<AppAdapter>().set_page(page);
        }
        if page == Some(Page::Places) {
            let places = w.global::<PlacesAdapter>();
            places.invoke_search("benh vien 115".into());
            places.invoke_choose(0);
        }
        *pending.borrow_mut() = Some(file);
    });
    window.show()?;
    slint::run_event_loop()?;
    window.hide()?;
    match failed.borrow_mut().take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
