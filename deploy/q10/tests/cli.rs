//! The `q10` binary as an operator uses it: `serve --demo` answering and stopping on SIGTERM,
//! one role against PostgreSQL, the account and token commands, and `audit verify` catching a
//! row edited by hand, on both engines; a camera registered over the API ingested from the test
//! camera, its health reported; a camera showing a person counted, minute by minute, and a crowd
//! alert raised.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use q10_tests::camera::{free_port, test_camera, test_camera_showing};
use q10_tests::{Engine, TestDb};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_q10");

/// `q10 ARGS` with a data directory and a database, and no stray configuration.
fn q10(data: &Path, db: Option<&TestDb>, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).arg("--data").arg(data).current_dir(data).env_remove("Q10_CONFIG").env_remove("RUST_LOG");
    // Servers started side by side each take a free media port.
    cmd.env("Q10_SFU__UDP", "127.0.0.1:0");
    if let Some(db) = db {
        cmd.arg("--database").arg(&db.url);
    }
    cmd
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("q10 runs");
    assert!(
        out.status.success(),
        "q10 failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running `q10 serve`, stopped with SIGTERM when dropped.
struct Serving {
    child: Child,
    base: String,
    lines: Vec<String>,
    /// Kept open so that the server's later output has somewhere to go.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Serving {
    // The child moves into `Serving`, whose `Drop` kills and waits for it.
    #[allow(clippy::zombie_processes)]
    fn start(mut cmd: Command) -> Serving {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("q10 serve starts");
        let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut line = String::new();
            let n = reader.read_line(&mut line).unwrap_or(0);
            if n == 0 || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("q10 serve exited or stalled before ready: {lines:?}");
            }
            if let Some(url) = line.trim().strip_prefix("Q10 is ready at ") {
                let base = url.trim_end_matches('/').to_string();
                return Serving { child, base, lines, _stdout: reader };
            }
            lines.push(line.trim_end().to_string());
        }
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait on q10") {
                return status;
            }
            assert!(Instant::now() < deadline, "q10 did not stop within 20 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_answers_for_every_role_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut serving = Serving::start({
        let mut c = q10(dir.path(), None, &["serve", "--demo", "--http", "127.0.0.1:0", "--log-format", "json"]);
        c.env("Q10_AUTH__SESSION_HOURS", "2");
        c
    });
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", serving.base)).send();

    let health: Value = get("/healthz").await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), 200);
    let openapi: Value = get("/openapi.json").await.unwrap().json().await.unwrap();
    assert_eq!(openapi["openapi"], "3.1.0");
    assert!(get("/api/docs").await.unwrap().text().await.unwrap().contains("Who may call it"));
    let page = get("/").await.unwrap();
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    assert!(page.text().await.unwrap().contains("/assets/app.js"));

    // Every demo account printed at start logs in, and gets the role it was printed with.
    let accounts: Vec<Vec<String>> = serving
        .lines
        .iter()
        .filter(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect();
    assert_eq!(accounts.len(), 10, "{:?}", serving.lines);
    for a in &accounts {
        let res = http
            .post(format!("{}/api/v1/auth/login", serving.base))
            .json(&json!({ "username": a[0], "password": a[3] }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login as {}", a[0]);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["user"]["grants"][0]["role"], a[1].as_str());
        let expires = time::OffsetDateTime::parse(
            body["expires_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let hours = (expires - time::OffsetDateTime::now_utc()).whole_minutes() as f64 / 60.0;
        assert!((1.9..=2.0).contains(&hours), "Q10_AUTH__SESSION_HOURS is honoured: {hours}");
    }
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("q10_http_requests_total{method=\"POST\",path=\"/api/v1/auth/login\",status=\"200\"} 10"),
        "{metrics}"
    );

    let status = serving.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");

    // A second start keeps the data and shows the same accounts.
    let again = Serving::start(q10(dir.path(), None, &["serve", "--demo", "--http", "127.0.0.1:0"]));
    let listed: Vec<&String> = again.lines.iter().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(listed.len(), 10);
    assert!(listed.iter().zip(&accounts).all(|(l, a)| l.contains(&a[3])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_role_runs_on_postgres() {
    let Some(db) = TestDb::new(Engine::Postgres).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut serving =
        Serving::start(q10(dir.path(), Some(&db), &["serve", "--role", "core", "--http", "127.0.0.1:0", "--demo"]));
    let health: Value = reqwest::get(format!("{}/healthz", serving.base)).await.unwrap().json().await.unwrap();
    assert_eq!(health["roles"], json!(["core"]));
    let ready: Value = reqwest::get(format!("{}/readyz", serving.base)).await.unwrap().json().await.unwrap();
    assert_eq!(ready["ready"], true);
    let wards: Vec<Value> =
        reqwest::get(format!("{}/api/v1/jurisdictions?kind=ward", serving.base)).await.unwrap().json().await.unwrap();
    assert_eq!(wards.len(), 15);
    assert!(serving.terminate().success());
    assert!(!dir.path().join("q10.db").exists(), "nothing written to SQLite in cluster mode");

    let signaling = Serving::start(q10(dir.path(), None, &["serve", "--role", "signaling", "--http", "127.0.0.1:0"]));
    let health: Value = reqwest::get(format!("{}/healthz", signaling.base)).await.unwrap().json().await.unwrap();
    assert_eq!(health["roles"], json!(["signaling"]));
}

#[test]
fn a_bad_setting_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("q10.toml"), "http = \"not an address\"\n").unwrap();
    let out = q10(dir.path(), None, &["migrate"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid configuration") && err.contains("http"), "{err}");
    std::fs::write(dir.path().join("q10.toml"), "colour = \"blue\"\n").unwrap();
    let err = String::from_utf8_lossy(&q10(dir.path(), None, &["migrate"]).output().unwrap().stderr).into_owned();
    assert!(err.contains("colour"), "{err}");
}

/// A camera registered over the API is ingested by `q10 serve` and its health shows up in the
/// API and `/metrics`; when the camera stops, it is down (and says why), without the password.
impl Serving {
    /// A token of the demo operator, whose password `serve --demo` printed.
    async fn operator_token(&self, http: &reqwest::Client) -> String {
        let operator = self.lines.iter().find(|l| l.trim_start().starts_with("operator ")).expect("the operator");
        let password = operator.split_whitespace().nth(3).unwrap();
        let login: Value = http
            .post(format!("{}/api/v1/auth/token", self.base))
            .json(&json!({ "username": "operator", "password": password }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        login["access_token"].as_str().unwrap().to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_camera_is_ingested_and_its_health_reported() {
    let Some(cam) = test_camera(free_port(), Some(("viewer", "Cam-Pass-1"))) else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = q10(dir.path(), None, &["serve", "--demo", "--http", "127.0.0.1:0"]);
    cmd.env("Q10_FOOTAGE__SEGMENT_SECONDS", "2");
    let serving = Serving::start(cmd);
    let http = reqwest::Client::new();
    let token = serving.operator_token(&http).await;
    let res = http
        .post(format!("{}/api/v1/cameras", serving.base))
        .bearer_auth(&token)
        .json(&json!({ "code": "test-cam", "name": "Camera thử", "unit_code": "27211",
            "source": cam.url("viewer:Cam-Pass-1@") }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let camera = || async {
        let url = format!("{}/api/v1/cameras/{id}", serving.base);
        http.get(url).bearer_auth(&token).send().await.unwrap().json::<Value>().await.unwrap()
    };
    let until = |state: &'static str| async move {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let c = camera().await;
            if c["health"]["state"] == state {
                return c;
            }
            assert!(Instant::now() < deadline, "the camera is {state} within 40 s: {c}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    let up = until("up").await;
    let fps = up["health"]["fps"].as_f64().unwrap();
    assert!((15.0..35.0).contains(&fps), "{up}");
    assert_eq!((up["health"]["width"].as_i64(), up["health"]["height"].as_i64()), (Some(640), Some(360)));
    let metrics = http.get(format!("{}/metrics", serving.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("q10_camera_up{camera=\"test-cam\"} 1"), "{metrics}");
    assert!(!metrics.contains("Cam-Pass-1"));

    // Recorded as it plays, in segments of about two seconds under the data directory, which
    // play back as one MP4.
    let get = |path: String| http.get(format!("{}{path}", serving.base)).bearer_auth(&token).send();
    let deadline = Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let l: Value = get(format!("/api/v1/cameras/{id}/footage/segments")).await.unwrap().json().await.unwrap();
        if l.as_array().is_some_and(|a| a.len() >= 3) {
            break l;
        }
        assert!(Instant::now() < deadline, "three segments within 30 s: {l}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let range =
        format!("from={}&to={}", listed[0]["started_at"].as_str().unwrap(), listed[2]["ended_at"].as_str().unwrap());
    let res = get(format!("/api/v1/cameras/{id}/footage?{range}")).await.unwrap();
    assert_eq!(res.status(), 200);
    let clip = dir.path().join("clip.mp4");
    std::fs::write(&clip, res.bytes().await.unwrap()).unwrap();
    let probed = q10_tests::camera::ffprobe(&clip);
    let seconds: f64 = probed["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((5.0..=7.5).contains(&seconds), "three segments of two seconds: {probed}");
    assert_eq!(
        (probed["streams"][0]["codec_name"].as_str(), probed["streams"][0]["width"].as_i64()),
        (Some("h264"), Some(640))
    );

    drop(cam);
    let down = until("down").await;
    assert!(down["health"]["fault"].is_string(), "{down}");
    assert!(!down.to_string().contains("Cam-Pass-1"));
}

/// Reads `url` every half second until `found` picks something out of the answer (a minute at most).
async fn wait_for(
    http: &reqwest::Client,
    token: &str,
    url: String,
    what: &str,
    found: impl Fn(&Value) -> Option<Value>,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = http.get(&url).bearer_auth(token).send().await.unwrap().json::<Value>().await.unwrap();
        if let Some(x) = found(&v) {
            return x;
        }
        assert!(Instant::now() < deadline, "{what} within 60 s: {v}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_showing_a_person_is_counted_and_a_crowd_raises_an_alert() {
    let (Some(model), Some(runtime)) = (std::env::var("Q10_DETECTOR").ok(), std::env::var("Q10_ONNXRUNTIME").ok())
    else {
        assert!(std::env::var_os("CI").is_none(), "tests/run sets Q10_DETECTOR and Q10_ONNXRUNTIME");
        return;
    };
    let Some(cam) = test_camera_showing(free_port(), "/usr/share/darknet/data/person.jpg") else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = q10(dir.path(), None, &["serve", "--demo", "--http", "127.0.0.1:0"]);
    // A crowd of one, for two seconds, is enough here.
    cmd.env("Q10_COUNTING__MODEL", model)
        .env("Q10_COUNTING__RUNTIME", runtime)
        .env("Q10_COUNTING__INTERVAL_SECONDS", "1")
        .env("Q10_COUNTING__CROWD_PEOPLE", "1")
        .env("Q10_COUNTING__CROWD_SECONDS", "2");
    let serving = Serving::start(cmd);
    let http = reqwest::Client::new();
    let token = serving.operator_token(&http).await;
    let res = http
        .post(format!("{}/api/v1/cameras", serving.base))
        .bearer_auth(&token)
        .json(&json!({ "code": "crowd-cam", "name": "Camera đếm người", "unit_code": "27211",
            "lon": 106.6655, "lat": 10.7635, "source": cam.url("") }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let get = |path: String| {
        let (http, token) = (http.clone(), token.clone());
        async move { http.get(path).bearer_auth(token).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let url = |path: &str| format!("{}/api/v1/{path}", serving.base);
    let person = wait_for(&http, &token, url(&format!("cameras/{id}/counts")), "a person counted", |counts| {
        counts.as_array().unwrap().iter().find(|c| c["kind"] == "person" && c["frames"].as_i64() > Some(1)).cloned()
    })
    .await;
    // Counted once over every minute it was seen in (the test may straddle a minute's end).
    let counts = get(url(&format!("cameras/{id}/counts"))).await;
    let people: Vec<&Value> = counts.as_array().unwrap().iter().filter(|c| c["kind"] == "person").collect();
    let appeared: i64 = people.iter().filter_map(|c| c["appeared"].as_i64()).sum();
    assert_eq!((person["peak"].as_i64(), appeared), (Some(1), 1), "one person, counted once: {counts}");
    assert!((person["mean"].as_f64().unwrap() - 1.0).abs() < 1e-9, "{person}");
    let fiware = get(format!("{}/api/v1/cameras/{id}/counts?format=fiware", serving.base)).await;
    let crowd = fiware
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "CrowdFlowObserved")
        .expect("people as CrowdFlowObserved");
    assert_eq!(crowd["peopleCount"], 1);
    assert_eq!(crowd["location"]["coordinates"], json!([106.6655, 10.7635]));
    let alert = wait_for(&http, &token, url("alerts"), "a crowd alert", |alerts| {
        alerts.as_array().unwrap().iter().find(|a| a["condition"] == "crowd").cloned()
    })
    .await;
    assert_eq!(alert["value"], 1.0, "{alert}");
    let fiware = get(url("alerts?format=fiware")).await;
    let crowd =
        fiware.as_array().unwrap().iter().find(|e| e["subCategory"] == "crowdRisk").expect("a FIWARE crowd alert");
    assert_eq!(
        (crowd["category"].as_str(), crowd["alertSource"].as_str()),
        (Some("security"), Some("urn:ngsi-ld:Device:q10-camera-crowd-cam")),
        "{crowd}"
    );
    // Zones and a line drawn on the running camera reach counting without restarting it.
    let areas = json!([
        { "name": "Lối đi", "shape": "zone", "points": [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
          "crowd_people": 1 },
        { "name": "Bên trái", "shape": "zone", "points": [[0.0, 0.0], [0.1, 0.0], [0.1, 0.1]] },
        { "name": "Vạch", "shape": "line", "points": [[0.0, 0.5], [1.0, 0.5]] },
    ]);
    let res = http.patch(url(&format!("cameras/{id}"))).bearer_auth(&token).json(&json!({ "areas": areas }));
    let res = res.send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["areas"][0]["name"], "Lối đi");
    let zone = wait_for(&http, &token, url(&format!("cameras/{id}/counts/areas")), "the zone counted", |counts| {
        let rows = counts.as_array().unwrap();
        assert!(rows.iter().all(|c| c["area"] == "Lối đi"), "nobody elsewhere: {counts}");
        rows.iter().find(|c| c["kind"] == "person").cloned()
    })
    .await;
    assert_eq!((zone["peak"].as_i64(), zone["forward"].as_i64()), (Some(1), Some(0)), "{zone}");
    let zone_alert = wait_for(&http, &token, url("alerts"), "the zone's crowd alert", |alerts| {
        alerts.as_array().unwrap().iter().find(|a| a["condition"] == "crowd:Lối đi").cloned()
    })
    .await;
    assert!(zone_alert["title"].as_str().unwrap().contains("Lối đi"), "{zone_alert}");
    let metrics = http.get(format!("{}/metrics", serving.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("q10_counting_frames_analysed_total"), "{metrics}");
    assert!(metrics.contains("q10_counting_frames_still_total"), "the still photo skips the detector: {metrics}");
}

fn engines() -> [Engine; 2] {
    [Engine::Sqlite, Engine::Postgres]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_from_the_command_line() {
    for engine in engines() {
        let Some(db) = TestDb::new(engine).await else {
            continue;
        };
        let dir = tempfile::tempdir().unwrap();
        run(q10(dir.path(), Some(&db), &["jurisdictions", "import"]).arg(q10_demo_file()));
        let db = Some(&db);
        let mut add = q10(
            dir.path(),
            db,
            &[
                "user",
                "add",
                "ward3.official",
                "--name",
                "Cán bộ Phường 3",
                "--role",
                "ward_official",
                "--jurisdiction",
                "27232",
            ],
        );
        let out = run(&mut add);
        let text = stdout(&out);
        assert!(text.contains("created account ward3.official") && text.contains("password: "), "{text}");
        let mut piped = q10(
            dir.path(),
            db,
            &[
                "user",
                "add",
                "kiosk.ward3",
                "--name",
                "Kiosk",
                "--role",
                "kiosk_device",
                "--jurisdiction",
                "27232",
                "--device",
                "--password-stdin",
            ],
        );
        let mut child = piped.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"a kiosk's own secret\n").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert!(!stdout(&out).contains("password:"), "a given password is not echoed");

        let bad = q10(dir.path(), db, &["user", "add", "x", "--name", "X", "--role", "mayor", "--jurisdiction", "771"])
            .output()
            .unwrap();
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role 'mayor'"));

        run(&mut q10(dir.path(), db, &["user", "disable", "ward3.official"]));
        let list = stdout(&run(&mut q10(dir.path(), db, &["user", "list"])));
        let line = list.lines().find(|l| l.contains("ward3.official")).unwrap();
        assert!(line.contains("disabled") && line.contains("ward_official@27232"), "{line}");
        assert!(list.lines().any(|l| l.contains("kiosk.ward3") && l.contains("device") && l.contains("active")));
    }
}

fn q10_demo_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../core/demo/district10.geojson")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_catches_a_row_edited_by_hand() {
    use sqlx::Connection;
    for engine in engines() {
        let Some(db) = TestDb::new(engine).await else {
            continue;
        };
        let dir = tempfile::tempdir().unwrap();
        run(q10(dir.path(), Some(&db), &["jurisdictions", "import"]).arg(q10_demo_file()));
        run(&mut q10(
            dir.path(),
            Some(&db),
            &["user", "add", "someone", "--name", "Someone", "--role", "operator", "--jurisdiction", "771"],
        ));
        let ok = run(&mut q10(dir.path(), Some(&db), &["audit", "verify"]));
        assert!(stdout(&ok).contains("audit log intact: 2 rows"), "{}", stdout(&ok));

        let edit = "UPDATE audit_log SET detail = '{\"username\":\"someone-else\"}' WHERE seq = 2";
        match engine {
            Engine::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
                sqlx::query("DROP TRIGGER audit_log_no_update").execute(&mut c).await.unwrap();
                sqlx::query(edit).execute(&mut c).await.unwrap();
            }
            Engine::Postgres => {
                let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
                sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change").execute(&mut c).await.unwrap();
                sqlx::query(edit).execute(&mut c).await.unwrap();
            }
        }
        let broken = q10(dir.path(), Some(&db), &["audit", "verify"]).output().unwrap();
        assert_eq!(broken.status.code(), Some(1), "{engine:?}");
        assert!(stdout(&broken).contains("BROKEN at row 2: row 2 was altered"), "{}", stdout(&broken));
    }
}

#[test]
fn token_prints_a_join_token_the_server_key_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&mut q10(
        dir.path(),
        None,
        &[
            "token",
            "--room",
            "district-weekly",
            "--identity",
            "ward-3",
            "--name",
            "Phường 3",
            "--role",
            "host",
            "--ttl",
            "2h",
        ],
    ));
    let jwt = stdout(&out).trim().to_string();
    let keys = q10_core::secrets::Secrets::load_or_generate(&dir.path().join("secrets")).unwrap();
    let tokens = q10_signaling::JoinTokens::new(keys.token_signing);
    let claims = tokens.verify(&jwt, "district-weekly", time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!((claims.sub.as_str(), claims.name.as_str()), ("ward-3", "Phường 3"));
    assert_eq!(claims.exp - claims.iat, 7200);
    let too_long =
        q10(dir.path(), None, &["token", "--room", "r", "--identity", "i", "--ttl", "30d"]).output().unwrap();
    assert!(!too_long.status.success());
    assert!(String::from_utf8_lossy(&too_long.stderr).contains("ttl"));
}

/// A NATS server with JetStream for cluster tests: `None` outside CI when none answers.
fn nats_url() -> Option<String> {
    let url = std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let addr = url.trim_start_matches("nats://").to_string();
    match std::net::TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(1)) {
        Ok(_) => Some(url),
        Err(e) if std::env::var_os("CI").is_some() => panic!("NATS is required in CI ({url}): {e}"),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_cluster_attendance_reaches_the_core_over_nats() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (Some(db), Some(nats)) = (TestDb::new(Engine::Postgres).await, nats_url()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let with_nats = |mut cmd: Command| {
        cmd.env("Q10_CLUSTER__NATS", &nats);
        cmd
    };
    let core = Serving::start(with_nats(q10(
        dir.path(),
        Some(&db),
        &["serve", "--role", "core", "--http", "127.0.0.1:0", "--demo"],
    )));
    let signaling =
        Serving::start(with_nats(q10(dir.path(), None, &["serve", "--role", "signaling", "--http", "127.0.0.1:0"])));

    // A district official calls a meeting on the core and gets a token for its room.
    let password = core
        .lines
        .iter()
        .find_map(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .starts_with(&["district.official"])
                .then(|| l.split_whitespace().last().unwrap().to_string())
        })
        .expect("the demo accounts are printed");
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/api/v1/auth/token", core.base))
        .json(&json!({ "username": "district.official", "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = login["access_token"].as_str().unwrap().to_string();
    let starts = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let meeting: Value = http
        .post(format!("{}/api/v1/meetings", core.base))
        .bearer_auth(&bearer)
        .json(&json!({ "title": "Giao ban", "starts_at": starts, "wards": ["27211"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = meeting["id"].as_i64().expect("meeting created");
    let join: Value = http
        .post(format!("{}/api/v1/meetings/{id}/join", core.base))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // It joins and leaves the room on the signaling role, another process.
    let ws_url = format!("{}/rtc/v1", signaling.base.replacen("http", "ws", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url.as_str()).await.unwrap();
    let hello = json!({ "type": "join", "v": 1, "room": join["room"], "token": join["token"] });
    ws.send(Message::Text(hello.to_string().into())).await.unwrap();
    let Some(Ok(Message::Text(joined))) = ws.next().await else { panic!("no answer to join") };
    assert!(joined.contains("\"type\":\"joined\""), "{joined}");
    ws.send(Message::Text(json!({ "type": "leave" }).to_string().into())).await.unwrap();

    // The core records the stay from the events that crossed NATS.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let report: Value = http
            .get(format!("{}/api/v1/meetings/{id}/attendance", core.base))
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entries = report["entries"].as_array().unwrap();
        if entries.len() == 1 && !entries[0]["left_at"].is_null() {
            assert_eq!(entries[0]["identity"], join["identity"]);
            break;
        }
        assert!(Instant::now() < deadline, "attendance not recorded within 15 s: {report}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Files complaints from several clients until told to stop; returns the acknowledged ones as
/// `(id, tracking code)`.
async fn file_until(base: String, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Vec<(i64, String)> {
    let http = reqwest::Client::new();
    let mut acked = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let body = json!({ "category": "garbage", "description": "Rác", "lat": 10.7725, "lon": 106.66725 });
        let Ok(res) = http.post(format!("{base}/api/v1/complaints")).json(&body).send().await else {
            break;
        };
        if res.status() != reqwest::StatusCode::CREATED {
            break;
        }
        let Ok(v) = res.json::<Value>().await else { break };
        acked.push((v["id"].as_i64().unwrap(), v["tracking_code"].as_str().unwrap().to_string()));
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_complaints_survive_a_kill_during_a_burst() {
    for engine in engines() {
        let Some(db) = TestDb::new(engine).await else {
            continue;
        };
        let dir = tempfile::tempdir().unwrap();
        let serve = || q10(dir.path(), Some(&db), &["serve", "--demo", "--http", "127.0.0.1:0"]);
        let mut serving = Serving::start(serve());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clients: Vec<_> = (0..6).map(|_| tokio::spawn(file_until(serving.base.clone(), stop.clone()))).collect();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // SIGKILL in the middle of the burst: no chance to finish anything.
        serving.child.kill().unwrap();
        serving.child.wait().unwrap();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut acked = Vec::new();
        for c in clients {
            acked.extend(c.await.unwrap());
        }
        assert!(acked.len() > 20, "{engine:?}: the burst was acknowledged only {} times", acked.len());

        let serving = Serving::start(serve());
        let http = reqwest::Client::new();
        for (id, code) in &acked {
            let res = http
                .post(format!("{}/api/v1/complaints/track", serving.base))
                .json(&json!({ "code": code }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), reqwest::StatusCode::OK, "{engine:?}: acknowledged complaint {id} was lost");
            assert_eq!(res.json::<Value>().await.unwrap()["id"], *id);
        }
        drop(serving);
        let verify = stdout(&run(&mut q10(dir.path(), Some(&db), &["audit", "verify"])));
        assert!(verify.contains("audit log intact"), "{engine:?}: {verify}");
        eprintln!("{engine:?}: {} acknowledged filings survived SIGKILL", acked.len());
    }
}

#[test]
fn open311_keys_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&mut q10(dir.path(), None, &["apikey", "create", "fixmystreet-app"]));
    let key = stdout(&out).trim().to_string();
    assert!(key.starts_with("q10k_") && key.len() > 30, "{key}");
    let list = stdout(&run(&mut q10(dir.path(), None, &["apikey", "list"])));
    let line = list.lines().find(|l| l.contains("fixmystreet-app")).expect("listed");
    assert!(line.contains("active") && line.contains(&key[..9]) && !list.contains(&key), "{list}");
    let again = q10(dir.path(), None, &["apikey", "create", "fixmystreet-app"]).output().unwrap();
    assert!(!again.status.success(), "names are unique");
    run(&mut q10(dir.path(), None, &["apikey", "revoke", "fixmystreet-app"]));
    let list = stdout(&run(&mut q10(dir.path(), None, &["apikey", "list"])));
    assert!(list.lines().any(|l| l.contains("fixmystreet-app") && l.contains("revoked")), "{list}");
    let missing = q10(dir.path(), None, &["apikey", "revoke", "fixmystreet-app"]).output().unwrap();
    assert!(!missing.status.success(), "a revoked key cannot be revoked again");
}
