//! webrtc-rs 0.21 peers, a WebRTC stack we did not write, through the signaling WebSocket and the
//! SFU on loopback: publishing audio and simulcast video, receiving it, the layer a subscriber
//! gets when its link narrows, and resuming with an ICE restart after the signaling connection
//! drops.
//!
//! The publisher writes RTP itself: Opus-sized audio packets and VP8 frames whose last byte names
//! their simulcast layer, so a subscriber can tell which layer the SFU forwards to it.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Server, serve, serve_media};
use futures_util::{SinkExt, StreamExt};
use q10_signaling::SignalingConfig;
use q10_signaling_proto::ParticipantRole;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::network_type::NetworkType;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp::header::Header;
use rtc::rtp::packet::Packet;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use serde_json::{Value, json};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    RTCPeerConnectionState, RTCSessionDescription, Registry, SettingEngineBuilder, configure_twcc,
    register_default_interceptors,
};
use webrtc::rtp_transceiver::RtpSender;

/// Simulcast layers as the publisher sends them: rid, SSRC, bytes per frame at 30 frames a second
/// (about 720, 240 and 72 kbit/s).
const LAYERS: [(&str, u32, usize); 3] = [("h", 0x0a01, 3_000), ("m", 0x0a02, 1_000), ("l", 0x0a03, 300)];
const AUDIO_SSRC: u32 = 0x0b01;

/// What one peer has received, per kind and per video layer.
#[derive(Debug, Default)]
struct Received {
    audio_packets: u64,
    video_packets: u64,
    /// Last bytes of video frames in the order they were sent: the layer each came from.
    video_layers: Vec<u8>,
    /// The newest video frame's RTP timestamp; frames older than it are retransmissions of what
    /// was lost earlier, not what is being forwarded now.
    newest_frame: Option<u32>,
    late_frames: u64,
}

impl Received {
    fn frames_of(&self, layer: u8) -> usize {
        self.video_layers.iter().filter(|l| **l == layer).count()
    }

    /// The layers of the last `n` frames.
    fn recent(&self, n: usize) -> &[u8] {
        &self.video_layers[self.video_layers.len().saturating_sub(n)..]
    }
}

struct Events {
    /// Counts completed gatherings (one after every local description).
    gathered: watch::Sender<u64>,
    state: watch::Sender<RTCPeerConnectionState>,
    received: Arc<Mutex<Received>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_gathering_state_change(&self, s: RTCIceGatheringState) {
        if s == RTCIceGatheringState::Complete {
            self.gathered.send_modify(|n| *n += 1);
        }
    }

