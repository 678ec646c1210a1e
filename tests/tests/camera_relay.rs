//! Street cameras relayed live over WebRTC: the test camera ingested once, relayed by the SFU and
//! watched through `POST /whep/cameras/{id}` by webrtc-rs viewers, a WebRTC stack we did not write.
//! Each frame a viewer receives is put back together from its RTP packets and matched to the frame
//! the ingest took from the camera, NAL unit for NAL unit: the H.264 goes through untouched, and
//! the two times tell how long the relay took.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use q10_sfu::camera::{CameraState, Ingest, IngestOptions};
use q10_sfu::{SfuConfig, SfuHandle};
use q10_signaling::{JoinTokens, NewJoinToken, Signaling, SignalingConfig};
use q10_signaling_proto::ParticipantRole;
use q10_tests::camera::{TestCamera, free_port, test_camera};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::network_type::NetworkType;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use secrecy::SecretSlice;
use tokio::sync::watch;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    RTCPeerConnectionState, RTCSessionDescription, Registry, SettingEngineBuilder, register_default_interceptors,
};

const KEY: [u8; 32] = [7; 32];

/// A frame as the ingest took it from the camera.
#[derive(Clone)]
struct Taken {
    nals: Vec<Vec<u8>>,
    at: Instant,
    keyframe: bool,
}

/// A frame as a viewer received it, put back together, and when it was whole.
#[derive(Debug, Clone)]
struct Got {
    nals: Vec<Vec<u8>>,
    at: Instant,
}

impl Got {
    fn types(&self) -> Vec<u8> {
        self.nals.iter().filter_map(|n| n.first().map(|h| h & 0x1f)).collect()
    }
}

/// The NAL units of an Annex B access unit.
fn annex_b(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = None;
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i..i + 3] == [0, 0, 1] {
            if let Some(s) = start {
                out.push(trim(&data[s..i]));
            }
            i += 3;
            start = Some(i);
        } else {
            i += 1;
        }
    }
    if let Some(s) = start {
        out.push(trim(&data[s..]));
    }
    // Access unit delimiters say nothing a packetized stream does not: the relay leaves them out.
    out.retain(|n| n.first().is_some_and(|h| h & 0x1f != 9));
    out
}

/// A NAL unit without the zero bytes of a following four-byte start code.
fn trim(nal: &[u8]) -> Vec<u8> {
    let end = nal.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
    nal[..end].to_vec()
}

/// Adds an RTP payload of H.264 (RFC 6184: single NAL unit, STAP-A or FU-A) to the NAL units of
/// the frame being put together.
fn depacketize(payload: &[u8], nals: &mut Vec<Vec<u8>>) {
    let Some(&first) = payload.first() else { return };
    match first & 0x1f {
        24 => {
            let mut i = 1;
            while i + 2 <= payload.len() {
                let n = u16::from_be_bytes([payload[i], payload[i + 1]]) as usize;
                if let Some(nal) = payload.get(i + 2..i + 2 + n) {
                    nals.push(nal.to_vec());
                }
                i += 2 + n;
            }
        }
        28 if payload.len() > 2 => {
            let fu = payload[1];
            if fu & 0x80 != 0 {
                let mut nal = vec![(first & 0xe0) | (fu & 0x1f)];
                nal.extend_from_slice(&payload[2..]);
                nals.push(nal);
            } else if let Some(nal) = nals.last_mut() {
                nal.extend_from_slice(&payload[2..]);
            }
        }
        _ => nals.push(payload.to_vec()),
    }
}

/// An RTP packet as a viewer received it.
#[derive(Debug, Clone)]
struct Packet {
    seq: u16,
    marker: bool,
    payload: Vec<u8>,
    at: Instant,
}

/// The frames in what a viewer received, in sequence order: lost packets that came again on a
/// NACK go back in their place, and a frame is whole when its last packet came.
fn frames(packets: &[Packet]) -> Vec<Got> {
    let Some(first) = packets.first() else { return vec![] };
    let mut by_seq = std::collections::BTreeMap::new();
    let (mut last, mut unwrapped) = (first.seq, 0i64);
    for p in packets {
        unwrapped += p.seq.wrapping_sub(last) as i16 as i64;
        last = p.seq;
        by_seq.entry(unwrapped).or_insert(p);
    }
    let mut out = Vec::new();
    let (mut nals, mut at) = (Vec::new(), first.at);
    for p in by_seq.values() {
        depacketize(&p.payload, &mut nals);
        at = at.max(p.at);
        if p.marker {
            out.push(Got { nals: std::mem::take(&mut nals), at });
        }
    }
    out
}

