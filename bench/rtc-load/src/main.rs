//! A load generator for SFUs. It joins synthetic publishers and subscribers to rooms of a real
//! server over real WebRTC (str0m peers on loopback UDP), then measures, over a window: packets
//! forwarded per second, the server's CPU seconds per million forwarded packets, the delay each
//! packet took from being written by a publisher to reaching a subscriber's socket, and the
//! server's memory per participant. `direct` measures the same delay without a server in
//! between: the generator's own share of it.
//!
//! Usage: see `bench/rtc` (runs q10 and Janus with the same load) or `--help`.

mod janus;
mod peer;
mod process;
mod q10;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use peer::{Load, Peer, Stats};
use serde_json::json;
use tokio::sync::{mpsc, watch};

#[derive(Debug, Parser)]
#[command(about = "Loads an SFU with synthetic WebRTC publishers and subscribers and measures it")]
struct Cli {
    #[command(subcommand)]
    target: Target,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Debug, Subcommand)]
enum Target {
    /// A q10 server: signaling WebSocket, tokens from `q10 token`.
    Q10 {
        /// Base URL, e.g. http://127.0.0.1:8080
        #[arg(long)]
        url: String,
        /// The q10 binary, to mint join tokens.
        #[arg(long)]
        bin: PathBuf,
        /// The server's data directory (its token key).
        #[arg(long)]
        data: PathBuf,
        /// The server's process id, to read its CPU time and memory.
        #[arg(long)]
        pid: u32,
    },
    /// A Janus server's VideoRoom over its HTTP API.
    Janus {
        /// The API base, e.g. http://127.0.0.1:18088/janus
        #[arg(long)]
        url: String,
        #[arg(long)]
        pid: u32,
    },
    /// Street cameras a q10 server relays: each watched over WHEP by `--viewers` viewers.
    Cameras {
        /// Base URL, e.g. http://127.0.0.1:8080
        #[arg(long)]
        url: String,
        #[arg(long)]
        bin: PathBuf,
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        pid: u32,
        /// The cameras' ids, comma separated.
        #[arg(long, value_delimiter = ',', required = true)]
        ids: Vec<i64>,
        /// Viewers of each camera.
        #[arg(long, default_value_t = 1)]
        viewers: usize,
    },
    /// One publisher straight to one subscriber: the delay of the generator and the kernel alone.
    Direct,
}

#[derive(Debug, Args)]
struct LoadArgs {
    #[arg(long, default_value_t = 2, global = true)]
    rooms: usize,
    /// Publishers per room, each sending one video stream.
    #[arg(long, default_value_t = 2, global = true)]
    publishers: usize,
    /// Subscribers per room, each receiving every publisher of its room.
    #[arg(long, default_value_t = 8, global = true)]
    subscribers: usize,
    /// Bitrate of each publisher.
    #[arg(long, default_value_t = 500, global = true)]
    kbps: u32,
    /// Bytes of each packet's payload (one packet per frame).
    #[arg(long, default_value_t = 1_000, global = true)]
    packet_bytes: usize,
    /// Length of the measured window.
    #[arg(long, default_value_t = 20, global = true)]
    seconds: u64,
    /// Longest wait for every subscriber to receive every publisher before measuring.
    #[arg(long, default_value_t = 30, global = true)]
    warmup: u64,
    /// Address the synthetic peers bind to.
    #[arg(long, default_value = "127.0.0.1", global = true)]
    ip: IpAddr,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let l = &cli.load;
    let load = Load { kbps: l.kbps, packet_bytes: l.packet_bytes };
    anyhow::ensure!((24..=1_100).contains(&l.packet_bytes), "--packet-bytes must be 24 to 1100");
    let stats = Stats::new();
    let (stop_tx, stop) = watch::channel(false);
    let mut tasks = Vec::new();
    let server_pid = match &cli.target {
        Target::Q10 { pid, .. } | Target::Janus { pid, .. } | Target::Cameras { pid, .. } => Some(*pid),
        Target::Direct => None,
    };
    let idle_rss = server_pid.map(process::rss_kib).transpose()?;
    // Offer channels of peers that get no offers, kept open for the run.
    let mut quiet = Vec::new();

