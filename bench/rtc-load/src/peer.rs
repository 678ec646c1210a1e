//! One synthetic participant: a str0m peer on its own UDP socket. A publisher sends VP8 frames of
//! one RTP packet each at a set bitrate, stamped with the moment they were written; a subscriber
//! counts what arrives and how long after its stamp. A camera viewer receives a relayed camera's
//! H.264 (no stamps) and counts its frames and bytes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

/// Where the stamp sits in a frame: after the VP8 frame tag and start code.
const STAMP_AT: usize = 4;

/// Figures shared by every peer of a run.
#[derive(Debug)]
pub struct Stats {
    /// The instant stamps count from.
    pub epoch: Instant,
    /// Whether the measured window is open.
    pub measuring: AtomicBool,
    pub received: AtomicU64,
    /// Payload bytes received in the window.
    pub bytes: AtomicU64,
    pub sent: AtomicU64,
    pub connected: AtomicU64,
    /// Incoming streams that have delivered at least one frame, over all subscribers.
    pub streams: AtomicU64,
    /// Forwarding delays seen in the window, in nanoseconds.
    pub delays: Mutex<Vec<u64>>,
}

impl Stats {
    pub fn new() -> Arc<Stats> {
        Arc::new(Stats {
            epoch: Instant::now(),
            measuring: AtomicBool::new(false),
            received: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            connected: AtomicU64::new(0),
            streams: AtomicU64::new(0),
            delays: Mutex::new(Vec::new()),
        })
    }
}

/// What a publisher sends.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub kbps: u32,
    pub packet_bytes: usize,
}

impl Load {
    /// Time between two frames (one packet each) at this bitrate.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.packet_bytes as f64 * 8.0 / (self.kbps as f64 * 1000.0))
    }
}

pub struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    stats: Arc<Stats>,
    /// The video section it publishes on, if it publishes.
    publish: Option<(Mid, Load)>,
    pending: Option<SdpPendingOffer>,
    seen: Vec<Mid>,
    keyframe_wanted: bool,
    /// Whether what it receives carries our stamps (not a camera's video).
    stamped: bool,
}

impl Peer {
    /// A peer on a new socket bound to `ip`, with that socket as its one host candidate.
    pub async fn new(ip: std::net::IpAddr, stats: Arc<Stats>) -> anyhow::Result<Peer> {
        let socket = UdpSocket::bind((ip, 0)).await?;
        let local = socket.local_addr()?;
        let mut rtc = Rtc::builder().set_stats_interval(None).build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        Ok(Peer {
            rtc,
            socket,
            local,
            stats,
            publish: None,
            pending: None,
            seen: Vec::new(),
            keyframe_wanted: true,
            stamped: true,
        })
    }

    /// An offer to publish one video stream.
    pub fn offer_video(&mut self, load: Load) -> SdpOffer {
        let mut api = self.rtc.sdp_api();
        let mid = api.add_media(MediaKind::Video, Direction::SendOnly, Some("load".into()), Some("video".into()), None);
        let (offer, pending) = api.apply().expect("a new section makes an offer");
        self.publish = Some((mid, load));
        self.pending = Some(pending);
        offer
    }

    /// An offer with only a data channel: something to start a session that will receive.
    pub fn offer_receive(&mut self) -> SdpOffer {
        let mut api = self.rtc.sdp_api();
        api.add_channel("load".into());
        let (offer, pending) = api.apply().expect("a channel makes an offer");
        self.pending = Some(pending);
        offer
    }

    /// A WHEP offer to watch a camera: one video section, receive only.
    pub fn offer_watch(&mut self) -> SdpOffer {
        let mut api = self.rtc.sdp_api();
        api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let (offer, pending) = api.apply().expect("a new section makes an offer");
        self.pending = Some(pending);
        self.stamped = false;
        offer
    }

    pub fn accept_answer(&mut self, answer: SdpAnswer) -> anyhow::Result<()> {
        let pending = self.pending.take().ok_or_else(|| anyhow::anyhow!("no offer is waiting"))?;
        self.rtc.sdp_api().accept_answer(pending, answer)?;
        Ok(())
    }