struct Events {
    gathered: watch::Sender<bool>,
    state: watch::Sender<RTCPeerConnectionState>,
    packets: Arc<Mutex<Vec<Packet>>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_gathering_state_change(&self, s: RTCIceGatheringState) {
        if s == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_connection_state_change(&self, s: RTCPeerConnectionState) {
        let _ = self.state.send(s);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let packets = self.packets.clone();
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                match event {
                    TrackRemoteEvent::OnRtpPacket(p) => {
                        let packet = Packet {
                            seq: p.header.sequence_number,
                            marker: p.header.marker,
                            payload: p.payload.to_vec(),
                            at: Instant::now(),
                        };
                        packets.lock().unwrap().push(packet);
                    }
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        });
    }
}

/// The relay: the SFU and the signaling service on loopback, and the tokens they accept.
struct Relay {
    http: String,
    sfu: SfuHandle,
    tokens: JoinTokens,
}

async fn relay() -> Relay {
    let sfu =
        SfuHandle::start(&SfuConfig { udp: "127.0.0.1:0".parse().unwrap(), ..SfuConfig::default() }).await.unwrap();
    let signaling =
        Signaling::new(JoinTokens::new(SecretSlice::from(KEY.to_vec())), sfu.clone(), SignalingConfig::default(), None);
    let app = q10_signaling::router(signaling);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    Relay { http: format!("http://{addr}"), sfu, tokens: JoinTokens::new(SecretSlice::from(KEY.to_vec())) }
}

impl Relay {
    /// A watch token as the core mints one for camera `id`.
    fn token(&self, id: i64, identity: &str) -> String {
        let request = NewJoinToken {
            room: q10_core_api::camera_room(id),
            identity: identity.into(),
            name: identity.into(),
            role: ParticipantRole::Listener,
            unit: None,
            ttl: time::Duration::minutes(5),
            no_record: true,
        };
        self.tokens.mint(&request, time::OffsetDateTime::now_utc()).unwrap()
    }
}

struct Viewer {
    pc: Arc<dyn PeerConnection>,
    state: watch::Receiver<RTCPeerConnectionState>,
    packets: Arc<Mutex<Vec<Packet>>>,
    /// The WHEP session's URL.
    location: String,
}

/// An offer with one receive-only video section, as a WHEP player makes it.
async fn offer() -> (Arc<dyn PeerConnection>, watch::Receiver<RTCPeerConnectionState>, Arc<Mutex<Vec<Packet>>>, String)
{
    let mut media = MediaEngine::default();
    media.register_default_codecs().unwrap();
    let registry = register_default_interceptors(Registry::new(), &mut media).unwrap();
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_network_types(vec![NetworkType::Udp4])
        .build();
    let (gathered_tx, mut gathered) = watch::channel(false);
    let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
    let packets = Arc::new(Mutex::new(Vec::new()));
    let events = Events { gathered: gathered_tx, state: state_tx, packets: packets.clone() };
    let pc = PeerConnectionBuilder::new()
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(settings)
        .with_handler(Arc::new(events))
        .with_udp_addrs(vec!["127.0.0.1:0"])
        .build()
        .await
        .unwrap();
    let pc: Arc<dyn PeerConnection> = Arc::new(pc);
    let init = RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Recvonly, ..Default::default() };
    pc.add_transceiver_from_kind(RtpCodecKind::Video, Some(init)).await.unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(offer).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), gathered.wait_for(|g| *g)).await.expect("candidates").unwrap();
    let sdp = pc.local_description().await.unwrap().sdp;
    (pc, state, packets, sdp)
}

/// `POST /whep/cameras/{id}` with `token`: the status and, when created, the answer and Location.
async fn post_offer(relay: &Relay, path: &str, token: &str, sdp: &str) -> (u16, String, Option<String>) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", relay.http))
        .bearer_auth(token)
        .header("content-type", "application/sdp")
        .body(sdp.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    (status, r.text().await.unwrap(), location)
}

async fn watch_camera(relay: &Relay, id: i64, identity: &str) -> Viewer {
    let (pc, mut state, packets, sdp) = offer().await;
    let (status, answer, location) =
        post_offer(relay, &format!("/whep/cameras/{id}"), &relay.token(id, identity), &sdp).await;
    assert_eq!(status, 201, "{answer}");
    pc.set_remote_description(RTCSessionDescription::answer(answer).unwrap()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(15), state.wait_for(|s| *s == RTCPeerConnectionState::Connected))
        .await
        .expect("the viewer connects within 15 s")
        .unwrap();
    Viewer { pc, state, packets, location: location.expect("a Location") }
}

