//! The engine with str0m peers through simulated time: no sockets, no clock, every datagram handed
//! across by the test.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use q10_sfu::engine::{EngineConfig, JoinRequest, PeerId, PeerKind, Sfu, SfuOutput, Signal};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

const SFU: &str = "10.0.0.100:5000";

/// A client of the SFU: a str0m peer with its own address.
struct Client {
    addr: SocketAddr,
    rtc: Rtc,
    peer: Option<PeerId>,
    pending: Option<SdpPendingOffer>,
    connected: bool,
    received: Vec<(Mid, MediaKind, usize)>,
    signals: Vec<Signal>,
    sending: Vec<(Mid, MediaKind)>,
}

impl Client {
    fn new(addr: &str, now: Instant) -> Client {
        let addr: SocketAddr = addr.parse().unwrap();
        let mut rtc = Rtc::builder().build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        Client {
            addr,
            rtc,
            peer: None,
            pending: None,
            connected: false,
            received: vec![],
            signals: vec![],
            sending: vec![],
        }
    }

    /// An offer with a data channel and, when publishing, an audio and a video section.
    fn offer(&mut self, publish: bool) -> str0m::change::SdpOffer {
        let mut api = self.rtc.sdp_api();
        if publish {
            let a = api.add_media(MediaKind::Audio, Direction::SendOnly, Some("s".into()), Some("a".into()), None);
            let v = api.add_media(MediaKind::Video, Direction::SendOnly, Some("s".into()), Some("v".into()), None);
            self.sending = vec![(a, MediaKind::Audio), (v, MediaKind::Video)];
        }
        api.add_channel("chat".into());
        let (offer, pending) = api.apply().unwrap();
        self.pending = Some(pending);
        offer
    }

    fn accept(&mut self, answer: SdpAnswer) {
        self.rtc.sdp_api().accept_answer(self.pending.take().unwrap(), answer).unwrap();
    }
}

struct World {
    now: Instant,
    sfu: Sfu,
    clients: Vec<Client>,
    frame: u64,
}

impl World {
    fn new() -> World {
        let now = Instant::now();
        let addr: SocketAddr = SFU.parse().unwrap();
        World { now, sfu: Sfu::new(EngineConfig::new(addr, addr), now), clients: vec![], frame: 0 }
    }

    fn join(&mut self, addr: &str, publish: bool) -> usize {
        let mut c = Client::new(addr, self.now);
        let offer = c.offer(publish);
        let req = JoinRequest {
            room: "giao-ban".into(),
            identity: addr.into(),
            kind: PeerKind::Conference,
            may_publish: true,
        };
        let (peer, answer) = self.sfu.join(req, offer).unwrap();
        c.accept(answer);
        c.peer = Some(peer);
        self.clients.push(c);
        self.clients.len() - 1
    }

    /// Advances time by `step` a millisecond at a time, as a pacer sees it.
    fn step(&mut self, step: Duration) {
        for _ in 0..step.as_millis() {
            self.tick(Duration::from_millis(1));
        }
    }