    async fn on_connection_state_change(&self, s: RTCPeerConnectionState) {
        let _ = self.state.send(s);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        // Handlers run on the connection's own task: read the track elsewhere.
        let received = self.received.clone();
        tokio::spawn(async move {
            let kind = track.kind().await;
            while let Some(event) = track.poll().await {
                match event {
                    TrackRemoteEvent::OnRtpPacket(p) => {
                        let mut r = received.lock().unwrap();
                        if kind == RtpCodecKind::Audio {
                            r.audio_packets += 1;
                        } else {
                            r.video_packets += 1;
                            if p.header.marker
                                && let Some(last) = p.payload.last()
                            {
                                let ts = p.header.timestamp;
                                let newer = r.newest_frame.is_none_or(|n| ts.wrapping_sub(n) as i32 > 0);
                                if newer {
                                    r.newest_frame = Some(ts);
                                    r.video_layers.push(*last);
                                } else {
                                    r.late_frames += 1;
                                }
                            }
                        }
                    }
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        });
    }
}

/// Rewrites the server's host candidate so that media goes through a relay instead.
#[derive(Clone, Copy)]
struct Detour {
    server: u16,
    relay: u16,
}

fn rewrite(sdp: &str, detour: Option<Detour>) -> String {
    match detour {
        Some(d) => sdp.replace(&format!(" {} typ host", d.server), &format!(" {} typ host", d.relay)),
        None => sdp.to_string(),
    }
}

/// What a test asks of a peer's signaling driver.
enum Command {
    /// Make an offer (to restart ICE, say).
    Offer(RTCOfferOptions),
    /// Send this message as it is.
    Send(Value),
}

/// A webrtc-rs peer joined to a room through the signaling WebSocket.
struct Peer {
    pc: Arc<dyn PeerConnection>,
    state: watch::Receiver<RTCPeerConnectionState>,
    gathered: watch::Receiver<u64>,
    received: Arc<Mutex<Received>>,
    /// Signaling messages other than SDP, as they arrive.
    messages: mpsc::UnboundedReceiver<Value>,
    /// Asks the driver for another offer (ICE restart, new media) or to send a message.
    commands: mpsc::UnboundedSender<Command>,
    joined: Value,
    driver: tokio::task::JoinHandle<()>,
}

async fn new_pc(events: Events) -> Arc<dyn PeerConnection> {
    let mut media = MediaEngine::default();
    media.register_default_codecs().unwrap();
    let registry = register_default_interceptors(Registry::new(), &mut media).unwrap();
    let registry = configure_twcc(registry, &mut media).unwrap();
    // Only loopback here: no mDNS, IPv4 UDP on 127.0.0.1.
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_network_types(vec![NetworkType::Udp4])
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(settings)
        .with_handler(Arc::new(events))
        .with_udp_addrs(vec!["127.0.0.1:0"])
        .build()
        .await
        .unwrap();
    Arc::new(pc)
}

fn coding(rid: &str, ssrc: u32, mime: &str, clock_rate: u32, channels: u16) -> RTCRtpEncodingParameters {
    RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters { rid: rid.into(), ssrc: Some(ssrc), ..Default::default() },
        codec: RTCRtpCodec { mime_type: mime.into(), clock_rate, channels, ..Default::default() },
        ..Default::default()
    }
}

/// Media this peer publishes.
struct Tracks {
    audio: Arc<TrackLocalStaticRTP>,
    audio_sender: Arc<dyn RtpSender>,
    video: Arc<TrackLocalStaticRTP>,
    video_sender: Arc<dyn RtpSender>,
}

async fn add_tracks(pc: &Arc<dyn PeerConnection>) -> Tracks {
    let audio = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "cam".into(),
        "mic".into(),
        "mic".into(),
        RtpCodecKind::Audio,
        vec![coding("", AUDIO_SSRC, MIME_TYPE_OPUS, 48_000, 2)],
    )));
    let video = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "cam".into(),
        "camera".into(),
        "camera".into(),
        RtpCodecKind::Video,
        LAYERS.iter().map(|(rid, ssrc, _)| coding(rid, *ssrc, MIME_TYPE_VP8, 90_000, 0)).collect(),
    )));
    let audio_sender = pc.add_track(audio.clone() as Arc<dyn TrackLocal>).await.unwrap();
    let video_sender = pc.add_track(video.clone() as Arc<dyn TrackLocal>).await.unwrap();
    Tracks { audio, audio_sender, video, video_sender }
}

