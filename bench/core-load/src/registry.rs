//! Loads the civil-status registry through its HTTP import (a million birth records by default,
//! in books of a hundred thousand), then measures searches over them: unaccented full names,
//! near spellings, partial names, parents, ID numbers and date ranges. Prints a table and a JSON
//! line. Goal: a book of 100,000 rows imports in under a minute. Fails only if it cannot run.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use q10_core::store::Store;
use q10_core_api::Role;
use q10_tests::Server;
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};
use time::OffsetDateTime;

#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// The database: `postgres://…` (an empty database), or a SQLite file path [default: a new
    /// SQLite file in a temporary directory].
    #[arg(long)]
    database: Option<String>,
    /// Records to load in all.
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// Rows per book (one CSV file each).
    #[arg(long, default_value_t = 100_000)]
    per_book: usize,
    /// Times each search is run.
    #[arg(long, default_value_t = 30)]
    runs: usize,
}

const FAMILY: [&str; 16] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương",
    "Lý",
];
const MIDDLE: [&str; 12] = ["Văn", "Thị", "Minh", "Ngọc", "Thanh", "Gia", "Hữu", "Đức", "Quốc", "Thu", "Anh", "Kim"];
const GIVEN: [&str; 48] = [
    "An", "Bình", "Cường", "Dũng", "Hoa", "Hùng", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Quân", "Sơn",
    "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến", "Khôi", "Huy", "Hưng", "Nhi", "My", "Châu", "Đạt", "Hải", "Hiếu",
    "Kiên", "Lộc", "Nhung", "Oanh", "Phong", "Quyên", "Sang", "Tài", "Thành", "Trí", "Uyên", "Vinh", "Xuân", "Khánh",
    "Duy", "Hạnh", "Thư", "Tú",
];
const PLACES: [&str; 6] = [
    "Bệnh viện Hùng Vương",
    "Bệnh viện Từ Dũ",
    "Bệnh viện Nhân dân 115",
    "Trạm Y tế Phường 1",
    "Tại nhà",
    "Bệnh viện Quận 10",
];

fn name(rng: &mut impl Rng) -> String {
    format!("{} {} {}", FAMILY.choose(rng).unwrap(), MIDDLE.choose(rng).unwrap(), GIVEN.choose(rng).unwrap())
}

const HEADER: &str = "page,entry,registered_on,child_name,sex,birth_date,birth_place,native_place,ethnicity,nationality,id_number,father_name,father_birth_year,father_ethnicity,father_nationality,father_residence,mother_name,mother_birth_year,mother_ethnicity,mother_nationality,mother_residence";

/// A book's CSV: `rows` births of `year`; every tenth has an ID number.
fn book(year: i32, rows: usize, rng: &mut impl Rng) -> String {
    let mut csv = String::with_capacity(rows * 260);
    csv.push_str(HEADER);
    csv.push('\n');
    for i in 0..rows {
        let day = 1 + (i * 365 / rows.max(1)) as i64;
        let born = time::Date::from_ordinal_date(year, day.min(365) as u16).unwrap();
        let registered = born + time::Duration::days(5);
        let id = if i % 10 == 0 {
            format!("079{}{:08}", if year >= 2000 { 2 } else { 0 }, rng.random_range(0..100_000_000u32))
        } else {
            String::new()
        };
        // Keep the ID's century digit and birth year consistent enough for a well-formed number.
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},TP. Hồ Chí Minh,Kinh,Việt Nam,{},{},{},Kinh,Việt Nam,{} Đường 3/2,{},{},Kinh,Việt Nam,{} Đường 3/2\n",
            i / 20 + 1,
            i + 1,
            registered,
            name(rng),
            if rng.random_bool(0.5) { "male" } else { "female" },
            born,
            PLACES.choose(rng).unwrap(),
            id,
            name(rng),
            year - rng.random_range(22..40),
            rng.random_range(1..300),
            name(rng),
            year - rng.random_range(20..38),
            rng.random_range(1..300),
        ));
    }
    csv
}

