//! The kiosk in a call's room: the signaling WebSocket (join, offers and answers both ways, ping)
//! and one webrtc-rs peer connection that sends the kiosk's voice (and its camera, when it has
//! one) and receives the officer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use q10_core_api::KioskCallJoin;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS};
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    RTCPeerConnectionState, RTCSessionDescription, Registry, SettingEngineBuilder, register_default_interceptors,
};

use super::audio::{FRAME, RATE, Sound};
use super::video::{Pictures, Sending};
use super::{End, Event, Options, signaling_url};

/// What went through a call.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub answered: bool,
    pub audio_sent: u64,
    pub audio_received: u64,
    pub samples_played: u64,
    pub pictures: u64,
    pub picture_size: Option<(u32, u32)>,
    /// The officer's video packets received.
    pub video_received: u64,
    /// The kiosk's own pictures sent, and their size.
    pub video_sent: u64,
    pub video_size: Option<(u32, u32)>,
}

/// A received RTP packet, by kind.
enum Incoming {
    Audio(rtc::rtp::packet::Packet),
    Video(rtc::rtp::packet::Packet),
}

struct Handler {
    gathered: watch::Sender<u64>,
    state: watch::Sender<RTCPeerConnectionState>,
    incoming: mpsc::Sender<Incoming>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
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
        let incoming = self.incoming.clone();
        tokio::spawn(async move {
            let kind = track.kind().await;
            while let Some(event) = track.poll().await {
                match event {
                    TrackRemoteEvent::OnRtpPacket(p) => {
                        let packet = if kind == RtpCodecKind::Audio { Incoming::Audio(p) } else { Incoming::Video(p) };
                        // A full queue drops the packet: the call goes on without it.
                        if let Err(mpsc::error::TrySendError::Closed(_)) = incoming.try_send(packet) {
                            return;
                        }
                    }
                    TrackRemoteEvent::OnEnded => return,
                    _ => {}
                }
            }
        });
    }
}

async fn peer(handler: Handler, loopback: bool) -> anyhow::Result<Arc<dyn PeerConnection>> {
    let mut media = MediaEngine::default();
    media.register_default_codecs()?;
    let registry = register_default_interceptors(Registry::new(), &mut media)?;
    // mDNS candidates are of no use to the server (it is ICE-lite and resolves nothing).
    let settings = SettingEngineBuilder::new().with_multicast_dns_mode(MulticastDnsMode::Disabled).build();
    let addr = if loopback { "127.0.0.1:0" } else { "0.0.0.0:0" };
    let pc = PeerConnectionBuilder::new()
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(settings)
        .with_handler(Arc::new(handler))
        .with_udp_addrs(vec![addr])
        .build()
        .await?;
    Ok(Arc::new(pc))
}