/// Offers (when asked), answers the server's offers, and hands every other message on.
async fn drive(
    pc: Arc<dyn PeerConnection>,
    mut ws: common::Ws,
    mut gathered: watch::Receiver<u64>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    messages: mpsc::UnboundedSender<Value>,
    detour: Option<Detour>,
) {
    let mut waiting_for_answer = false;
    let mut ping = tokio::time::interval(Duration::from_secs(10));
    // Sets a local description and returns it with the candidates gathered.
    async fn local(
        pc: &Arc<dyn PeerConnection>,
        gathered: &mut watch::Receiver<u64>,
        desc: RTCSessionDescription,
    ) -> String {
        let before = *gathered.borrow_and_update();
        pc.set_local_description(desc).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), gathered.wait_for(|n| *n > before))
            .await
            .expect("candidates gathered")
            .unwrap();
        pc.local_description().await.unwrap().sdp
    }
    loop {
        tokio::select! {
            Some(command) = commands.recv() => {
                let options = match command {
                    Command::Offer(options) => options,
                    Command::Send(m) => {
                        if ws.send(Message::Text(m.to_string().into())).await.is_err() {
                            return;
                        }
                        continue;
                    }
                };
                let offer = pc.create_offer(Some(options)).await.unwrap();
                let sdp = local(&pc, &mut gathered, offer).await;
                waiting_for_answer = true;
                if ws.send(Message::Text(json!({ "type": "offer", "sdp": sdp }).to_string().into())).await.is_err() {
                    return;
                }
            }
            _ = ping.tick() => {
                if ws.send(Message::Text(json!({ "type": "ping", "id": 1 }).to_string().into())).await.is_err() {
                    return;
                }
            }
            incoming = ws.next() => {
                let Some(Ok(Message::Text(text))) = incoming else { return };
                let m: Value = serde_json::from_str(&text).unwrap();
                match m["type"].as_str() {
                    Some("answer") => {
                        let sdp = rewrite(m["sdp"].as_str().unwrap(), detour);
                        pc.set_remote_description(RTCSessionDescription::answer(sdp).unwrap()).await.unwrap();
                        waiting_for_answer = false;
                    }
                    // While our own offer waits, the server drops its offer and makes it again later.
                    Some("offer") if waiting_for_answer => {}
                    Some("offer") => {
                        let sdp = rewrite(m["sdp"].as_str().unwrap(), detour);
                        pc.set_remote_description(RTCSessionDescription::offer(sdp).unwrap()).await.unwrap();
                        let answer = pc.create_answer(None).await.unwrap();
                        let sdp = local(&pc, &mut gathered, answer).await;
                        if ws.send(Message::Text(json!({ "type": "answer", "sdp": sdp }).to_string().into())).await.is_err() {
                            return;
                        }
                    }
                    _ => {
                        let _ = messages.send(m);
                    }
                }
            }
        }
    }
}

impl Peer {
    /// Joins `room`, publishing simulcast video and audio when `publish`, and makes the first offer.
    async fn join(
        server: &Server,
        room: &str,
        identity: &str,
        publish: bool,
        detour: Option<Detour>,
    ) -> (Peer, Option<Tracks>) {
        let (gathered_tx, gathered) = watch::channel(0u64);
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let received = Arc::new(Mutex::new(Received::default()));
        let pc = new_pc(Events { gathered: gathered_tx, state: state_tx, received: received.clone() }).await;
        let tracks = if publish { Some(add_tracks(&pc).await) } else { None };
        // A peer that only receives still needs something to offer: the chat channel.
        pc.create_data_channel("chat", None).await.unwrap();
        let role = if publish { ParticipantRole::Speaker } else { ParticipantRole::Listener };
        let (ws, joined) = common::join_raw(server, room, identity, role).await;
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (messages_tx, messages) = mpsc::unbounded_channel();
        let driver = tokio::spawn(drive(pc.clone(), ws, gathered.clone(), commands_rx, messages_tx, detour));
        commands.send(Command::Offer(RTCOfferOptions::default())).unwrap();
        let peer = Peer { pc, state, gathered, received, messages, commands, joined, driver };
        (peer, tracks)
    }

    async fn connected(&mut self) {
        let deadline = Duration::from_secs(15);
        tokio::time::timeout(deadline, self.state.wait_for(|s| *s == RTCPeerConnectionState::Connected))
            .await
            .expect("the peer connects within 15 seconds")
            .unwrap();
    }

    /// Waits up to `secs` for `what` to hold of what was received.
    async fn until(&self, secs: u64, what: &str, check: impl Fn(&Received) -> bool) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(secs) {
            if check(&self.received.lock().unwrap()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what} within {secs} s; received {:?}", self.received.lock().unwrap());
    }

