//! The forwarding engine: every participant's `Rtc`, the rooms they are in, the tracks they
//! publish and the tracks they receive. Sans-IO in the str0m manner: it is fed datagrams and time
//! through [`Sfu::handle_input`] and hands back datagrams, signals for participants and its next
//! deadline through [`Sfu::poll_output`]. Nothing here touches a socket or a clock.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::bwe::{Bitrate, BweKind};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::ChannelId;
use str0m::format::{Codec, FormatParams};
use str0m::media::{Direction, Frequency, KeyframeRequestKind, MediaKind, Mid, Pt, Rid};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::rtp::{RtpPacket, RtpWrite, Ssrc, Vp8Descriptor, Vp8Patch};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcError};

mod cameras;
mod forward;
mod negotiation;
mod recording;

use crate::layers::{LayerMeter, UPGRADE_HEADROOM, choose_layer, next_layer};
use crate::record::{RecordCommand, RecordedPacket};
use crate::rewrite::{Numbers, Rewriter, starts_keyframe};
use crate::speaker::SpeakerDetector;

/// A participant's handle inside the engine. Never reused within one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct PeerId(pub u64);

impl std::fmt::Display for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// How a participant takes part, which decides what the engine does for it unasked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKind {
    /// A conference participant that renegotiates through signaling: it receives every other
    /// participant's tracks as they appear.
    Conference,
    /// A WHIP publisher: one offer, tracks in only.
    Whip,
    /// A WHEP viewer: one offer with receive-only sections, filled with the room's first
    /// publisher of the matching kind.
    Whep,
    /// A viewer of a street camera (the room is the camera): one offer with a receive-only video
    /// section, fed with the camera's frames.
    Camera,
}

/// Who is joining, as the signaling layer vouches for after checking the join token.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub room: String,
    pub identity: String,
    pub kind: PeerKind,
    /// Whether the participant may send media (listeners may not).
    pub may_publish: bool,
}

/// A track as the room sees it: which participant sends it and how to address it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrackInfo {
    pub publisher: PeerId,
    pub identity: String,
    /// The publisher's media section, which names the track within its publisher.
    pub mid: String,
    pub kind: &'static str,
    /// Simulcast layers offered, highest quality first, when the publisher sends several.
    pub layers: Vec<String>,
}

/// Something the engine needs a participant's client to hear.
#[derive(Debug)]
pub enum Signal {
    /// The engine added or removed media for this participant: the client must answer.
    Offer(SdpOffer),
    /// The participant's media path is up.
    Connected,
    /// The participant's media path failed or closed; it has left the engine.
    Gone,
    /// A track was published in the participant's room.
    TrackPublished(TrackInfo),
    /// A track ended.
    TrackUnpublished { publisher: PeerId, mid: String },
    /// Which of this participant's receiving sections carries which published track, so a client
    /// can label what it shows.
    Mapping { local_mid: String, publisher: PeerId, source_mid: String },
    /// The loudest participant of the room changed.
    ActiveSpeaker(Option<PeerId>),
    /// A message arrived on the participant's data channel, to be shared with the room.
    Data { from: PeerId, text: String },
    /// The publisher should send only these simulcast layers of its section `mid`: nobody
    /// watches the others.
    Layers { mid: String, active: Vec<String> },
}

/// What [`Sfu::poll_output`] hands back.
#[derive(Debug)]
pub enum SfuOutput {
    Transmit(Transmit),
    Signal(PeerId, Signal),
    /// Something for the recorder: a room's recording starts or stops, or one of its frames.
    Record(RecordCommand),
    Timeout(Instant),
}

/// Why the engine refused a request.
#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    #[error("no such participant")]
    UnknownPeer,
    #[error("the session description was refused: {0}")]
    Sdp(String),
    #[error("the participant may not publish media")]
    MayNotPublish,
    #[error("there is no offer waiting for an answer")]
    NoPendingOffer,
    #[error("the room has no participant sending media to watch")]
    NothingToWatch,
    #[error("recording is not set up on this server")]
    RecordingUnavailable,
    #[error("this camera is not being relayed")]
    NoSuchCamera,
}