/// Holds the call: returns how it ended, what went through it, and whether a microphone was open.
pub async fn talk(
    o: &Options,
    join: &KioskCallJoin,
    mut events: impl FnMut(Event) + Send,
    mut hang_up: watch::Receiver<bool>,
) -> anyhow::Result<(End, Counts, bool)> {
    events(Event::Ringing { call: join.call.id });
    let (mut ws, _) = tokio_tungstenite::connect_async(signaling_url(&o.core)?).await?;
    let hello = json!({ "type": "join", "v": 1, "room": join.room, "token": join.token });
    ws.send(Message::Text(hello.to_string().into())).await?;
    let joined = loop {
        let m = next_message(&mut ws).await.ok_or_else(|| anyhow::anyhow!("the server closed the call's room"))?;
        match m["type"].as_str() {
            Some("joined") => break m,
            Some("error") => anyhow::bail!("the server refused to join the call: {}", m["message"]),
            _ => {}
        }
    };

    let (gathered_tx, mut gathered) = watch::channel(0u64);
    let (state_tx, mut state) = watch::channel(RTCPeerConnectionState::New);
    let (incoming_tx, mut incoming) = mpsc::channel(512);
    let loopback = o.core.contains("://127.0.0.1") || o.core.contains("://localhost");
    let pc = peer(Handler { gathered: gathered_tx, state: state_tx, incoming: incoming_tx }, loopback).await?;
    let ssrc = rand::random::<u32>();
    let opus = RTCRtpCodec { mime_type: MIME_TYPE_OPUS.into(), clock_rate: RATE, channels: 2, ..Default::default() };
    let voice = track("voice", RtpCodecKind::Audio, ssrc, opus)?;
    let sender = pc.add_track(voice.clone() as Arc<dyn TrackLocal>).await?;

    // The kiosk's camera, when it has one that starts; the call goes on without it otherwise.
    let started = if o.camera.present() {
        let which = o.camera.clone();
        Some(tokio::task::spawn_blocking(move || Sending::start(&which)).await?)
    } else {
        None
    };
    let mut camera = match started {
        Some(Ok(sending)) => Some(sending),
        Some(Err(e)) => {
            eprintln!("the call goes on without the kiosk's camera: {e}");
            None
        }
        None => None,
    };
    let video_ssrc = rand::random::<u32>();
    let video = match &camera {
        Some(_) => {
            // Baseline, as the console prefers to send: once this is agreed, webrtc-rs accepts
            // only the video codecs agreed so far, the officer's picture included. (OpenH264's
            // constrained baseline is baseline too.)
            let h264 = RTCRtpCodec {
                mime_type: MIME_TYPE_H264.into(),
                clock_rate: 90_000,
                sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f".into(),
                ..Default::default()
            };
            let track = track("camera", RtpCodecKind::Video, video_ssrc, h264)?;
            let sender = pc.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
            Some((track, sender))
        }
        None => None,
    };

    let mut sound = Sound::open(o.source)?;
    events(Event::Sound { microphone: sound.microphone || o.source == super::Source::Tone });
    let mut pictures = Pictures::new()?;
    let mut counts = Counts { video_size: camera.as_ref().map(|c| c.size), ..Counts::default() };
    let mut officers: Vec<String> = Vec::new();
    let officer_in = |p: &Value| p["identity"].as_str().is_some_and(|i| i.starts_with("user-"));
    for p in joined["participants"].as_array().into_iter().flatten() {
        if officer_in(p) {
            officers.push(p["id"].as_str().unwrap_or_default().to_string());
            counts.answered = true;
            events(Event::Answered { officer: p["name"].as_str().unwrap_or_default().to_string() });
        }
    }

    // The first offer: our voice.
    let offer = pc.create_offer(None).await?;
    let sdp = local(&pc, &mut gathered, offer).await?;
    ws.send(Message::Text(json!({ "type": "offer", "sdp": sdp }).to_string().into())).await?;
    let mut waiting_for_answer = true;

    let mut payload_type = None;
    let mut video_payload_type = None;
    let keyframe = camera.as_ref().map(|c| c.keyframe.clone());
    let want_keyframe = || {
        if let Some(k) = &keyframe {
            k.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let mut ping = tokio::time::interval(Duration::from_secs(10));
    let ring_until = tokio::time::Instant::now() + o.ring_for;
    let mut last_picture = Instant::now() - Duration::from_secs(1);
    let end = loop {
        let ringing = !counts.answered;
        tokio::select! {
            _ = tokio::time::sleep_until(ring_until), if ringing => break End::NoAnswer,
            changed = hang_up.changed() => {
                if changed.is_err() || *hang_up.borrow() {
                    break End::HungUp;
                }
            }
            _ = state.changed() => {
                if *state.borrow() == RTCPeerConnectionState::Failed {
                    break End::Lost;
                }
            }
            _ = ping.tick() => {
                if ws.send(Message::Text(json!({ "type": "ping", "id": 1 }).to_string().into())).await.is_err() {
                    break End::Lost;
                }
            }
            Some(frame) = sound.frames.recv() => {
                if payload_type.is_none() && !waiting_for_answer {
                    payload_type = sender.get_parameters().await?.rtp_parameters.codecs.first().map(|c| c.payload_type);
                }
                if let Some(pt) = payload_type {
                    let sample = Sample { data: frame.into(), duration: Duration::from_millis(20), ..Sample::new(Instant::now()) };
                    if voice.sample_writer(ssrc, pt).write_sample(&sample).await.is_ok() {
                        counts.audio_sent += 1;
                    }
                }
            }
            Some(data) = next_picture(&mut camera) => {
                if let Some((track, sender)) = video.as_ref().filter(|_| !waiting_for_answer || video_payload_type.is_some()) {
                    if video_payload_type.is_none() {
                        let codecs = sender.get_parameters().await?.rtp_parameters.codecs;
                        video_payload_type = codecs
                            .iter()
                            .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(MIME_TYPE_H264))
                            .map(|c| c.payload_type);
                    }
                    if let Some(pt) = video_payload_type {
                        let every = Duration::from_secs(1) / crate::camera::RATE;
                        let sample = Sample { data: data.into(), duration: every, ..Sample::new(Instant::now()) };
                        if track.sample_writer(video_ssrc, pt).write_sample(&sample).await.is_ok() {
                            counts.video_sent += 1;
                        }
                    }
                }
            }
            Some(packet) = incoming.recv() => match packet {
                Incoming::Audio(p) => {
                    counts.audio_received += 1;
                    counts.samples_played += sound.play(&p.payload) as u64;
                }
                Incoming::Video(p) => {
                    counts.video_received += 1;
                    for picture in pictures.push(p) {
                        counts.pictures += 1;
                        counts.picture_size = Some((picture.width, picture.height));
                        // The interface needs no more than 15 pictures a second.
                        if last_picture.elapsed() >= Duration::from_millis(66) {
                            last_picture = Instant::now();
                            events(Event::Picture(picture));
                        }
                    }
                }
            },
            m = next_message(&mut ws) => {
                let Some(m) = m else { break End::Lost };
                match m["type"].as_str() {
                    Some("answer") => {
                        pc.set_remote_description(RTCSessionDescription::answer(text(&m["sdp"])?)?).await?;
                        waiting_for_answer = false;
                    }
                    // While our own offer waits, the server drops its offer and makes it again later.
                    Some("offer") if waiting_for_answer => {}
                    Some("offer") => {
                        // Someone new may be watching: a keyframe lets them see at once.
                        want_keyframe();
                        pc.set_remote_description(RTCSessionDescription::offer(text(&m["sdp"])?)?).await?;
                        let answer = pc.create_answer(None).await?;
                        let sdp = local(&pc, &mut gathered, answer).await?;
                        ws.send(Message::Text(json!({ "type": "answer", "sdp": sdp }).to_string().into())).await?;
                    }
                    Some("participant_joined") if officer_in(&m["participant"]) => {
                        officers.push(m["participant"]["id"].as_str().unwrap_or_default().to_string());
                        want_keyframe();
                        if !counts.answered {
                            counts.answered = true;
                            events(Event::Answered { officer: m["participant"]["name"].as_str().unwrap_or_default().to_string() });
                        }
                    }
                    Some("participant_left") => {
                        let who = m["participant"].as_str().unwrap_or_default();
                        officers.retain(|o| o != who);
                        if counts.answered && officers.is_empty() {
                            break End::OfficerLeft;
                        }
                    }
                    Some("closed") => break if counts.answered { End::OfficerLeft } else { End::Lost },
                    _ => {}
                }
            }
        }
    };
    let _ = ws.send(Message::Text(json!({ "type": "leave" }).to_string().into())).await;
    let _ = ws.close(None).await;
    let _ = pc.close().await;
    counts.pictures = pictures.decoded;
    events(Event::Ended(end));
    Ok((end, counts, sound.microphone))
}

/// One of the kiosk's tracks (`voice`, `camera`): one stream of `codec` with the SSRC given.
fn track(name: &str, kind: RtpCodecKind, ssrc: u32, codec: RTCRtpCodec) -> anyhow::Result<Arc<TrackLocalStaticSample>> {
    let encoding = RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
        codec,
        ..Default::default()
    };
    let track = MediaStreamTrack::new("kiosk".into(), name.into(), name.into(), kind, vec![encoding]);
    Ok(Arc::new(TrackLocalStaticSample::new(Instant::now(), track)?))
}

