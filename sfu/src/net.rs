//! The network shell around the engine: one UDP socket, one task that owns the [`Sfu`], and a
//! cloneable [`SfuHandle`] through which signaling admits participants and exchanges offers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use str0m::change::{SdpAnswer, SdpOffer};
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::camera::CameraFrame;
use crate::engine::{EngineConfig, JoinRequest, PeerId, Sfu, SfuError, SfuOutput, Signal, TrackInfo};
use crate::record::RecordCommand;
use crate::{ConfigError, SfuConfig};

/// Signals for one participant, in order.
pub type SignalReceiver = mpsc::UnboundedReceiver<Signal>;

enum Command {
    Join { req: JoinRequest, offer: SdpOffer, reply: oneshot::Sender<Result<Joined, SfuError>> },
    Offer { peer: PeerId, offer: SdpOffer, reply: oneshot::Sender<Result<SdpAnswer, SfuError>> },
    Answer { peer: PeerId, answer: SdpAnswer, reply: oneshot::Sender<Result<(), SfuError>> },
    Candidate { peer: PeerId, candidate: String, reply: oneshot::Sender<Result<(), SfuError>> },
    PreferLayer { peer: PeerId, publisher: PeerId, mid: String, layer: Option<String> },
    SendData { peer: PeerId, text: String },
    Leave { peer: PeerId },
    Tracks { room: String, reply: oneshot::Sender<Vec<TrackInfo>> },
    Stats { reply: oneshot::Sender<SfuStats> },
    Record { room: String, on: bool, reply: oneshot::Sender<Result<bool, SfuError>> },
    AttachCamera { key: Arc<str>, generation: u64 },
    DetachCamera { key: Arc<str>, generation: u64 },
    CameraFrame { key: Arc<str>, generation: u64, frame: CameraFrame },
}

/// A participant admitted to the engine.
#[derive(Debug)]
pub struct Joined {
    pub peer: PeerId,
    pub answer: SdpAnswer,
    pub signals: SignalReceiver,
}

/// Counts for health pages and benchmarks.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct SfuStats {
    pub participants: usize,
    pub tracks: usize,
    /// Cameras being relayed.
    pub cameras: usize,
    pub datagrams_in: u64,
    pub datagrams_out: u64,
}

/// Why the SFU could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot bind the media port {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// The way into a running SFU. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SfuHandle {
    tx: mpsc::Sender<Command>,
    local: SocketAddr,
    /// Numbers camera attachments, so that a late detach cannot end a newer one.
    generations: Arc<AtomicU64>,
}

/// The SFU has stopped; nothing can be done with it.
#[derive(Debug, thiserror::Error)]
#[error("the media server has stopped")]
pub struct Stopped;

impl From<Stopped> for SfuError {
    fn from(_: Stopped) -> Self {
        SfuError::UnknownPeer
    }
}

impl SfuHandle {
    /// Binds the media port and starts the task that runs the engine until every handle is gone.
    pub async fn start(config: &SfuConfig) -> Result<SfuHandle, StartError> {
        config.validate()?;
        let socket =
            UdpSocket::bind(config.udp).await.map_err(|source| StartError::Bind { addr: config.udp, source })?;
        let local = socket.local_addr().map_err(|source| StartError::Bind { addr: config.udp, source })?;
        let announced = SocketAddr::new(config.public_ip.unwrap_or(local.ip()), local.port());
        let engine = Sfu::new(EngineConfig::new(local, announced), Instant::now());
        let (tx, rx) = mpsc::channel(1024);
        let recorder = config.recordings.clone().map(crate::record::spawn);
        tokio::spawn(run(engine, Arc::new(socket), rx, recorder));
        tracing::info!(%local, %announced, "media port open");
        Ok(SfuHandle { tx, local, generations: Arc::new(AtomicU64::new(1)) })
    }

    /// The address the media socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Stopped> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }

    pub async fn join(&self, req: JoinRequest, offer: SdpOffer) -> Result<Joined, SfuError> {
        self.call(|reply| Command::Join { req, offer, reply }).await?
    }

    pub async fn offer(&self, peer: PeerId, offer: SdpOffer) -> Result<SdpAnswer, SfuError> {
        self.call(|reply| Command::Offer { peer, offer, reply }).await?
    }