impl From<RtcError> for SfuError {
    fn from(e: RtcError) -> Self {
        SfuError::Sdp(e.to_string())
    }
}

/// Settings of the engine itself.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Host candidates handed to every participant: the one UDP socket, as peers should address it.
    pub candidates: Vec<SocketAddr>,
    /// The address the UDP socket is bound to; datagrams from the engine leave from here.
    pub local: SocketAddr,
    /// Start estimate for the downlink of a new participant.
    pub initial_bitrate: Bitrate,
    /// The least time between two keyframe requests to one publisher's layer.
    pub keyframe_interval: Duration,
}

impl EngineConfig {
    pub fn new(local: SocketAddr, announced: SocketAddr) -> Self {
        EngineConfig {
            candidates: vec![announced],
            local,
            initial_bitrate: Bitrate::kbps(1_500),
            keyframe_interval: Duration::from_millis(500),
        }
    }
}

/// An incoming track: media one participant sends into its room.
#[derive(Debug)]
struct TrackIn {
    kind: MediaKind,
    /// Layers seen so far, by rid; `None` for a publisher without simulcast.
    meter: LayerMeter,
    /// When a keyframe was last requested, per layer.
    last_keyframe_request: HashMap<Option<Rid>, Instant>,
    /// Subscribers and the section of theirs this track goes out on.
    subscribers: Vec<(PeerId, Mid)>,
    /// Since when each simulcast layer has gone unwatched.
    unwatched_since: HashMap<Rid, Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutState {
    /// Waiting for the next negotiation.
    ToOpen,
    /// Offered, waiting for the answer.
    Negotiating(Mid),
    /// Flowing.
    Open(Mid),
}

/// An outgoing track: a published track as one subscriber receives it.
#[derive(Debug)]
struct TrackOut {
    source: (PeerId, Mid),
    kind: MediaKind,
    state: OutState,
    /// The layer being forwarded now.
    current: Option<Rid>,
    /// The layer to switch to at the next keyframe of it.
    target: Option<Rid>,
    /// The highest layer the subscriber asked for (the size it renders); `None` means any.
    preferred: Option<Rid>,
    /// When the subscriber was last moved to a lower layer.
    stepped_down_at: Option<Instant>,
    /// Keeps the subscriber's sequence numbers and timestamps continuous across layers.
    rewrite: Rewriter,
    /// The publisher's payload type and the subscriber's for the same codec, last seen.
    pt: Option<(Pt, Pt)>,
    /// Whether the outgoing stream has been taken off the pacer.
    unpaced: bool,
}

impl TrackOut {
    fn new(source: (PeerId, Mid), kind: MediaKind, state: OutState) -> TrackOut {
        TrackOut {
            source,
            kind,
            state,
            current: None,
            target: None,
            preferred: None,
            stepped_down_at: None,
            rewrite: Rewriter::default(),
            pt: None,
            unpaced: false,
        }
    }
}

struct Peer {
    room: String,
    identity: String,
    kind: PeerKind,
    may_publish: bool,
    rtc: Rtc,
    /// Source addresses that ICE has confirmed, for demultiplexing without asking every peer.
    addrs: Vec<SocketAddr>,
    published: Vec<Mid>,
    /// The media section and layer of each incoming stream, as str0m resolved them.
    incoming: HashMap<Ssrc, (Mid, Option<Rid>)>,
    outgoing: Vec<TrackOut>,
    pending: Option<SdpPendingOffer>,
    channel: Option<ChannelId>,
    connected: bool,
    /// What a camera viewer is being sent.
    camera: Option<cameras::CameraOut>,
    /// The estimate of what the link to this participant carries.
    estimate: Bitrate,
    timeout: Option<Instant>,
    dirty: bool,
}

impl Peer {
    fn out_mut_by_local(&mut self, mid: Mid) -> Option<&mut TrackOut> {
        self.outgoing.iter_mut().find(|o| matches!(o.state, OutState::Open(m) | OutState::Negotiating(m) if m == mid))
    }
}

/// The engine. See the module documentation.
pub struct Sfu {
    config: EngineConfig,
    peers: HashMap<PeerId, Peer>,
    tracks: HashMap<(PeerId, Mid), TrackIn>,
    by_addr: HashMap<SocketAddr, PeerId>,
    speakers: HashMap<String, SpeakerDetector>,
    next_id: u64,
    /// Participants to make an offer to after their own offer has been answered.
    renegotiate_soon: Vec<PeerId>,
    out: VecDeque<SfuOutput>,
    now: Instant,
    /// Rooms being recorded.
    recording: HashSet<String>,
    /// The layer each recorded track is written from (`None` inside: a track without simulcast).
    recorded_layer: HashMap<(PeerId, Mid), Option<Rid>>,
    /// When unwatched simulcast layers are next looked for.
    next_pause_check: Instant,
    /// Cameras being relayed, by the room their viewers join.
    cameras: HashMap<String, cameras::CameraFeed>,
    /// Camera viewers to start, and when, soonest first.
    camera_starts: Vec<(Instant, PeerId)>,
}

impl std::fmt::Debug for Sfu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sfu").field("peers", &self.peers.len()).field("tracks", &self.tracks.len()).finish()
    }
}