/// The camera's next encoded picture; never, without a camera.
async fn next_picture(camera: &mut Option<Sending>) -> Option<Vec<u8>> {
    match camera {
        Some(c) => c.frames.recv().await,
        None => std::future::pending().await,
    }
}

fn text(v: &Value) -> anyhow::Result<String> {
    v.as_str().map(str::to_string).ok_or_else(|| anyhow::anyhow!("a message without its SDP"))
}

/// Sets a local description and returns it with the candidates gathered.
async fn local(
    pc: &Arc<dyn PeerConnection>,
    gathered: &mut watch::Receiver<u64>,
    desc: RTCSessionDescription,
) -> anyhow::Result<String> {
    let before = *gathered.borrow_and_update();
    pc.set_local_description(desc).await?;
    // Host candidates are gathered at once; give up waiting after 5 s and send what there is.
    let _ = tokio::time::timeout(Duration::from_secs(5), gathered.wait_for(|n| *n > before)).await;
    Ok(pc.local_description().await.ok_or_else(|| anyhow::anyhow!("no local description"))?.sdp)
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON message from the server, or `None` when the connection is over.
async fn next_message(ws: &mut Ws) -> Option<Value> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(t)) => return serde_json::from_str(&t).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

// The sample rate and frame are Opus' own; a frame of 20 ms at 48 kHz.
const _: () = assert!(FRAME as u32 * 50 == RATE);
