//! `q10-kiosk`: the street kiosk's program. `run` (the default) opens the kiosk's window; `import-osm` makes
//! the kiosk's map from OpenStreetMap; `route` prints walking directions on it; `bench-route`
//! times route queries; `check-in` checks that the kiosk reaches the core with its machine
//! account.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use q10_core_api::{LoginRequest, Me, Readiness, TokenResponse};
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
    let command = Args::parse().command.unwrap_or(Command::Run {
        map: None,
        at: None,
        core: "http://127.0.0.1:8080".into(),
        idle_seconds: 90,
        warn_seconds: 15,
    });
    match command {
        Command::Run { map, at, core, idle_seconds, warn_seconds } => {
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
            };
            let _running = q10_kiosk::controllers::setup(&window, kiosk);
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
        Command::CheckIn { core, username, password } => check_in(&core, username, password)?,
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