fn kind_str(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
    }
}

impl Sfu {
    pub fn new(config: EngineConfig, now: Instant) -> Self {
        Sfu {
            config,
            peers: HashMap::new(),
            tracks: HashMap::new(),
            by_addr: HashMap::new(),
            speakers: HashMap::new(),
            next_id: 1,
            renegotiate_soon: Vec::new(),
            out: VecDeque::new(),
            now,
            recording: HashSet::new(),
            recorded_layer: HashMap::new(),
            next_pause_check: now,
            cameras: HashMap::new(),
            camera_starts: Vec::new(),
        }
    }

    /// Participants in the engine.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Tracks being published.
    pub fn track_count(&self) -> usize {
        self.tracks.len()
    }

    /// The tracks published in a room.
    pub fn room_tracks(&self, room: &str) -> Vec<TrackInfo> {
        let mut v: Vec<_> = self
            .tracks
            .iter()
            .filter_map(|((pid, mid), t)| {
                let p = self.peers.get(pid)?;
                (p.room == room).then(|| self.track_info(*pid, *mid, t))
            })
            .collect();
        v.sort_by(|a, b| (a.publisher, &a.mid).cmp(&(b.publisher, &b.mid)));
        v
    }

    fn track_info(&self, pid: PeerId, mid: Mid, t: &TrackIn) -> TrackInfo {
        TrackInfo {
            publisher: pid,
            identity: self.peers.get(&pid).map(|p| p.identity.clone()).unwrap_or_default(),
            mid: mid.to_string(),
            kind: kind_str(t.kind),
            layers: t.meter.rids().iter().map(|r| r.to_string()).collect(),
        }
    }

    fn build_rtc(&self) -> Rtc {
        let mut config = Rtc::builder()
            .set_ice_lite(true)
            // Packets are forwarded as they came, never reassembled into frames and cut again.
            .set_rtp_mode(true)
            .enable_bwe(Some(self.config.initial_bitrate))
            .set_stats_interval(Some(Duration::from_secs(1)));
        // Opus with in-band FEC (a lost packet is partly rebuilt from the next) and DTX (silent
        // participants send almost nothing): the SFU forwards both untouched.
        let codecs = config.codec_config();
        codecs.enable_opus(false, false);
        codecs.add_config(
            Pt::new_with_value(111),
            None,
            Codec::Opus,
            Frequency::FORTY_EIGHT_KHZ,
            Some(2),
            FormatParams {
                min_p_time: Some(10),
                use_inband_fec: Some(true),
                use_dtx: Some(true),
                ..Default::default()
            },
        );
        let mut rtc = config.build(self.now);
        for addr in &self.config.candidates {
            if let Ok(c) = Candidate::host(*addr, "udp") {
                rtc.add_local_candidate(c);
            }
        }
        rtc
    }