    pub async fn answer(&self, peer: PeerId, answer: SdpAnswer) -> Result<(), SfuError> {
        self.call(|reply| Command::Answer { peer, answer, reply }).await?
    }

    pub async fn add_candidate(&self, peer: PeerId, candidate: String) -> Result<(), SfuError> {
        self.call(|reply| Command::Candidate { peer, candidate, reply }).await?
    }

    pub async fn prefer_layer(&self, peer: PeerId, publisher: PeerId, mid: String, layer: Option<String>) {
        let _ = self.tx.send(Command::PreferLayer { peer, publisher, mid, layer }).await;
    }

    pub async fn send_data(&self, peer: PeerId, text: String) {
        let _ = self.tx.send(Command::SendData { peer, text }).await;
    }

    pub async fn leave(&self, peer: PeerId) {
        let _ = self.tx.send(Command::Leave { peer }).await;
    }

    /// Leaves without waiting, for use from `Drop`.
    pub fn leave_now(&self, peer: PeerId) {
        let _ = self.tx.try_send(Command::Leave { peer });
    }

    pub async fn tracks(&self, room: String) -> Result<Vec<TrackInfo>, Stopped> {
        self.call(|reply| Command::Tracks { room, reply }).await
    }

    pub async fn stats(&self) -> Result<SfuStats, Stopped> {
        self.call(|reply| Command::Stats { reply }).await
    }

