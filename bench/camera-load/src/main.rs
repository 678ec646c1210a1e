//! Camera benchmarks against a real RTSP camera (bench/cameras starts the test camera):
//!
//! - `count`: takes keyframes from the camera, then times OpenH264 decoding and the detector
//!   (ONNX Runtime, one thread) apart, and works out how many cameras a node counts at one
//!   analysed frame every 2 s, with and without the scene moving.
//! - `ingest`: opens N RTSP sessions to the camera at once, as the relay does for N cameras, and
//!   measures this process's CPU per camera and per megabit of video taken in; with `--record
//!   DIR`, each camera is also recorded into segment files there as `q10 serve` records it.
//!
//! Each prints one JSON object.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use q10_core::footage::writer::{Frame, SegmentWriter};
use q10_sfu::camera::{CameraSource, CameraState, Ingest, IngestOptions, RtspTransport};
use q10_sfu::counting::{decode, detect::Detector};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Count {
        #[arg(long)]
        rtsp: String,
        #[arg(long)]
        model: std::path::PathBuf,
        #[arg(long)]
        runtime: std::path::PathBuf,
        /// Keyframes to take from the camera.
        #[arg(long, default_value_t = 5)]
        keyframes: usize,
        /// Times each is decoded and detected.
        #[arg(long, default_value_t = 40)]
        rounds: usize,
        /// Cores of the node the estimate is for.
        #[arg(long, default_value_t = 2)]
        cores: usize,
    },
    Ingest {
        #[arg(long)]
        rtsp: String,
        #[arg(long, default_value_t = 20)]
        cameras: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Record every camera into footage segments under this folder.
        #[arg(long)]
        record: Option<std::path::PathBuf>,
    },
}

/// This process's user and system CPU time, in seconds.
fn own_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after_name = stat.rsplit_once(')').map(|(_, r)| r).context("odd /proc/self/stat")?;
    let f: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime, in clock ticks of 1/100 s on Linux.
    Ok((f[11].parse::<f64>()? + f[12].parse::<f64>()?) / 100.0)
}

async fn up(url: &str) -> anyhow::Result<Ingest> {
    let ingest =
        Ingest::start(CameraSource { url: url.into(), transport: RtspTransport::Tcp }, IngestOptions::default());
    let mut h = ingest.watch_health();
    tokio::time::timeout(Duration::from_secs(20), h.wait_for(|h| h.state == CameraState::Up))
        .await
        .context("the camera is not up within 20 s")??;
    Ok(ingest)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn count(
    rtsp: &str,
    model: &std::path::Path,
    runtime: &std::path::Path,
    keyframes: usize,
    rounds: usize,
    cores: usize,
) -> anyhow::Result<serde_json::Value> {
    let ingest = up(rtsp).await?;
    let mut frames = ingest.subscribe();
    let mut taken = Vec::new();
    while taken.len() < keyframes {
        let f = frames.recv().await?;
        if f.keyframe {
            taken.push(f);
        }
    }
    drop(ingest);
    let env = q10_sfu::counting::environment(runtime)?;
    let mut detector = Detector::load(&env, model, 1, 0.35)?;
    let (mut decode_ms, mut detect_ms) = (Vec::new(), Vec::new());
    let mut size = (0, 0);
    for i in 0..rounds {
        let f = &taken[i % taken.len()];
        let mut decoder = openh264_decoder()?;
        let t = Instant::now();
        let picture = decode(&mut decoder, &f.data)?;
        decode_ms.push(t.elapsed().as_secs_f64() * 1e3);
        size = picture.dimensions();
        let t = Instant::now();
        detector.detect(&picture)?;
        detect_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (dec, det) = (median(decode_ms), median(detect_ms));
    // One analysed frame every 2 s per camera.
    let moving = cores as f64 * 2000.0 / (dec + det);
    let still = cores as f64 * 2000.0 / dec;
    Ok(serde_json::json!({
        "picture": format!("{}x{}", size.0, size.1),
        "decode_ms_median": dec,
        "detect_ms_median": det,
        "analysed_frames_per_core_second_moving": 1000.0 / (dec + det),
        "decoded_frames_per_core_second": 1000.0 / dec,
        "cameras_per_node_one_frame_per_2s_all_moving": moving,
        "cameras_per_node_one_frame_per_2s_all_still": still,
        "cores": cores,
    }))
}

fn openh264_decoder() -> anyhow::Result<q10_sfu::counting::Decoder> {
    Ok(q10_sfu::counting::Decoder::new()?)
}

/// Writes a camera's frames into footage segments on a thread of its own, as `q10 serve` does;
/// returns the bytes written when the ingest stops.
fn record(root: &std::path::Path, id: i64, ingest: &Ingest) -> std::thread::JoinHandle<u64> {
    let (root, mut frames) = (root.to_path_buf(), ingest.subscribe());
    std::thread::spawn(move || {
        let mut w = SegmentWriter::new(&root, id, Duration::from_secs(60));
        let mut bytes = 0;
        loop {
            let f = match frames.blocking_recv() {
                Ok(f) => f,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            };
            let at = time::OffsetDateTime::now_utc();
            let frame = Frame { data: &f.data, rtp_time: f.rtp_time, keyframe: f.keyframe, at, session: f.session };
            bytes += w.push(frame).ok().flatten().map_or(0, |s| s.bytes as u64);
        }
        bytes + w.finish().ok().flatten().map_or(0, |s| s.bytes as u64)
    })
}

async fn ingest(
    rtsp: &str,
    cameras: usize,
    seconds: u64,
    root: Option<&std::path::Path>,
) -> anyhow::Result<serde_json::Value> {
    let mut ingests = Vec::new();
    let mut recorders = Vec::new();
    for id in 0..cameras {
        let i = up(rtsp).await?;
        if let Some(root) = root {
            recorders.push(record(root, id as i64, &i));
        }
        ingests.push(i);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu0 = own_cpu_seconds()?;
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let cpu = own_cpu_seconds()? - cpu0;
    let wall = t0.elapsed().as_secs_f64();
    let healths: Vec<_> = ingests.iter().map(|i| i.health()).collect();
    let up = healths.iter().filter(|h| h.state == CameraState::Up).count();
    let mbps: f64 = healths.iter().map(|h| h.bitrate).sum::<f64>() / 1e6;
    let fps: f64 = healths.iter().map(|h| h.fps).sum();
    drop(ingests);
    let mut written = 0;
    for r in recorders {
        written += r.join().map_err(|_| anyhow::anyhow!("a recorder panicked"))?;
    }
    Ok(serde_json::json!({
        "cameras": cameras,
        "recorded": root.is_some(),
        "footage_megabytes_written": written as f64 / 1e6,
        "up": up,
        "seconds": wall,
        "cpu_seconds": cpu,
        "cpu_share_of_one_core": cpu / wall,
        "video_mbit_per_second": mbps,
        "frames_per_second": fps,
        "camera_seconds_per_cpu_second": cameras as f64 * wall / cpu,
        "cpu_ms_per_megabit": cpu * 1e3 / (mbps * wall),
        // A 2 Mbit/s camera costs twice the CPU of a megabit a second.
        "cameras_of_2_mbit_per_core": 1.0 / (2.0 * cpu / (mbps * wall)),
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let out = match args.command {
        Cmd::Count { rtsp, model, runtime, keyframes, rounds, cores } => {
            count(&rtsp, &model, &runtime, keyframes, rounds, cores).await?
        }
        Cmd::Ingest { rtsp, cameras, seconds, record } => ingest(&rtsp, cameras, seconds, record.as_deref()).await?,
    };
    println!("{out}");
    Ok(())
}