    /// Admits a participant with its first offer and returns the answer.
    pub fn join(&mut self, req: JoinRequest, offer: SdpOffer) -> Result<(PeerId, SdpAnswer), SfuError> {
        let camera = req.kind == PeerKind::Camera;
        if camera && !self.cameras.contains_key(&req.room) {
            return Err(SfuError::NoSuchCamera);
        }
        let mut rtc = if camera { self.build_camera_rtc() } else { self.build_rtc() };
        let answer = rtc.sdp_api().accept_offer(offer)?;
        let id = PeerId(self.next_id);
        self.next_id += 1;
        if camera {
            self.join_camera(&req.room, id)?;
        }
        let room = req.room.clone();
        self.peers.insert(
            id,
            Peer {
                room: req.room,
                identity: req.identity,
                kind: req.kind,
                may_publish: req.may_publish,
                rtc,
                addrs: Vec::new(),
                published: Vec::new(),
                incoming: HashMap::new(),
                outgoing: Vec::new(),
                pending: None,
                channel: None,
                connected: false,
                camera: camera.then(cameras::CameraOut::default),
                estimate: self.config.initial_bitrate,
                timeout: None,
                dirty: true,
            },
        );
        if !camera {
            self.speakers.entry(room.clone()).or_default();
        }
        if req.kind == PeerKind::Conference {
            // Everything already published in the room is offered to the newcomer.
            let sources: Vec<(PeerId, Mid)> = self
                .tracks
                .keys()
                .filter(|(pid, _)| self.peers.get(pid).is_some_and(|p| p.room == room))
                .copied()
                .collect();
            for source in sources {
                let info = self.track_info(source.0, source.1, &self.tracks[&source]);
                self.out.push_back(SfuOutput::Signal(id, Signal::TrackPublished(info)));
                self.subscribe_inner(id, source);
            }
        }
        if req.kind == PeerKind::Whep && !self.tracks.keys().any(|(pid, _)| self.peers[pid].room == room) {
            // A viewer waits for a publisher only if it arrived first; that is allowed, and its
            // sections fill once someone publishes.
            tracing::debug!(peer = %id, "viewer joined a room with nothing published yet");
        }
        Ok((id, answer))
    }

    /// A new offer from a participant: more or fewer tracks, or an ICE restart after a network
    /// change. Any offer of ours still waiting is dropped and made again afterwards.
    pub fn offer(&mut self, id: PeerId, offer: SdpOffer) -> Result<SdpAnswer, SfuError> {
        let peer = self.peers.get_mut(&id).ok_or(SfuError::UnknownPeer)?;
        let answer = peer.rtc.sdp_api().accept_offer(offer)?;
        peer.pending = None;
        for o in &mut peer.outgoing {
            if let OutState::Negotiating(_) = o.state {
                o.state = OutState::ToOpen;
            }
        }
        peer.dirty = true;
        // Offer again what the participant's offer displaced, once it has this answer.
        self.renegotiate_soon.push(id);
        Ok(answer)
    }

    /// The participant's answer to the engine's last offer.
    pub fn answer(&mut self, id: PeerId, answer: SdpAnswer) -> Result<(), SfuError> {
        let peer = self.peers.get_mut(&id).ok_or(SfuError::UnknownPeer)?;
        let pending = peer.pending.take().ok_or(SfuError::NoPendingOffer)?;
        peer.rtc.sdp_api().accept_answer(pending, answer)?;
        let mut opened = Vec::new();
        for o in &mut peer.outgoing {
            if let OutState::Negotiating(m) = o.state {
                o.state = OutState::Open(m);
                opened.push((m, o.source));
            }
        }
        peer.dirty = true;
        for (local, (pid, mid)) in opened {
            if let Some(t) = self.tracks.get_mut(&(pid, mid)) {
                t.subscribers.push((id, local));
            }
            self.out.push_back(SfuOutput::Signal(
                id,
                Signal::Mapping { local_mid: local.to_string(), publisher: pid, source_mid: mid.to_string() },
            ));
            self.request_keyframe(pid, mid, None);
        }
        self.allocate(id);
        // Sections that waited for this negotiation to finish go in the next one.
        self.negotiate(id);
        Ok(())
    }