    /// Relays a camera's frames to viewers who join the room `key` as [`PeerKind::Camera`],
    /// until `frames` closes (its ingest stopped), when the viewers are let go. Frames the engine
    /// cannot take in time are dropped and counted, never queued without end.
    ///
    /// [`PeerKind::Camera`]: crate::PeerKind::Camera
    pub async fn relay_camera(&self, key: &str, mut frames: broadcast::Receiver<CameraFrame>) -> Result<(), Stopped> {
        let key: Arc<str> = key.into();
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        self.tx.send(Command::AttachCamera { key: key.clone(), generation }).await.map_err(|_| Stopped)?;
        let tx = self.tx.clone();
        tokio::spawn(async move {
            loop {
                match frames.recv().await {
                    Ok(frame) => {
                        let cmd = Command::CameraFrame { key: key.clone(), generation, frame };
                        match tx.try_send(cmd) {
                            Ok(()) => {}
                            Err(mpsc::error::TrySendError::Full(_)) => {
                                metrics::counter!("q10_sfu_camera_frames_dropped_total").increment(1);
                            }
                            Err(mpsc::error::TrySendError::Closed(_)) => return,
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        metrics::counter!("q10_sfu_camera_frames_dropped_total").increment(n);
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
            let _ = tx.send(Command::DetachCamera { key, generation }).await;
        });
        Ok(())
    }

    /// Starts or stops recording a room; `Ok(false)` when it already was as asked.
    pub async fn record(&self, room: String, on: bool) -> Result<bool, SfuError> {
        self.call(|reply| Command::Record { room, on, reply }).await?
    }
}

/// Largest datagram read; anything longer is not WebRTC traffic.
const MAX_DATAGRAM: usize = 2048;

/// The recorder thread's inbox, where recording is configured.
type Recorder = Option<std::sync::mpsc::Sender<RecordCommand>>;

async fn run(mut sfu: Sfu, socket: Arc<UdpSocket>, mut rx: mpsc::Receiver<Command>, recorder: Recorder) {
    let mut routes: HashMap<PeerId, mpsc::UnboundedSender<Signal>> = HashMap::new();
    let mut stats = SfuStats::default();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let deadline = pump(&mut sfu, &socket, &mut routes, &mut stats, &recorder);
        // Under steady traffic the socket is always ready and would win every select below:
        // time must still reach the engine (pacing, retransmissions, keep-alives) when due.
        let now = Instant::now();
        if deadline <= now {
            sfu.handle_input(str0m::Input::Timeout(now));
            continue;
        }
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
        tokio::select! {
            biased;
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { break };
                command(&mut sfu, &mut routes, &mut stats, &recorder, cmd);
                // Take whatever else is queued before polling again.
                while let Ok(cmd) = rx.try_recv() {
                    command(&mut sfu, &mut routes, &mut stats, &recorder, cmd);
                }
            }
            r = socket.recv_from(&mut buf) => {
                match r {
                    Ok((n, source)) => {
                        stats.datagrams_in += 1;
                        sfu.handle_datagram(Instant::now(), source, &buf[..n]);
                        // Drain what has already arrived before polling, to batch the work.
                        for _ in 0..64 {
                            match socket.try_recv_from(&mut buf) {
                                Ok((n, source)) => {
                                    stats.datagrams_in += 1;
                                    sfu.handle_datagram(Instant::now(), source, &buf[..n]);
                                }
                                Err(_) => break,
                            }
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "media socket read failed"),
                }
            }
            _ = sleep => sfu.handle_input(str0m::Input::Timeout(Instant::now())),
        }
    }
    tracing::info!("media server stopped");
}

/// Sends what the engine has to send and delivers its signals; returns its next deadline.
fn pump(
    sfu: &mut Sfu,
    socket: &UdpSocket,
    routes: &mut HashMap<PeerId, mpsc::UnboundedSender<Signal>>,
    stats: &mut SfuStats,
    recorder: &Recorder,
) -> Instant {
    loop {
        match sfu.poll_output() {
            SfuOutput::Transmit(t) => {
                stats.datagrams_out += 1;
                if let Err(e) = socket.try_send_to(&t.contents, t.destination) {
                    metrics::counter!("q10_sfu_datagrams_dropped_total").increment(1);
                    tracing::trace!(error = %e, "media send dropped");
                }
            }
            SfuOutput::Signal(peer, signal) => {
                let gone = matches!(signal, Signal::Gone);
                if let Some(tx) = routes.get(&peer) {
                    let _ = tx.send(signal);
                }
                if gone {
                    routes.remove(&peer);
                }
            }
            SfuOutput::Record(cmd) => {
                if let Some(r) = recorder {
                    let _ = r.send(cmd);
                }
            }
            SfuOutput::Timeout(t) => return t,
        }
    }
}

fn command(
    sfu: &mut Sfu,
    routes: &mut HashMap<PeerId, mpsc::UnboundedSender<Signal>>,
    stats: &mut SfuStats,
    recorder: &Recorder,
    cmd: Command,
) {
    match cmd {
        Command::Join { req, offer, reply } => {
            let result = sfu.join(req, offer).map(|(peer, answer)| {
                let (tx, signals) = mpsc::unbounded_channel();
                routes.insert(peer, tx);
                Joined { peer, answer, signals }
            });
            let _ = reply.send(result);
        }
        Command::Offer { peer, offer, reply } => {
            let _ = reply.send(sfu.offer(peer, offer));
        }
        Command::Answer { peer, answer, reply } => {
            let _ = reply.send(sfu.answer(peer, answer));
        }
        Command::Candidate { peer, candidate, reply } => {
            let _ = reply.send(sfu.add_remote_candidate(peer, &candidate));
        }
        Command::PreferLayer { peer, publisher, mid, layer } => {
            sfu.prefer_layer(peer, publisher, &mid, layer.as_deref());
        }
        Command::SendData { peer, text } => {
            sfu.send_data(peer, &text);
        }
        Command::Leave { peer } => {
            sfu.leave(peer);
            routes.remove(&peer);
        }
        Command::Tracks { room, reply } => {
            let _ = reply.send(sfu.room_tracks(&room));
        }
        Command::Record { room, on, reply } => {
            let result = match recorder {
                Some(_) => Ok(sfu.set_recording(&room, on)),
                None => Err(SfuError::RecordingUnavailable),
            };
            let _ = reply.send(result);
        }
        Command::AttachCamera { key, generation } => sfu.attach_camera(&key, generation),
        Command::DetachCamera { key, generation } => sfu.detach_camera(&key, generation),
        Command::CameraFrame { key, generation, frame } => sfu.camera_frame(&key, generation, &frame),
        Command::Stats { reply } => {
            stats.participants = sfu.peer_count();
            stats.tracks = sfu.track_count();
            stats.cameras = sfu.camera_count();
            let _ = reply.send(*stats);
        }
    }
}