    /// Reads `layers` messages until one's active layers pass `check`, within 10 seconds.
    async fn layers_until(&mut self, check: impl Fn(&[&str]) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        loop {
            let Ok(Some(m)) = tokio::time::timeout_at(deadline, self.messages.recv()).await else {
                panic!("no layers message as expected within 10 s; saw {seen:?}");
            };
            if m["type"] == "layers" {
                let active: Vec<&str> = m["active"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
                if check(&active) {
                    return m;
                }
                seen.push(m["active"].clone());
            }
        }
    }

    /// The next signaling message of type `kind` within 10 seconds.
    async fn message(&mut self, kind: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let m = tokio::time::timeout_at(deadline, self.messages.recv())
                .await
                .unwrap_or_else(|_| panic!("no {kind} message within 10 s"))
                .expect("the signaling connection is open");
            if m["type"] == kind {
                return m;
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// A publisher's media, sent until dropped.
struct Media(tokio::task::JoinHandle<()>);

impl Drop for Media {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A connected publisher in room "r1", sending audio and simulcast video.
async fn publishing(server: &Server) -> (Peer, Media) {
    let (mut publisher, tracks) = Peer::join(server, "r1", "publisher", true, None).await;
    publisher.connected().await;
    let media = Media(pump(publisher.pc.clone(), tracks.expect("a publisher has tracks")));
    (publisher, media)
}

/// A connected viewer in room "r1", its media through `detour` if given.
async fn viewing(server: &Server, detour: Option<Detour>) -> Peer {
    let (mut viewer, _) = Peer::join(server, "r1", "viewer", false, detour).await;
    viewer.connected().await;
    viewer
}

/// Sends audio every 20 ms and three VP8 layers every 33 ms until dropped; a keyframe on each
/// layer every second and whenever asked by PLI is approximated by one every 15 frames.
fn pump(pc: Arc<dyn PeerConnection>, tracks: Tracks) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let audio_params = tracks.audio_sender.get_parameters().await.unwrap();
        let video_params = tracks.video_sender.get_parameters().await.unwrap();
        let pt = |p: &rtc::rtp_transceiver::rtp_sender::RTCRtpSendParameters, mime: &str| {
            p.rtp_parameters
                .codecs
                .iter()
                .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
                .unwrap()
                .payload_type
        };
        let ext = |uri: &str| {
            video_params.rtp_parameters.header_extensions.iter().find(|e| e.uri == uri).map(|e| e.id as u8).unwrap()
        };
        let (opus, vp8) = (pt(&audio_params, MIME_TYPE_OPUS), pt(&video_params, MIME_TYPE_VP8));
        let (mid_ext, rid_ext) = (ext(rtc::sdp::extmap::SDES_MID_URI), ext(rtc::sdp::extmap::SDES_RTP_STREAM_ID_URI));
        let mut video_mid = None;
        for t in pc.get_transceivers().await {
            if let Ok(Some(s)) = t.sender().await
                && s.id() == tracks.video_sender.id()
            {
                video_mid = t.mid().await.unwrap();
            }
        }
        let video_mid = video_mid.expect("the video section has a mid");
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let mut seq_audio = 0u16;
        let mut seq_video = [0u16; 3];
        for n in 0u32.. {
            tick.tick().await;
            if n % 2 == 0 {
                let header = Header {
                    version: 2,
                    payload_type: opus,
                    sequence_number: seq_audio,
                    timestamp: n / 2 * 960,
                    ssrc: AUDIO_SSRC,
                    ..Default::default()
                };
                seq_audio = seq_audio.wrapping_add(1);
                let _ = tracks.audio.write_rtp(Packet { header, payload: Bytes::from_static(&[0xfc; 60]) }).await;
            }
            if n % 3 != 0 {
                continue;
            }
            let frame = n / 3;
            let keyframe = frame % 15 == 0;
            for (i, (rid, ssrc, size)) in LAYERS.iter().enumerate() {
                // A VP8 frame: the payload header's P bit says key or delta frame; the last byte
                // names the layer.
                let mut data = vec![0u8; *size];
                data[0] = if keyframe { 0x10 } else { 0x11 };
                data[1..4].copy_from_slice(&[0x9d, 0x01, 0x2a]);
                *data.last_mut().unwrap() = rid.as_bytes()[0];
                let chunks: Vec<&[u8]> = data.chunks(1_000).collect();
                for (c, chunk) in chunks.iter().enumerate() {
                    // VP8 payload descriptor: S bit on the first packet of the frame.
                    let mut payload = vec![if c == 0 { 0x10 } else { 0x00 }];
                    payload.extend_from_slice(chunk);
                    let mut header = Header {
                        version: 2,
                        payload_type: vp8,
                        sequence_number: seq_video[i],
                        timestamp: frame * 3_000,
                        ssrc: *ssrc,
                        marker: c == chunks.len() - 1,
                        ..Default::default()
                    };
                    seq_video[i] = seq_video[i].wrapping_add(1);
                    header.set_extension(mid_ext, Bytes::from(video_mid.clone())).unwrap();
                    header.set_extension(rid_ext, Bytes::from(rid.to_string())).unwrap();
                    let _ = tracks.video.write_rtp(Packet { header, payload: payload.into() }).await;
                }
            }
        }
    })
}

/// A UDP relay between a peer and the SFU whose downlink (SFU to peer) can be narrowed: packets
/// queue at the set rate and are dropped beyond 150 ms of queue, as on a congested link; and
/// made lossy: a share of the packets, picked at random, never arrives.
struct Relay {
    port: u16,
    /// Downlink rate in bits per second; 0 for no limit.
    rate: watch::Sender<u64>,
    /// Downlink loss in per cent.
    loss: watch::Sender<u32>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(server: SocketAddr) -> Relay {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let port = socket.local_addr().unwrap().port();
        let (rate, rate_rx) = watch::channel(0u64);
        let (loss, loss_rx) = watch::channel(0u32);
        let (down_tx, mut down_rx) = mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>, SocketAddr)>();
        let sender = socket.clone();
        let downlink = tokio::spawn(async move {
            while let Some((at, bytes, to)) = down_rx.recv().await {
                tokio::time::sleep_until(at).await;
                let _ = sender.send_to(&bytes, to).await;
            }
        });
        let task = tokio::spawn(async move {
            let _downlink = downlink;
            let mut peer: Option<SocketAddr> = None;
            let mut free_at = tokio::time::Instant::now();
            let mut buf = vec![0u8; 2_048];
            // xorshift64: the loss pattern, the same on every run.
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else { return };
                if from == server {
                    let Some(to) = peer else { continue };
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if (x % 100) < u64::from(*loss_rx.borrow()) {
                        continue;
                    }
                    let rate = *rate_rx.borrow();
                    let now = tokio::time::Instant::now();
                    if rate == 0 {
                        let _ = socket.send_to(&buf[..n], to).await;
                        continue;
                    }
                    let start = free_at.max(now);
                    if start - now > Duration::from_millis(150) {
                        continue;
                    }
                    free_at = start + Duration::from_secs_f64(n as f64 * 8.0 / rate as f64);
                    let _ = down_tx.send((free_at, buf[..n].to_vec(), to));
                } else {
                    peer = Some(from);
                    let _ = socket.send_to(&buf[..n], server).await;
                }
            }
        });
        Relay { port, rate, loss, task }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_and_simulcast_video_reach_a_subscriber() {
    let server = serve(SignalingConfig::default()).await;
    let (publisher, _media) = publishing(&server).await;
    let mut viewer = viewing(&server, None).await;

    let mut kinds = Vec::new();
    for _ in 0..2 {
        let t = viewer.message("track_published").await;
        assert_eq!(t["track"]["participant"], publisher.joined["you"]["id"]);
        kinds.push(t["track"]["kind"].as_str().unwrap().to_string());
    }
    kinds.sort();
    assert_eq!(kinds, ["audio", "video"]);
    viewer.until(15, "audio and video arrive", |r| r.audio_packets > 50 && r.video_layers.len() > 30).await;
    // With room to spare, the subscriber is sent the best layer.
    viewer.until(20, "the top layer is forwarded", |r| r.recent(10).iter().all(|l| *l == b'h')).await;
    let mapping = viewer.message("track_mapping").await;
    assert_eq!(mapping["participant"], publisher.joined["you"]["id"]);

    // The subscriber restarts ICE on its live session (as after a network change): media goes on.
    let ufrag_before = ice_ufrag(&viewer.pc.local_description().await.unwrap().sdp);
    viewer.commands.send(Command::Offer(RTCOfferOptions { ice_restart: true })).unwrap();
    let before = viewer.received.lock().unwrap().video_layers.len();
    viewer.until(10, "video after the restart", |r| r.video_layers.len() > before + 60).await;
    assert_ne!(ice_ufrag(&viewer.pc.local_description().await.unwrap().sdp), ufrag_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_whose_link_narrows_is_switched_to_a_lower_layer() {
    let server = serve(SignalingConfig::default()).await;
    let (_publisher, _media) = publishing(&server).await;

    let relay = Relay::start(server.sfu.local_addr()).await;
    let detour = Detour { server: server.sfu.local_addr().port(), relay: relay.port };
    let viewer = viewing(&server, Some(detour)).await;
    viewer
        .until(20, "the top layer is forwarded", |r| {
            r.recent(10).len() == 10 && r.recent(10).iter().all(|l| *l == b'h')
        })
        .await;

    // The link drops to 350 kbit/s: too little for the top layer (about 720 kbit/s).
    relay.rate.send(350_000).unwrap();
    viewer
        .until(30, "a lower layer is forwarded", |r| {
            r.recent(15).len() == 15 && r.recent(15).iter().all(|l| *l == b'm' || *l == b'l')
        })
        .await;
    let before = viewer.received.lock().unwrap().frames_of(b'h');
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = viewer.received.lock().unwrap().frames_of(b'h');
    assert!(after - before <= 1, "the top layer keeps coming: {} frames in 2 s", after - before);

    // Room again: the subscriber climbs back.
    relay.rate.send(0).unwrap();
    viewer.until(40, "the top layer comes back", |r| r.recent(10).iter().all(|l| *l == b'h')).await;
}

/// A telehealth call on a poor link: under 300 kbit/s with 10 % loss, the video drops to a lower
/// layer and the audio (Opus, with in-band FEC negotiated) keeps arriving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_poor_link_video_degrades_and_audio_keeps_flowing() {
    let server = serve(SignalingConfig::default()).await;
    let (_publisher, _media) = publishing(&server).await;
    let relay = Relay::start(server.sfu.local_addr()).await;
    let detour = Detour { server: server.sfu.local_addr().port(), relay: relay.port };
    let viewer = viewing(&server, Some(detour)).await;
    let sdp = viewer.pc.remote_description().await.unwrap().sdp;
    let opus_fmtp = sdp.lines().find(|l| l.starts_with("a=fmtp:") && l.contains("minptime")).unwrap_or_default();
    assert!(opus_fmtp.contains("useinbandfec=1"), "Opus FEC is negotiated: {opus_fmtp}");
    viewer
        .until(20, "the top layer is forwarded", |r| {
            r.recent(10).len() == 10 && r.recent(10).iter().all(|l| *l == b'h')
        })
        .await;

    relay.rate.send(280_000).unwrap();
    relay.loss.send(10).unwrap();
    viewer
        .until(30, "a lower layer is forwarded", |r| {
            r.recent(15).len() == 15 && r.recent(15).iter().all(|l| *l == b'm' || *l == b'l')
        })
        .await;
    // Settled on the lower layer, the audio keeps coming: 50 packets a second are sent, and
    // about 45 get through a 10 % loss.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (audio, video) = {
        let r = viewer.received.lock().unwrap();
        (r.audio_packets, r.frames_of(b'h'))
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (audio_after, video_after) = {
        let r = viewer.received.lock().unwrap();
        (r.audio_packets, r.frames_of(b'h'))
    };
    let per_second = (audio_after - audio) as f64 / 5.0;
    eprintln!("poor link: {per_second:.1} audio packets/s, {} top-layer frames in 5 s", video_after - video);
    assert!(per_second >= 38.0, "audio keeps flowing: {per_second:.1} packets a second of 50 sent");
    assert!(video_after - video <= 2, "the top layer stays off: {} frames", video_after - video);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_that_reconnects_resumes_with_an_ice_restart() {
    let server = serve(SignalingConfig::default()).await;
    let (publisher, _media) = publishing(&server).await;
    let mut viewer = viewing(&server, None).await;
    viewer.until(15, "video arrives", |r| r.video_layers.len() > 30).await;
    let id = publisher.joined["you"]["id"].clone();

    // The signaling connection drops (a network change, say); the media session waits.
    publisher.driver.abort();
    let (ws, joined) = common::join_raw(&server, "r1", "publisher", ParticipantRole::Speaker).await;
    assert_eq!(joined["resumed"], true, "{joined}");
    assert_eq!(joined["you"]["id"], id, "the same participant");
    let participants = joined["participants"].as_array().unwrap();
    assert_eq!(participants.iter().filter(|p| p["identity"] == "publisher").count(), 1, "{joined}");

    // A new signaling driver for the same peer connection, and an offer that restarts ICE.
    let ufrag_before = ice_ufrag(&publisher.pc.local_description().await.unwrap().sdp);
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let (messages_tx, _messages) = mpsc::unbounded_channel();
    let pc = publisher.pc.clone();
    let driver = tokio::spawn(drive(pc.clone(), ws, publisher.gathered.clone(), commands_rx, messages_tx, None));
    commands.send(Command::Offer(RTCOfferOptions { ice_restart: true })).unwrap();
    let start = Instant::now();
    loop {
        let sdp = pc.local_description().await.map(|d| d.sdp).unwrap_or_default();
        if ice_ufrag(&sdp) != ufrag_before
            && pc.remote_description().await.is_some_and(|d| d.sdp_type.to_string() == "answer")
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the restart was answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Media keeps flowing to the viewer after the restart, and nobody saw the publisher leave.
    let before = viewer.received.lock().unwrap().video_layers.len();
    viewer.until(10, "video after the restart", |r| r.video_layers.len() > before + 60).await;
    while let Ok(m) = viewer.messages.try_recv() {
        assert_ne!(m["type"], "participant_left", "{m}");
    }
    driver.abort();
}

fn ice_ufrag(sdp: &str) -> String {
    sdp.lines().find_map(|l| l.strip_prefix("a=ice-ufrag:")).unwrap_or_default().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_behind_nat_is_reached_at_its_public_address() {
    // Bound to every interface and announcing another address, as behind 1:1 NAT: peers send to
    // the announced address, which the socket's own address is not.
    let config = q10_sfu::SfuConfig {
        udp: "0.0.0.0:0".parse().unwrap(),
        public_ip: Some("127.0.0.1".parse().unwrap()),
        ..q10_sfu::SfuConfig::default()
    };
    let server = serve_media(SignalingConfig::default(), config).await;
    let (_publisher, _media) = publishing(&server).await;
    let viewer = viewing(&server, None).await;
    viewer.until(15, "video arrives", |r| r.video_layers.len() > 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_records_the_room_into_standard_files() {
    let server = serve(SignalingConfig::default()).await;
    let (mut host, _) = server.join("r1", "host", ParticipantRole::Host, None).await;
    let (mut publisher, media) = publishing(&server).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    host.send(json!({ "type": "moderate", "action": { "do": "record", "on": true } })).await;
    let started = host.expect("recording").await;
    assert_eq!(started["on"], true, "{started}");
    // Whoever is in the room, or joins it, is told it is being recorded.
    assert_eq!(publisher.message("recording").await["on"], true);
    let (mut late, _) = server.join("r1", "late", ParticipantRole::Listener, None).await;
    assert_eq!(late.expect("recording").await["on"], true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    host.send(json!({ "type": "moderate", "action": { "do": "record", "on": false } })).await;
    assert_eq!(host.expect("recording").await["on"], false);
    drop(media);

    // One directory with a finished manifest naming both tracks.
    let mut manifest = Value::Null;
    let mut dir = std::path::PathBuf::new();
    for _ in 0..40 {
        if let Some(d) = std::fs::read_dir(&server.recordings).ok().and_then(|mut it| it.next()).and_then(Result::ok) {
            dir = d.path();
            if let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) {
                manifest = serde_json::from_str(&text).unwrap();
                if !manifest["stopped_ms"].is_null() {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!manifest["stopped_ms"].is_null(), "the recording finished: {manifest}");
    assert_eq!(manifest["room"], "r1");
    let tracks = manifest["tracks"].as_array().unwrap();
    let codecs: Vec<&str> = tracks.iter().map(|t| t["codec"].as_str().unwrap()).collect();
    assert_eq!(codecs.len(), 2, "{manifest}");
    assert!(codecs.contains(&"opus") && codecs.contains(&"vp8"), "{manifest}");
    assert!(tracks.iter().all(|t| t["identity"] == "publisher"), "{manifest}");
    let track = |codec: &str| tracks.iter().find(|t| t["codec"] == codec).unwrap();

    // The video: IVF holding the best simulcast layer, starting on a keyframe.
    let vp8 = track("vp8");
    let ivf = std::fs::read(dir.join(vp8["file"].as_str().unwrap())).unwrap();
    assert_eq!(&ivf[0..4], b"DKIF");
    assert_eq!(&ivf[8..12], b"VP80");
    let frames = u32::from_le_bytes(ivf[24..28].try_into().unwrap());
    assert_eq!(u64::from(frames), vp8["frames"].as_u64().unwrap());
    assert!(frames > 60, "about 3 s at 30 frames a second: {frames}");
    let mut at = 32;
    let mut layers = Vec::new();
    while at + 12 <= ivf.len() {
        let size = u32::from_le_bytes(ivf[at..at + 4].try_into().unwrap()) as usize;
        let frame = &ivf[at + 12..at + 12 + size];
        if layers.is_empty() {
            assert_eq!(frame[0] & 0x01, 0, "the first frame is a keyframe");
        }
        layers.push(*frame.last().unwrap());
        at += 12 + size;
    }
    assert_eq!(at, ivf.len(), "frames fill the file exactly");
    assert!(layers.iter().all(|l| *l == b'h'), "only the top layer is recorded");

    // The audio: Ogg Opus that a standard reader takes apart.
    let opus = track("opus");
    let file = std::fs::File::open(dir.join(opus["file"].as_str().unwrap())).unwrap();
    let mut reader = ogg::PacketReader::new(std::io::BufReader::new(file));
    let mut packets = Vec::new();
    while let Some(p) = reader.read_packet().unwrap() {
        packets.push(p.data);
    }
    assert!(packets[0].starts_with(b"OpusHead") && packets[1].starts_with(b"OpusTags"));
    assert!(packets.len() > 100, "about 3 s of 20 ms packets: {}", packets.len());
    assert!(packets[2..packets.len() - 1].iter().all(|p| p.len() == 60));
    let _ = std::fs::remove_dir_all(&server.recordings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_nobody_watches_are_paused_and_resumed_when_wanted() {
    let server = serve(SignalingConfig::default()).await;
    let (mut publisher, _media) = publishing(&server).await;
    let mut viewer = viewing(&server, None).await;
    let video = loop {
        let t = viewer.message("track_published").await;
        if t["track"]["kind"] == "video" {
            break t["track"].clone();
        }
    };
    viewer
        .until(15, "the top layer is forwarded", |r| {
            r.recent(10).len() == 10 && r.recent(10).iter().all(|l| *l == b'h')
        })
        .await;

    // The only viewer shows it small: the layers above the one it wants are asked to stop.
    let prefer = |layer: Value| json!({ "type": "prefer_layer", "participant": video["participant"], "mid": video["mid"], "layer": layer });
    viewer.commands.send(Command::Send(prefer(json!("l")))).unwrap();
    let layers = publisher.layers_until(|active| active == ["l"]).await;
    assert_eq!(layers["mid"], video["mid"]);
    viewer.until(10, "the lowest layer is forwarded", |r| r.recent(10).iter().all(|l| *l == b'l')).await;

    // Shown large again: a better layer is asked back, and the viewer gets it.
    viewer.commands.send(Command::Send(prefer(Value::Null))).unwrap();
    publisher.layers_until(|active| active.len() >= 2).await;
    viewer.until(15, "a better layer comes back", |r| r.recent(10).iter().all(|l| *l != b'l')).await;
}