    /// A trickled ICE candidate of the participant's.
    pub fn add_remote_candidate(&mut self, id: PeerId, candidate: &str) -> Result<(), SfuError> {
        let peer = self.peers.get_mut(&id).ok_or(SfuError::UnknownPeer)?;
        let c = candidate.strip_prefix("candidate:").map(|_| candidate).unwrap_or(candidate);
        let c = Candidate::from_sdp_string(c).map_err(|e| SfuError::Sdp(format!("bad candidate: {e}")))?;
        peer.rtc.add_remote_candidate(c);
        peer.dirty = true;
        Ok(())
    }

    /// Removes a participant and everything it published.
    pub fn leave(&mut self, id: PeerId) {
        let Some(mut peer) = self.peers.remove(&id) else { return };
        peer.rtc.disconnect();
        self.by_addr.retain(|_, p| *p != id);
        if peer.kind == PeerKind::Camera {
            self.leave_camera(&peer.room, id);
            return;
        }
        for mid in std::mem::take(&mut peer.published) {
            self.unpublish(id, &peer.room, mid);
        }
        for o in &peer.outgoing {
            if let Some(t) = self.tracks.get_mut(&o.source) {
                t.subscribers.retain(|(s, _)| *s != id);
            }
        }
        if !self.peers.values().any(|p| p.room == peer.room) {
            self.speakers.remove(&peer.room);
            // Nobody left to record.
            self.set_recording(&peer.room, false);
        }
    }

    fn unpublish(&mut self, id: PeerId, room: &str, mid: Mid) {
        self.recorded_layer.remove(&(id, mid));
        let Some(track) = self.tracks.remove(&(id, mid)) else { return };
        for (sub, local) in track.subscribers {
            if let Some(p) = self.peers.get_mut(&sub) {
                p.outgoing.retain(|o| o.source != (id, mid));
                if p.kind == PeerKind::Conference {
                    p.rtc.sdp_api().stop_media(local);
                    p.dirty = true;
                }
            }
        }
        for p in self.peers.values_mut() {
            p.outgoing.retain(|o| o.source != (id, mid));
        }
        let members: Vec<PeerId> = self.room_members(room);
        for m in members {
            self.out.push_back(SfuOutput::Signal(m, Signal::TrackUnpublished { publisher: id, mid: mid.to_string() }));
        }
        // Renegotiate for the stopped sections.
        let subs: Vec<PeerId> = self.peers.iter().filter(|(_, p)| p.room == room).map(|(k, _)| *k).collect();
        for s in subs {
            self.negotiate(s);
        }
    }

    fn room_members(&self, room: &str) -> Vec<PeerId> {
        let mut v: Vec<_> = self.peers.iter().filter(|(_, p)| p.room == room).map(|(k, _)| *k).collect();
        v.sort();
        v
    }

    /// Feeds a datagram or the passing of time.
    pub fn handle_input(&mut self, input: Input) {
        match input {
            Input::Timeout(now) => {
                self.now = self.now.max(now);
                self.start_due_cameras(now);
                for p in self.peers.values_mut() {
                    if p.timeout.is_none_or(|t| t <= now) {
                        let _ = p.rtc.handle_input(Input::Timeout(now));
                        p.dirty = true;
                    }
                }
                self.tick_speakers(now);
                if now >= self.next_pause_check {
                    self.next_pause_check = now + PAUSE_CHECK;
                    self.pause_unwatched_layers(now);
                }
            }
            Input::Receive(now, receive) => {
                self.now = self.now.max(now);
                let input = Input::Receive(now, receive);
                let id = match &input {
                    Input::Receive(_, r) => self.by_addr.get(&r.source).copied(),
                    _ => None,
                }
                .filter(|id| self.peers.get(id).is_some_and(|p| p.rtc.accepts(&input)))
                .or_else(|| self.peers.iter().find(|(_, p)| p.rtc.accepts(&input)).map(|(k, _)| *k));
                let Some(id) = id else {
                    metrics::counter!("q10_sfu_datagrams_unmatched_total").increment(1);
                    return;
                };
                let source = match &input {
                    Input::Receive(_, r) => r.source,
                    _ => unreachable!(),
                };
                let peer = self.peers.get_mut(&id).expect("matched above");
                if let Err(e) = peer.rtc.handle_input(input) {
                    tracing::debug!(peer = %id, error = %e, "input refused");
                }
                peer.dirty = true;
                if peer.connected && !peer.addrs.contains(&source) {
                    peer.addrs.push(source);
                    self.by_addr.insert(source, id);
                }
                // In RTP mode str0m holds one received packet until polled: poll before the
                // next datagram, or it is lost.
                self.drain(id);
            }
        }
    }

