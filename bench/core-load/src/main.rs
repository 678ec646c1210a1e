//! Loads a core database with a year of complaints (a million by default) through the import
//! path, serves it on loopback, and measures what the dashboard and the citizens feel: the time of
//! each dashboard query, and the latency and rate of filing new complaints. Prints a table and a
//! JSON line. Fails only if it cannot run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use q10_core::complaint::import::{self, Historic};
use q10_core::store::Store;
use q10_core_api::{ComplaintStatus, Role};
use q10_tests::Server;
use rand::Rng;
use serde_json::{Value, json};
use time::OffsetDateTime;

#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// The database: `postgres://…` (an empty database), or a SQLite file path [default: a new
    /// SQLite file in a temporary directory].
    #[arg(long)]
    database: Option<String>,
    /// Complaints to load, spread over the last 365 days.
    #[arg(long, default_value_t = 1_000_000)]
    complaints: usize,
    /// Times each dashboard query is run.
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// New complaints filed one after another, then again from `concurrency` clients at once.
    #[arg(long, default_value_t = 2000)]
    filings: usize,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Keep the database afterwards, and load only what it lacks of `complaints` (to measure a
    /// change of the queries without loading again).
    #[arg(long)]
    keep: bool,
}

/// Categories with their SLA (hours), as the migration ships them.
const CATEGORIES: [(&str, i64); 7] = [
    ("sidewalk", 72),
    ("construction", 120),
    ("garbage", 24),
    ("noise", 24),
    ("lighting", 48),
    ("flooding", 12),
    ("other", 120),
];

struct Ward {
    id: i64,
    code: String,
    /// (lat_min, lat_max, lon_min, lon_max) of its boundary.
    bbox: (f64, f64, f64, f64),
}

fn bbox(geojson: &str) -> Option<(f64, f64, f64, f64)> {
    let v: Value = serde_json::from_str(geojson).ok()?;
    let mut b = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    fn walk(v: &Value, b: &mut (f64, f64, f64, f64)) {
        match v.as_array() {
            Some(a) if a.len() == 2 && a[0].is_f64() => {
                let (lon, lat) = (a[0].as_f64().unwrap_or(0.0), a[1].as_f64().unwrap_or(0.0));
                *b = (b.0.min(lat), b.1.max(lat), b.2.min(lon), b.3.max(lon));
            }
            Some(a) => a.iter().for_each(|x| walk(x, b)),
            None => {}
        }
    }
    walk(&v["coordinates"], &mut b);
    (b.0 < b.1).then_some(b)
}

fn point_in(w: &Ward, rng: &mut impl Rng) -> (f64, f64) {
    let (a, b, c, d) = w.bbox;
    // Keep clear of the edges so the point falls inside the ward's polygon.
    let pad_lat = (b - a) * 0.1;
    let pad_lon = (d - c) * 0.1;
    (rng.random_range(a + pad_lat..b - pad_lat), rng.random_range(c + pad_lon..d - pad_lon))
}

/// The `i`-th of `n` complaints, filed in order over the last year, as an earlier system would
/// export them.
fn historic(wards: &[Ward], now: OffsetDateTime, i: usize, n: usize, rng: &mut impl Rng) -> Historic {
    let w = &wards[rng.random_range(0..wards.len())];
    let (category, sla) = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
    let year = 365 * 86_400_i64;
    let at = year - (year as f64 * i as f64 / n as f64) as i64;
    let submitted_at = now - time::Duration::seconds(at.max(60));
    let due_at = submitted_at + time::Duration::hours(sla);
    // Most are resolved, within about their SLA; the last days' are still partly open.
    let age = now - submitted_at;
    let still_open = age < time::Duration::days(3) && rng.random_bool(0.5) || rng.random_bool(0.01);
    let took = time::Duration::seconds((rng.random::<f64>().max(1e-9).ln() * -(sla as f64) * 0.7 * 3600.0) as i64 + 60);
    let resolved_at = (!still_open && submitted_at + took < now).then_some(submitted_at + took);
    let status = match (resolved_at, rng.random_range(0..100)) {
        (None, n) if n < 30 => ComplaintStatus::Submitted,
        (None, n) if n < 70 => ComplaintStatus::Assigned,
        (None, _) => ComplaintStatus::InProgress,
        (Some(_), n) if n < 80 => ComplaintStatus::Closed,
        (Some(_), n) if n < 90 => ComplaintStatus::Fixed,
        (Some(_), n) if n < 95 => ComplaintStatus::Duplicate,
        (Some(_), _) => ComplaintStatus::NotOurResponsibility,
    };
    let rating = (status == ComplaintStatus::Closed && rng.random_bool(0.4))
        .then(|| (rng.random_range(1..=5), resolved_at.unwrap_or(now).min(now)));
    Historic {
        category: category.to_string(),
        description: "Phản ánh từ hệ thống cũ".to_string(),
        point: Some(point_in(w, rng)),
        address: None,
        ward_id: Some(w.id),
        team: "Tổ xử lý".to_string(),
        status,
        submitted_at,
        due_at,
        resolved_at,
        rating,
    }
}