    let (server, pid, subscribers_per_room, publishers_per_room, rooms) = match &cli.target {
        Target::Direct => {
            let mut publisher = Peer::new(l.ip, stats.clone()).await?;
            let mut subscriber = Peer::new(l.ip, stats.clone()).await?;
            let offer = publisher.offer_video(load);
            let answer = subscriber.accept_offer(offer)?;
            publisher.accept_answer(answer)?;
            for p in [publisher, subscriber] {
                let (offers_tx, offers) = mpsc::unbounded_channel();
                let (answers, answers_rx) = mpsc::unbounded_channel();
                tasks.push(tokio::spawn(p.run(offers, answers, stop.clone())));
                quiet.push((offers_tx, answers_rx));
            }
            ("direct", None, 1, 1, 1)
        }
        Target::Q10 { url, bin, data, pid } => {
            let q10 = q10::Q10 { url: url.clone(), bin: bin.clone(), data: data.clone() };
            for r in 0..l.rooms {
                let room = format!("load-{r}");
                for p in 0..l.publishers {
                    let peer = Peer::new(l.ip, stats.clone()).await?;
                    tasks.push(q10.join(&room, &format!("pub-{r}-{p}"), peer, Some(load), stop.clone()).await?);
                }
                for s in 0..l.subscribers {
                    let peer = Peer::new(l.ip, stats.clone()).await?;
                    tasks.push(q10.join(&room, &format!("sub-{r}-{s}"), peer, None, stop.clone()).await?);
                }
            }
            ("q10", Some(*pid), l.subscribers, l.publishers, l.rooms)
        }
        Target::Cameras { url, bin, data, pid, ids, viewers } => {
            let q10 = q10::Q10 { url: url.clone(), bin: bin.clone(), data: data.clone() };
            for id in ids {
                for v in 0..*viewers {
                    let peer = Peer::new(l.ip, stats.clone()).await?;
                    tasks.push(q10.watch(*id, &format!("viewer-{id}-{v}"), peer, stop.clone()).await?);
                }
            }
            // Each camera is a room of one publisher (its ingest) and its viewers.
            ("q10-cameras", Some(*pid), *viewers, 1, ids.len())
        }
        Target::Janus { url, pid } => {
            let janus = janus::Janus::connect(url).await?;
            let mut connected = 0;
            for _ in 0..l.rooms {
                let room = janus.create_room().await?;
                let mut feeds = Vec::new();
                for _ in 0..l.publishers {
                    let peer = Peer::new(l.ip, stats.clone()).await?;
                    let (task, feed) = janus.publish(room, peer, load, stop.clone()).await?;
                    tasks.push(task);
                    feeds.push(feed);
                }
                // Janus lets subscribers at a feed only once its publisher's media is up.
                connected += l.publishers as u64;
                let deadline = Instant::now() + Duration::from_secs(15);
                while stats.connected.load(Ordering::Relaxed) < connected {
                    anyhow::ensure!(Instant::now() < deadline, "Janus publishers did not connect within 15 s");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                connected += l.subscribers as u64;
                for _ in 0..l.subscribers {
                    let peer = Peer::new(l.ip, stats.clone()).await?;
                    tasks.push(janus.subscribe(room, &feeds, peer, stop.clone()).await?);
                }
            }
            tasks.push(janus.keep_alive(stop.clone()));
            ("janus", Some(*pid), l.subscribers, l.publishers, l.rooms)
        }
    };
    let participants = rooms * (publishers_per_room + subscribers_per_room);
    let streams = (rooms * publishers_per_room * subscribers_per_room) as u64;

    // Everyone receives everything before the window opens.
    let deadline = Instant::now() + Duration::from_secs(l.warmup);
    while stats.streams.load(Ordering::Relaxed) < streams {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {streams} streams arrived within {} s",
            stats.streams.load(Ordering::Relaxed),
            l.warmup
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let rss = pid.map(process::rss_kib).transpose()?;
    let cpu0 = pid.map(process::cpu_seconds).transpose()?;
    let t0 = Instant::now();
    stats.measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(l.seconds)).await;
    stats.measuring.store(false, Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = match (pid, cpu0) {
        (Some(pid), Some(c0)) => Some(process::cpu_seconds(pid)? - c0),
        _ => None,
    };
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
    }

    let received = stats.received.load(Ordering::Relaxed);
    let received_mbps = stats.bytes.load(Ordering::Relaxed) as f64 * 8.0 / 1e6 / elapsed;
    let sent = stats.sent.load(Ordering::Relaxed);
    let mut delays = std::mem::take(&mut *stats.delays.lock().expect("delays lock"));
    delays.sort_unstable();
    let pct = |p: f64| delays.get(((delays.len() as f64 * p) as usize).min(delays.len().saturating_sub(1))).copied();
    let us = |ns: Option<u64>| ns.map(|n| n as f64 / 1_000.0);
    let forwarded_pps = received as f64 / elapsed;
    let expected = (sent * subscribers_per_room as u64) as f64;
    let report = json!({
        "server": server,
        "rooms": rooms,
        "publishers_per_room": publishers_per_room,
        "subscribers_per_room": subscribers_per_room,
        "kbps_per_publisher": l.kbps,
        "packet_bytes": l.packet_bytes,
        "seconds": elapsed,
        "offered_pps": expected / elapsed,
        "forwarded_pps": forwarded_pps,
        "loss_percent": if expected > 0.0 { (1.0 - received as f64 / expected).max(0.0) * 100.0 } else { 0.0 },
        "server_cpu_seconds": cpu,
        "cpu_seconds_per_million_packets": cpu.map(|c| c / (received as f64 / 1e6)),
        "packets_per_cpu_second": cpu.map(|c| received as f64 / c),
        "received_mbit_per_second": received_mbps,
        "received_per_stream_per_second": received as f64 / elapsed / streams as f64,
        "server_cpu_share_of_one_core": cpu.map(|c| c / elapsed),
        "delay_p50_us": us(pct(0.50)),
        "delay_p99_us": us(pct(0.99)),
        "delay_max_us": us(delays.last().copied()),
        "server_rss_kib": rss,
        "rss_kib_per_participant": rss.zip(idle_rss).map(|(r, i)| (r as f64 - i as f64) / participants as f64),
    });
    println!("{report}");
    Ok(())
}