    /// Parses a datagram from the socket and feeds it. Datagrams that are not STUN, DTLS, RTP or
    /// RTCP are dropped here.
    pub fn handle_datagram(&mut self, now: Instant, source: SocketAddr, data: &[u8]) {
        // ICE matches a datagram to a local candidate by the address it was sent to, which is the
        // announced one (behind 1:1 NAT, or bound to all interfaces, not the socket's own).
        let destination = self.config.candidates.first().copied().unwrap_or(self.config.local);
        match Receive::new(Protocol::Udp, source, destination, data) {
            Ok(r) => self.handle_input(Input::Receive(now, r)),
            Err(_) => metrics::counter!("q10_sfu_datagrams_malformed_total").increment(1),
        }
    }

    /// The next thing to do: a datagram to send, a signal to deliver, or the time to come back.
    pub fn poll_output(&mut self) -> SfuOutput {
        for id in std::mem::take(&mut self.renegotiate_soon) {
            self.negotiate(id);
        }
        loop {
            if let Some(o) = self.out.pop_front() {
                return o;
            }
            let Some(id) = self.peers.iter().find(|(_, p)| p.dirty).map(|(k, _)| *k) else { break };
            self.drain(id);
        }
        let next = self.peers.values().filter_map(|p| p.timeout).chain(self.camera_starts.first().map(|s| s.0)).min();
        let speaker_tick = self.now + SPEAKER_TICK;
        SfuOutput::Timeout(next.map_or(speaker_tick, |t| t.min(speaker_tick)))
    }

    /// Polls one participant until it has nothing more to say, acting on its events.
    fn drain(&mut self, id: PeerId) {
        let mut events = Vec::new();
        {
            let Some(peer) = self.peers.get_mut(&id) else { return };
            peer.dirty = false;
            loop {
                if !peer.rtc.is_alive() {
                    events.push(Event::IceConnectionStateChange(IceConnectionState::Disconnected));
                    break;
                }
                match peer.rtc.poll_output() {
                    Ok(Output::Transmit(t)) => self.out.push_back(SfuOutput::Transmit(t)),
                    Ok(Output::Timeout(t)) => {
                        peer.timeout = Some(t);
                        break;
                    }
                    Ok(Output::Event(e)) => events.push(e),
                    Err(e) => {
                        tracing::debug!(peer = %id, error = %e, "participant failed");
                        peer.rtc.disconnect();
                    }
                }
            }
        }
        for e in events {
            self.on_event(id, e);
        }
    }