/// Percentiles of durations, in milliseconds: (p50, p99, max).
fn summary(mut d: Vec<Duration>) -> (f64, f64, f64) {
    d.sort();
    let at = |q: f64| d[((d.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99), at(1.0))
}

async fn token(http: &reqwest::Client, base: &str, user: &str, password: &str) -> anyhow::Result<String> {
    let v: Value = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(v["access_token"].as_str().context("a token")?.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = match (&args.database, args.keep) {
        (Some(path), true) if !path.starts_with("postgres") => {
            std::path::Path::new(path).parent().context("the database file's directory")?.to_path_buf()
        }
        // Kept PostgreSQL databases keep their demo passwords here between runs.
        (Some(_), true) => std::env::temp_dir().join("q10-core-load-kept"),
        _ => std::env::temp_dir().join(format!("q10-core-load-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let url = match &args.database {
        Some(u) if u.starts_with("postgres") => u.clone(),
        Some(path) => format!("sqlite://{path}"),
        None => format!("sqlite://{}", dir.join("q10.db").display()),
    };
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    let engine = format!("{:?}", store.backend()).to_lowercase();
    let keys = q10_tests::test_secrets();
    let now = OffsetDateTime::now_utc();
    let accounts = q10_core::demo::load(&store, &keys.audit, &dir, now).await?;
    let today = q10_core::complaint::stats::local_day(now);
    let wards: Vec<Ward> = store
        .jurisdictions_at(today, Some("ward"))
        .await?
        .into_iter()
        .filter_map(|j| Some(Ward { id: j.id, code: j.code, bbox: bbox(j.boundary.as_deref()?)? }))
        .collect();
    anyhow::ensure!(!wards.is_empty(), "the demo wards have no boundaries");

    eprintln!("{engine}: loading {} complaints…", args.complaints);
    let started = Instant::now();
    let mut rng = rand::rng();
    let mut loaded = usize::try_from(store.count_complaints().await?).unwrap_or(0);
    while loaded < args.complaints {
        let n = (args.complaints - loaded).min(5000);
        let batch: Vec<Historic> =
            (loaded..loaded + n).map(|i| historic(&wards, now, i, args.complaints, &mut rng)).collect();
        loaded += import::import(&store, &batch, now).await?;
    }
    let load_secs = started.elapsed().as_secs_f64();
    store.after_bulk_import().await?;
    eprintln!("{engine}: loaded in {load_secs:.1} s ({:.0} rows/s)", loaded as f64 / load_secs);

    let server = Server::start(store.clone()).await;
    let base = server.url("");
    let http = reqwest::Client::new();
    let password =
        |role: Role| accounts.iter().find(|a| a.role == role).map(|a| (a.username.clone(), a.password.clone()));
    let (du, dp) = password(Role::DistrictOfficial).context("the demo district official")?;
    let (wu, wp) = password(Role::WardOfficial).context("the demo ward official")?;
    let district = token(&http, &base, &du, &dp).await?;
    let ward = token(&http, &base, &wu, &wp).await?;
    let year_ago = today - time::Duration::days(364);
    let month_ago = now - time::Duration::days(30);
    let since = month_ago.format(&time::format_description::well_known::Rfc3339)?;
    let (lat, lon) = point_in(&wards[0], &mut rng);
    let queries: Vec<(&str, String, &str)> = vec![
        ("kpis, district, last 30 days", "/api/v1/dashboard/kpis".into(), &district),
        ("kpis, district, last 365 days", format!("/api/v1/dashboard/kpis?from={year_ago}"), &district),
        ("kpis, one ward, last 365 days", format!("/api/v1/dashboard/kpis?from={year_ago}"), &ward),
        (
            "map layer, last 30 days (2,000 newest)",
            format!("/api/v1/dashboard/complaints.geojson?since={}", since.replace('+', "%2B")),
            &district,
        ),
        ("handlers' queue, open, first page", "/api/v1/complaints?open=true".into(), &district),
        (
            "duplicate check before filing",
            format!("/api/v1/complaints/nearby?category=garbage&lat={lat}&lon={lon}"),
            "",
        ),
        ("Open311 requests, last 90 days (1,000)", "/open311/v2/requests.json".into(), ""),
    ];
    let mut results = Vec::new();
    println!("\n{engine}, {} complaints loaded", loaded);
    println!("{:<42} {:>9} {:>9} {:>9}", "query", "p50 ms", "p99 ms", "max ms");
    for (name, path, tok) in &queries {
        let mut times = Vec::with_capacity(args.runs);
        // Three untimed runs first: a dashboard is asked again and again, so its steady state is
        // what counts, not the first statement preparation.
        for run in 0..args.runs + 3 {
            let mut req = http.get(format!("{base}{path}"));
            if !tok.is_empty() {
                req = req.bearer_auth(tok);
            }
            let t = Instant::now();
            let res = req.send().await?;
            anyhow::ensure!(res.status().is_success(), "{name}: {}", res.status());
            res.bytes().await?;
            if run >= 3 {
                times.push(t.elapsed());
            }
        }
        let (p50, p99, max) = summary(times);
        println!("{name:<42} {p50:>9.2} {p99:>9.2} {max:>9.2}");
        results.push(json!({ "query": name, "p50_ms": p50, "p99_ms": p99, "max_ms": max }));
    }

    // Filing: one client, then `concurrency` clients.
    let wards = Arc::new(wards);
    let file = |http: reqwest::Client, base: String, wards: Arc<Vec<Ward>>| async move {
        let (body, ward) = {
            let mut rng = rand::rng();
            let w = &wards[rng.random_range(0..wards.len())];
            let (lat, lon) = point_in(w, &mut rng);
            let (category, _) = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
            (json!({ "category": category, "description": "Phản ánh thử tải", "lat": lat, "lon": lon }), w.code.clone())
        };
        let t = Instant::now();
        let res = http.post(format!("{base}/api/v1/complaints")).json(&body).send().await?;
        anyhow::ensure!(res.status() == reqwest::StatusCode::CREATED, "filing: {}", res.status());
        let receipt: Value = res.json().await?;
        anyhow::ensure!(receipt["ward"] == ward.as_str(), "routed to {} instead of {ward}", receipt["ward"]);
        anyhow::Ok(t.elapsed())
    };
    println!("\n{:<42} {:>9} {:>9} {:>9} {:>10}", "filing", "p50 ms", "p99 ms", "max ms", "per second");
    for clients in [1, args.concurrency] {
        let started = Instant::now();
        let per = args.filings / clients;
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (http, base, wards) = (http.clone(), base.clone(), wards.clone());
                tokio::spawn(async move {
                    let mut times = Vec::with_capacity(per);
                    for _ in 0..per {
                        times.push(file(http.clone(), base.clone(), wards.clone()).await?);
                    }
                    anyhow::Ok(times)
                })
            })
            .collect();
        let mut times = Vec::new();
        for t in futures_util::future::join_all(tasks).await {
            times.extend(t??);
        }
        let rate = times.len() as f64 / started.elapsed().as_secs_f64();
        let (p50, p99, max) = summary(times);
        let name = format!("{clients} client(s), {} filings", per * clients);
        println!("{name:<42} {p50:>9.2} {p99:>9.2} {max:>9.2} {rate:>10.0}");
        results.push(
            json!({ "filing_clients": clients, "p50_ms": p50, "p99_ms": p99, "max_ms": max, "per_second": rate }),
        );
    }
    println!("{}", json!({ "engine": engine, "complaints": loaded, "load_seconds": load_secs, "results": results }));
    store.close().await;
    if !args.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