    /// Advances time by `step`, moving every datagram and signal until all is quiet.
    fn tick(&mut self, step: Duration) {
        self.now += step;
        let now = self.now;
        self.sfu.handle_input(Input::Timeout(now));
        for c in &mut self.clients {
            c.rtc.handle_input(Input::Timeout(now)).unwrap();
        }
        for _ in 0..1000 {
            let mut moved = false;
            // Clients to the SFU.
            for c in &mut self.clients {
                loop {
                    match c.rtc.poll_output().unwrap() {
                        Output::Timeout(_) => break,
                        Output::Transmit(t) => {
                            moved = true;
                            let r = Receive::new(Protocol::Udp, t.source, t.destination, &t.contents).unwrap();
                            self.sfu.handle_input(Input::Receive(now, r));
                        }
                        Output::Event(e) => match e {
                            Event::Connected => c.connected = true,
                            Event::MediaData(d) => c.received.push((d.mid, kind_of(&c.rtc, d.mid), d.data.len())),
                            _ => {}
                        },
                    }
                }
            }
            // The SFU to clients.
            loop {
                match self.sfu.poll_output() {
                    SfuOutput::Timeout(_) => break,
                    SfuOutput::Record(_) => moved = true,
                    SfuOutput::Transmit(t) => {
                        moved = true;
                        let c = self.clients.iter_mut().find(|c| c.addr == t.destination).expect("addressed client");
                        let r = Receive::new(Protocol::Udp, t.source, t.destination, &t.contents).unwrap();
                        c.rtc.handle_input(Input::Receive(now, r)).unwrap();
                    }
                    SfuOutput::Signal(peer, signal) => {
                        moved = true;
                        let c = self.clients.iter_mut().find(|c| c.peer == Some(peer)).expect("signalled client");
                        if let Signal::Offer(offer) = signal {
                            let answer = c.rtc.sdp_api().accept_offer(offer).unwrap();
                            self.sfu.answer(peer, answer).unwrap();
                        } else {
                            c.signals.push(signal);
                        }
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// Every publishing client sends one audio frame and, every third step, one video frame.
    fn send_media(&mut self) {
        self.frame += 1;
        let frame = self.frame;
        let now = self.now;
        for c in &mut self.clients {
            if !c.connected {
                continue;
            }
            for (mid, kind) in c.sending.clone() {
                let codec = if kind == MediaKind::Audio { Codec::Opus } else { Codec::Vp8 };
                let Some(w) = c.rtc.writer(mid) else { continue };
                let Some(pt) = w.payload_params().find(|p| p.spec().codec == codec).map(|p| p.pt()) else { continue };
                if kind == MediaKind::Audio {
                    let w = w.audio_level(-20, true);
                    w.write(pt, now, MediaTime::new(frame * 960, Frequency::FORTY_EIGHT_KHZ), vec![0xfc; 80]).unwrap();
                } else if frame.is_multiple_of(3) {
                    // A VP8 keyframe starts with a clear P bit; every 30th frame is one.
                    let mut data = vec![0x11u8; 1_200];
                    if frame % 90 == 3 {
                        data[0] = 0x10;
                    }
                    w.write(pt, now, MediaTime::from_90khz(frame * 1_800), data).unwrap();
                }
            }
        }
    }
}

fn kind_of(rtc: &Rtc, mid: Mid) -> MediaKind {
    rtc.media(mid).map(|m| m.kind()).unwrap_or(MediaKind::Audio)
}

#[test]
fn media_from_one_participant_reaches_the_others() {
    let mut w = World::new();
    let alice = w.join("10.0.0.1:40000", true);
    let bob = w.join("10.0.0.2:40000", true);
    let carol = w.join("10.0.0.3:40000", false);
    for _ in 0..300 {
        w.step(Duration::from_millis(20));
        w.send_media();
    }
    assert!(w.clients.iter().all(|c| c.connected), "every participant connected");
    assert_eq!(w.sfu.peer_count(), 3);
    assert_eq!(w.sfu.track_count(), 4, "alice and bob each publish audio and video");
    for (who, expect_from) in [(alice, 1), (bob, 1), (carol, 2)] {
        let c = &w.clients[who];
        let audio = c.received.iter().filter(|r| r.1 == MediaKind::Audio).count();
        let video = c.received.iter().filter(|r| r.1 == MediaKind::Video).count();
        let sections: std::collections::HashSet<Mid> = c.received.iter().map(|r| r.0).collect();
        assert_eq!(
            sections.len(),
            expect_from * 2,
            "client {who} receives audio and video of {expect_from}: {audio} audio, {video} video frames"
        );
        assert!(audio > 100 * expect_from, "client {who} received {audio} audio frames");
        assert!(video > 20 * expect_from, "client {who} received {video} video frames");
        let mapped = c.signals.iter().filter(|s| matches!(s, Signal::Mapping { .. })).count();
        assert_eq!(mapped, expect_from * 2, "client {who} told which section carries which track");
    }
    // The participants who spoke: someone was named active speaker.
    assert!(
        w.clients[carol].signals.iter().any(|s| matches!(s, Signal::ActiveSpeaker(Some(_)))),
        "an active speaker was announced"
    );
}

#[test]
fn a_participant_who_leaves_is_unpublished_for_the_others() {
    let mut w = World::new();
    let alice = w.join("10.0.0.1:40000", true);
    let bob = w.join("10.0.0.2:40000", false);
    for _ in 0..100 {
        w.step(Duration::from_millis(20));
        w.send_media();
    }
    let publisher = w.clients[alice].peer.unwrap();
    w.sfu.leave(publisher);
    w.clients.remove(alice);
    w.step(Duration::from_millis(20));
    assert_eq!(w.sfu.track_count(), 0);
    let bob = &w.clients[bob - 1];
    let gone = bob
        .signals
        .iter()
        .filter(|s| matches!(s, Signal::TrackUnpublished { publisher: p, .. } if *p == publisher))
        .count();
    assert_eq!(gone, 2, "bob is told both of alice's tracks ended");
}

#[test]
fn garbage_on_the_media_port_is_dropped() {
    let mut w = World::new();
    w.join("10.0.0.1:40000", true);
    let junk: [&[u8]; 4] = [b"", b"\x00", b"GET / HTTP/1.1\r\n\r\n", &[0x80; 1500]];
    for j in junk {
        w.sfu.handle_datagram(w.now, "10.9.9.9:1".parse().unwrap(), j);
    }
    for _ in 0..50 {
        w.step(Duration::from_millis(20));
    }
    assert!(w.clients[0].connected, "the real participant is unaffected");
}

#[test]
fn opus_is_answered_with_in_band_fec_and_dtx() {
    let now = Instant::now();
    let addr: SocketAddr = SFU.parse().unwrap();
    let mut sfu = Sfu::new(EngineConfig::new(addr, addr), now);
    let mut c = Client::new("10.0.0.1:40000", now);
    let offer = c.offer(true);
    let req = JoinRequest { room: "r".into(), identity: "a".into(), kind: PeerKind::Conference, may_publish: true };
    let (_, answer) = sfu.join(req, offer).unwrap();
    let sdp = answer.to_sdp_string();
    let opus_fmtp = sdp
        .lines()
        .find(|l| l.starts_with("a=fmtp:111 "))
        .unwrap_or_else(|| panic!("Opus has format parameters in:\n{sdp}"));
    assert!(opus_fmtp.contains("useinbandfec=1"), "{opus_fmtp}");
    assert!(opus_fmtp.contains("usedtx=1"), "{opus_fmtp}");
}