    fn on_event(&mut self, id: PeerId, event: Event) {
        match event {
            Event::Connected => {
                let kind = self.peers.get_mut(&id).map(|p| {
                    p.connected = true;
                    p.kind
                });
                if kind == Some(PeerKind::Camera) {
                    self.camera_connected(id);
                }
                self.out.push_back(SfuOutput::Signal(id, Signal::Connected));
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) if self.peers.contains_key(&id) => {
                self.leave(id);
                self.out.push_back(SfuOutput::Signal(id, Signal::Gone));
            }
            Event::MediaAdded(m) => self.on_media_added(id, m.mid, m.kind, m.direction),
            Event::RtpPacket(packet) => self.forward(id, packet),
            Event::KeyframeRequest(_) if self.peers.get(&id).is_some_and(|p| p.kind == PeerKind::Camera) => {
                self.camera_keyframe_request(id);
            }
            Event::KeyframeRequest(req) => {
                let source =
                    self.peers.get_mut(&id).and_then(|p| p.out_mut_by_local(req.mid)).map(|o| (o.source, o.current));
                if let Some(((pid, mid), rid)) = source {
                    self.request_keyframe(pid, mid, rid);
                }
            }
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. } | BweKind::Remb { estimate, .. }) => {
                if let Some(p) = self.peers.get_mut(&id) {
                    p.estimate = estimate;
                }
                self.allocate(id);
            }
            Event::ChannelOpen(cid, _) => {
                if let Some(p) = self.peers.get_mut(&id) {
                    p.channel = Some(cid);
                }
            }
            Event::ChannelData(d) => {
                if !d.binary
                    && d.data.len() <= MAX_DATA_MESSAGE
                    && let Ok(text) = String::from_utf8(d.data)
                {
                    self.out.push_back(SfuOutput::Signal(id, Signal::Data { from: id, text }));
                }
            }
            _ => {}
        }
    }

    fn on_media_added(&mut self, id: PeerId, mid: Mid, kind: MediaKind, direction: Direction) {
        let Some(peer) = self.peers.get_mut(&id) else { return };
        let ours =
            peer.outgoing.iter().any(|o| matches!(o.state, OutState::Negotiating(m) | OutState::Open(m) if m == mid));
        if ours {
            return;
        }
        if peer.kind == PeerKind::Camera {
            if direction == Direction::SendOnly {
                self.camera_section(id, mid, kind);
            }
            return;
        }
        match direction {
            Direction::RecvOnly | Direction::SendRecv if peer.kind != PeerKind::Whep => {
                if !peer.may_publish {
                    tracing::info!(peer = %id, "participant may not publish; its media section is ignored");
                    return;
                }
                peer.published.push(mid);
                let room = peer.room.clone();
                self.tracks.insert(
                    (id, mid),
                    TrackIn {
                        kind,
                        meter: LayerMeter::default(),
                        last_keyframe_request: HashMap::new(),
                        subscribers: Vec::new(),
                        unwatched_since: HashMap::new(),
                    },
                );
                let info = self.track_info(id, mid, &self.tracks[&(id, mid)]);
                for m in self.room_members(&room) {
                    if m != id {
                        self.out.push_back(SfuOutput::Signal(m, Signal::TrackPublished(info.clone())));
                    }
                }
                let viewers: Vec<(PeerId, PeerKind)> =
                    self.peers.iter().filter(|(k, p)| **k != id && p.room == room).map(|(k, p)| (*k, p.kind)).collect();
                for (v, vk) in viewers {
                    match vk {
                        PeerKind::Conference => self.subscribe_inner(v, (id, mid)),
                        PeerKind::Whep => self.fill_whep(v),
                        PeerKind::Whip | PeerKind::Camera => {}
                    }
                }
            }
            Direction::SendOnly if peer.kind == PeerKind::Whep => {
                // A receive-only section of the viewer's offer: a slot to fill.
                peer.outgoing.push(TrackOut::new((UNBOUND, mid), kind, OutState::ToOpen));
                self.fill_whep(id);
            }
            _ => {}
        }
    }

    /// Sends a text message on a participant's data channel.
    pub fn send_data(&mut self, id: PeerId, text: &str) -> bool {
        let Some(peer) = self.peers.get_mut(&id) else { return false };
        let Some(cid) = peer.channel else { return false };
        let Some(mut ch) = peer.rtc.channel(cid) else { return false };
        let ok = ch.write(false, text.as_bytes()).is_ok();
        peer.dirty = true;
        ok
    }

    fn tick_speakers(&mut self, now: Instant) {
        let rooms: Vec<String> = self.speakers.keys().cloned().collect();
        for room in rooms {
            let Some(d) = self.speakers.get_mut(&room) else { continue };
            if let Some(change) = d.decide(now) {
                for m in self.room_members(&room) {
                    self.out.push_back(SfuOutput::Signal(m, Signal::ActiveSpeaker(change)));
                }
            }
        }
    }
}

/// The publisher of a viewer's section that no track fills yet.
const UNBOUND: PeerId = PeerId(0);
const SPEAKER_TICK: Duration = crate::speaker::DECISION_INTERVAL;
/// How often unwatched simulcast layers are looked for.
const PAUSE_CHECK: Duration = Duration::from_millis(500);
/// How long a layer goes unwatched before its publisher is asked to pause it.
const PAUSE_AFTER: Duration = Duration::from_secs(2);
/// The largest data channel message relayed to the room.
pub const MAX_DATA_MESSAGE: usize = 4 * 1024;