/// The test camera, ingested, with every frame taken noted.
async fn ingested(port: u16) -> Option<(TestCamera, Ingest, Arc<Mutex<Vec<Taken>>>)> {
    let camera = test_camera(port, None)?;
    let options = IngestOptions { min_backoff: Duration::from_millis(200), ..IngestOptions::default() };
    let source = q10_sfu::camera::CameraSource { url: camera.url(""), transport: q10_sfu::camera::RtspTransport::Tcp };
    let ingest = Ingest::start(source, options);
    let taken = Arc::new(Mutex::new(Vec::new()));
    let mut frames = ingest.subscribe();
    let log = taken.clone();
    tokio::spawn(async move {
        loop {
            let f = match frames.recv().await {
                Ok(f) => f,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            };
            let nals = annex_b(&f.data);
            log.lock().unwrap().push(Taken { nals, at: f.received, keyframe: f.keyframe });
        }
    });
    let mut health = ingest.watch_health();
    tokio::time::timeout(Duration::from_secs(20), health.wait_for(|h| h.state == CameraState::Up))
        .await
        .expect("the camera is up within 20 s")
        .unwrap();
    Some((camera, ingest, taken))
}

/// Each received frame matched to the frame taken from the camera: (taken, received).
fn matched<'a>(taken: &'a [Taken], got: &[Got]) -> Vec<(&'a Taken, Got)> {
    got.iter()
        .map(|g| {
            // The test picture repeats itself: the latest such frame taken before it arrived.
            let t = taken.iter().rev().find(|t| t.at <= g.at && t.nals == g.nals).unwrap_or_else(|| {
                panic!(
                    "a received frame matches no frame from the camera: types {:?} ({} taken)",
                    g.types(),
                    taken.len()
                )
            });
            (t, g.clone())
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_plays_to_several_whep_viewers_from_one_ingest() {
    let Some((_camera, ingest, taken)) = ingested(free_port()).await else { return };
    let relay = relay().await;
    relay.sfu.relay_camera(&q10_core_api::camera_room(7), ingest.subscribe()).await.unwrap();
    // Frames flow into the relay before anyone watches, a keyframe among them (the camera sends
    // one every 2 s): the viewers join in the middle of a group of pictures.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let joined_at = Instant::now();
    let mut viewers = Vec::new();
    // When each viewer's media path came up: what the relay had cached then is what it starts with.
    let mut connected = Vec::new();
    for who in ["operator-1", "operator-2", "operator-3"] {
        let v = watch_camera(&relay, 7, who).await;
        let mut state = v.state.clone();
        tokio::time::timeout(Duration::from_secs(10), state.wait_for(|s| *s == RTCPeerConnectionState::Connected))
            .await
            .expect("connected within 10 s")
            .unwrap();
        connected.push(Instant::now());
        viewers.push(v);
    }
    tokio::time::sleep(Duration::from_secs(4)).await;

    let taken = taken.lock().unwrap().clone();
    let mut latencies = Vec::new();
    for (i, v) in viewers.iter().enumerate() {
        let mut got = frames(&v.packets.lock().unwrap());
        // The newest half second may still wait for a packet lost on the way and asked for again.
        got.truncate(got.len().saturating_sub(12));
        assert!(got.len() >= 40, "viewer {i} received {} frames in 3.5 s of a 25 frames/s camera", got.len());
        let pairs = matched(&taken, &got);
        // The picture starts at once, from the keyframe the relay kept, not the camera's next.
        let (first, first_got) = &pairs[0];
        assert!(
            first.keyframe,
            "viewer {i}'s first frame is a keyframe: {:?}",
            got.iter().take(5).map(|g| g.types()).collect::<Vec<_>>()
        );
        for t in [7, 8, 5] {
            assert!(
                first_got.types().contains(&t),
                "viewer {i}'s first frame carries NAL type {t}: {:?}",
                first_got.types()
            );
        }
        // Sent 200 ms after the path is up: a keyframe the camera sent in between may lead it.
        assert!(
            first.at < connected[i] + Duration::from_millis(300),
            "viewer {i} started from the cached keyframe, not the camera's next one"
        );
        // Every frame from there to the last received, none missing.
        let index = |t: &Taken| taken.iter().position(|x| std::ptr::eq(x, t)).unwrap();
        let (start, end) = (index(first), pairs.iter().map(|(t, _)| index(t)).max().unwrap());
        let missing = taken[start..=end].iter().filter(|t| !got.iter().any(|g| g.nals == t.nals)).count();
        assert_eq!(missing, 0, "viewer {i} missed {missing} of {} frames", end - start + 1);
        latencies
            .extend(pairs.iter().filter(|(t, _)| t.at > joined_at + Duration::from_secs(1)).map(|(t, g)| g.at - t.at));
    }
    latencies.sort();
    let (p50, p95, max) = (percentile(&latencies, 0.5), percentile(&latencies, 0.95), *latencies.last().unwrap());
    println!("relay latency, ingest to viewer, {} frames: p50 {p50:?}, p95 {p95:?}, max {max:?}", latencies.len());
    assert!(p50 < Duration::from_millis(500), "the relay adds {p50:?} at the median");

    let stats = relay.sfu.stats().await.unwrap();
    assert_eq!((stats.cameras, stats.participants), (1, 3));
    assert_eq!(ingest.health().sessions, 1, "one ingest session for three viewers");

    // A viewer leaves with DELETE on its session.
    let r = reqwest::Client::new()
        .delete(format!("{}{}", relay.http, viewers[0].location))
        .bearer_auth(relay.token(7, "operator-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(relay.sfu.stats().await.unwrap().participants, 2);

    // Its ingest stopping ends the relay and lets the viewers go.
    drop(ingest);
    let deadline = Instant::now() + Duration::from_secs(5);
    while relay.sfu.stats().await.unwrap().cameras > 0 {
        assert!(Instant::now() < deadline, "the relay ends with its ingest");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(relay.sfu.stats().await.unwrap().participants, 0);
    for v in &viewers {
        let _ = v.pc.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watching_is_refused_without_the_cameras_token_or_a_relayed_camera() {
    let Some((_camera, ingest, _)) = ingested(free_port()).await else { return };
    let relay = relay().await;
    relay.sfu.relay_camera(&q10_core_api::camera_room(7), ingest.subscribe()).await.unwrap();
    let (pc, _state, _, sdp) = offer().await;
    // No token, another camera's token, a room's token.
    let (status, body, _) = post_offer(&relay, "/whep/cameras/7", "", &sdp).await;
    assert_eq!(status, 401, "{body}");
    let (status, body, _) = post_offer(&relay, "/whep/cameras/7", &relay.token(8, "op"), &sdp).await;
    assert_eq!(status, 401, "{body}");
    // A camera that is not relayed here.
    let (status, body, _) = post_offer(&relay, "/whep/cameras/8", &relay.token(8, "op"), &sdp).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not being relayed"), "{body}");
    // Not a camera number; not SDP.
    let (status, _, _) = post_offer(&relay, "/whep/cameras/x", &relay.token(7, "op"), &sdp).await;
    assert_eq!(status, 404);
    let (status, body, _) = post_offer(&relay, "/whep/cameras/7", &relay.token(7, "op"), "v=0 nonsense").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(relay.sfu.stats().await.unwrap().participants, 0, "nobody was admitted");
    let _ = pc.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_of_a_camera_that_restarts_resume_at_its_next_keyframe() {
    let port = free_port();
    let Some((camera, ingest, _)) = ingested(port).await else { return };
    let relay = relay().await;
    relay.sfu.relay_camera(&q10_core_api::camera_room(3), ingest.subscribe()).await.unwrap();
    // A keyframe reaches the relay's cache first (the camera sends one every 2 s).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let viewer = watch_camera(&relay, 3, "operator").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = ingest.health().sessions;
    drop(camera);
    let mut health = ingest.watch_health();
    tokio::time::timeout(Duration::from_secs(30), health.wait_for(|h| h.state != CameraState::Up))
        .await
        .expect("the ingest sees the camera go within 30 s")
        .unwrap();
    // The camera starts again with the same picture (the same bytes), so frames of the new
    // session are told apart by when they arrive.
    let restarted = Instant::now();
    let _camera = test_camera(port, None).expect("the camera starts again");
    tokio::time::timeout(
        Duration::from_secs(30),
        health.wait_for(|h| h.state == CameraState::Up && h.sessions > before),
    )
    .await
    .expect("the ingest reconnects within 30 s")
    .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;

    let got = frames(&viewer.packets.lock().unwrap());
    let before_restart = got.iter().filter(|g| g.at < restarted).count();
    assert!(before_restart >= 10, "the viewer watched before the restart: {before_restart} frames");
    let after: Vec<&Got> = got.iter().filter(|g| g.at > restarted).collect();
    assert!(after.len() >= 25, "the viewer keeps receiving after the restart: {} frames", after.len());
    assert!(after[0].types().contains(&5), "the viewer resumed at a keyframe: {:?}", after[0].types());
    assert_eq!(*viewer.state.borrow(), RTCPeerConnectionState::Connected, "the viewer stayed connected");
    let _ = viewer.pc.close().await;
}