    pub fn accept_offer(&mut self, offer: SdpOffer) -> anyhow::Result<SdpAnswer> {
        Ok(self.rtc.sdp_api().accept_offer(offer)?)
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::Connected => {
                self.stats.connected.fetch_add(1, Ordering::Relaxed);
            }
            Event::KeyframeRequest(_) => self.keyframe_wanted = true,
            Event::MediaData(d) => {
                if !self.seen.contains(&d.mid) {
                    self.seen.push(d.mid);
                    self.stats.streams.fetch_add(1, Ordering::Relaxed);
                }
                if !self.stats.measuring.load(Ordering::Relaxed) {
                    return;
                }
                self.stats.received.fetch_add(1, Ordering::Relaxed);
                self.stats.bytes.fetch_add(d.data.len() as u64, Ordering::Relaxed);
                if !self.stamped {
                    return;
                }
                if let Some(stamp) = d.data.get(STAMP_AT..STAMP_AT + 8) {
                    let ns = u64::from_le_bytes(stamp.try_into().expect("eight bytes"));
                    let sent = self.stats.epoch + Duration::from_nanos(ns);
                    let delay = d.network_time.saturating_duration_since(sent).as_nanos() as u64;
                    self.stats.delays.lock().expect("delays lock").push(delay);
                }
            }
            _ => {}
        }
    }

    /// Writes one frame now: a keyframe when one was asked for, else a delta frame.
    fn send_frame(&mut self, frame: u64, now: Instant) {
        let Some((mid, load)) = self.publish else { return };
        let Some(w) = self.rtc.writer(mid) else { return };
        let Some(pt) = w.payload_params().find(|p| p.spec().codec == Codec::Vp8).map(|p| p.pt()) else { return };
        let mut data = vec![0x11u8; load.packet_bytes];
        if std::mem::take(&mut self.keyframe_wanted) || frame.is_multiple_of(300) {
            data[0] = 0x10;
        }
        data[1..4].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        let ns = now.duration_since(self.stats.epoch).as_nanos() as u64;
        data[STAMP_AT..STAMP_AT + 8].copy_from_slice(&ns.to_le_bytes());
        if w.write(pt, now, MediaTime::from_90khz(frame * 3_000), data).is_ok()
            && self.stats.measuring.load(Ordering::Relaxed)
        {
            self.stats.sent.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Runs the peer until `stop`: answers offers from `offers` into `answers`, sends frames when
    /// publishing, and counts what it receives.
    pub async fn run(
        mut self,
        mut offers: mpsc::UnboundedReceiver<SdpOffer>,
        answers: mpsc::UnboundedSender<SdpAnswer>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut buf = vec![0u8; 2_048];
        let interval = self.publish.map(|(_, l)| l.interval());
        let mut next_frame = Instant::now();
        let mut frame = 0u64;
        loop {
            let timeout = loop {
                match self.rtc.poll_output() {
                    Ok(Output::Timeout(t)) => break t,
                    Ok(Output::Transmit(t)) => {
                        let _ = self.socket.send_to(&t.contents, t.destination).await;
                    }
                    Ok(Output::Event(e)) => self.on_event(e),
                    Err(_) => return,
                }
            };
            let deadline = match interval {
                Some(_) if self.rtc.is_connected() => timeout.min(next_frame),
                _ => timeout,
            };
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => {
                    let Ok((n, from)) = r else { return };
                    let now = Instant::now();
                    if let Ok(r) = Receive::new(Protocol::Udp, from, self.local, &buf[..n]) {
                        let _ = self.rtc.handle_input(Input::Receive(now, r));
                    }
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    let now = Instant::now();
                    if let Some(interval) = interval
                        && self.rtc.is_connected()
                        && now >= next_frame
                    {
                        self.send_frame(frame, now);
                        frame += 1;
                        next_frame += interval;
                        // After a stall, do not burst to catch up.
                        if next_frame < now {
                            next_frame = now + interval;
                        }
                    }
                    let _ = self.rtc.handle_input(Input::Timeout(now));
                }
                Some(offer) = offers.recv() => {
                    match self.accept_offer(offer) {
                        Ok(answer) => { let _ = answers.send(answer); }
                        Err(e) => eprintln!("cannot accept an offer: {e}"),
                    }
                }
                _ = stop.changed() => return,
            }
        }
    }
}