fn summary(mut d: Vec<Duration>) -> (f64, f64) {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    (ms(d[d.len() / 2]), ms(d[(d.len() * 99 / 100).min(d.len() - 1)]))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("q10-registry-load-{}", std::process::id()));
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
    let accounts = q10_core::demo::load(&store, &keys.audit, &dir, OffsetDateTime::now_utc()).await?;
    let server = Server::start(store.clone()).await;
    let base = server.url("");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(600)).build()?;
    let clerk = accounts.iter().find(|a| a.role == Role::RegistryClerk).context("the demo registry clerk")?;
    let login: Value = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({ "username": clerk.username, "password": clerk.password }))
        .send()
        .await?
        .json()
        .await?;
    let token = login["access_token"].as_str().context("a token")?.to_string();

    let mut rng = rand::rng();
    let books = args.records.div_ceil(args.per_book);
    let mut imports = Vec::new();
    let mut sample = None;
    for b in 0..books {
        let rows = args.per_book.min(args.records - b * args.per_book);
        let year = 2024 - b as i32;
        let csv = book(year, rows, &mut rng);
        if sample.is_none() {
            sample = csv.lines().nth(1).map(str::to_string);
        }
        let opened: Value = http
            .post(format!("{base}/api/v1/registry/books"))
            .bearer_auth(&token)
            .json(&json!({ "kind": "birth", "volume": format!("{:02}/{year}", b + 1), "year": year, "unit": "27211" }))
            .send()
            .await?
            .json()
            .await?;
        let id = opened["id"].as_i64().with_context(|| format!("a book: {opened}"))?;
        let started = Instant::now();
        let report: Value = http
            .post(format!("{base}/api/v1/registry/books/{id}/import"))
            .bearer_auth(&token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await?
            .json()
            .await?;
        let secs = started.elapsed().as_secs_f64();
        anyhow::ensure!(
            report["applied"] == true,
            "the import was refused: {}",
            &report.to_string()[..500.min(report.to_string().len())]
        );
        eprintln!("{engine}: book {} — {rows} rows imported in {secs:.1} s ({:.0} rows/s)", b + 1, rows as f64 / secs);
        imports.push((rows, secs));
    }
    let total = store.count_civil_records().await?;

    // Searches over what was loaded, taken from the first book's first row.
    let sample = sample.context("a row")?;
    let cols: Vec<&str> = sample.split(',').collect();
    let (child, father, id_number) = (cols[3].to_string(), cols[11].to_string(), cols[10].to_string());
    let unaccented: String = q10_core::registry::fields::normalize(&child);
    let mut near = unaccented.clone();
    near.push('x');
    let partial: String = child.split(' ').skip(1).collect::<Vec<_>>().join(" ");
    let queries = [
        ("full name, no accents", json!({ "name": unaccented })),
        ("near spelling", json!({ "name": near })),
        (
            "given and middle name",
            json!({ "name": partial, "kind": "birth", "event_from": "2024-01-01", "event_to": "2024-01-31" }),
        ),
        ("parent's name", json!({ "parent": father })),
        ("ID number", json!({ "id_number": id_number })),
        ("dates, one week", json!({ "kind": "birth", "event_from": "2024-03-01", "event_to": "2024-03-07" })),
    ];
    let mut results = Vec::new();
    println!("{engine}: {total} records; search times over {} runs after 3 warm-ups (ms)", args.runs);
    println!("{:<24} {:>8} {:>8} {:>8}", "search", "p50", "p99", "hits");
    for (label, q) in &queries {
        let mut times = Vec::new();
        let mut hits = 0;
        for i in 0..args.runs + 3 {
            let started = Instant::now();
            let res: Value = http
                .post(format!("{base}/api/v1/registry/search"))
                .bearer_auth(&token)
                .json(q)
                .send()
                .await?
                .json()
                .await?;
            if i >= 3 {
                times.push(started.elapsed());
            }
            hits = res["total"].as_i64().with_context(|| format!("{label}: {res}"))?;
        }
        let (p50, p99) = summary(times);
        println!("{label:<24} {p50:>8.1} {p99:>8.1} {hits:>8}");
        results.push(json!({ "search": label, "p50_ms": p50, "p99_ms": p99, "hits": hits }));
    }
    let (rows, secs): (usize, f64) = imports.iter().fold((0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!(
        "{}",
        json!({
            "engine": engine,
            "records": total,
            "first_book": { "rows": imports[0].0, "seconds": imports[0].1 },
            "import_rows_per_second": rows as f64 / secs,
            "searches": results,
        })
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
