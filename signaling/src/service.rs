//! The signaling service: the WebSocket protocol of `docs/signaling.md` at `/rtc/v1`, and WHIP and
//! WHEP endpoints for tools that publish or watch without our client.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use q10_sfu::{JoinRequest, PeerId, PeerKind, SdpAnswer, SdpOffer, SfuError, SfuHandle, Signal};
use q10_signaling_proto::{
    ClientMessage, CloseReason, ErrorCode, JoinClaims, MAX_MESSAGE_BYTES, MediaKindName, ModeratorAction,
    PROTOCOL_VERSION, ParticipantRole, ServerMessage, TrackRef,
};
use time::OffsetDateTime;
use tokio::sync::mpsc;

mod whip;

use crate::rooms::{Refusal, RoomObserver, Rooms};
use crate::token::{JoinTokenError, JoinTokens};

/// Settings of the signaling service.
#[derive(Debug, Clone)]
pub struct SignalingConfig {
    /// How long a participant whose connection dropped stays in the room, waiting to resume.
    pub resume_grace: Duration,
    /// A connection silent for this long is closed (clients ping every 10 seconds).
    pub idle_timeout: Duration,
    /// Join attempts allowed per client address per minute.
    pub joins_per_minute: u32,
    /// TURN servers handed to clients, if any.
    pub turn: Option<Arc<crate::Turn>>,
    /// Reverse proxies in front of this server: for connections from them, the client's address
    /// (which join attempts are counted by) is read from `X-Forwarded-For`.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for SignalingConfig {
    fn default() -> Self {
        SignalingConfig {
            resume_grace: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(40),
            joins_per_minute: 30,
            turn: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// The service's state, shared by its handlers.
pub struct Signaling {
    tokens: JoinTokens,
    sfu: SfuHandle,
    rooms: Rooms,
    config: SignalingConfig,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    connections: AtomicU64,
    http_sessions: std::sync::Mutex<std::collections::HashMap<String, HttpSession>>,
}

/// A WHIP or WHEP session, addressed by its resource URL.
#[derive(Debug, Clone)]
struct HttpSession {
    room: String,
    identity: String,
    peer: PeerId,
    /// Whether the session is listed in its room (a camera viewer's is not: a camera is no meeting).
    listed: bool,
}

impl std::fmt::Debug for Signaling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signaling").field("rooms", &self.rooms.counts()).finish()
    }
}

impl Signaling {
    /// `observer`, if any, hears of every participant entering and leaving a room.
    pub fn new(
        tokens: JoinTokens,
        sfu: SfuHandle,
        config: SignalingConfig,
        observer: Option<Arc<dyn RoomObserver>>,
    ) -> Arc<Self> {
        let per_minute = NonZeroU32::new(config.joins_per_minute.max(1)).expect("at least one");
        Arc::new(Signaling {
            tokens,
            sfu,
            rooms: Rooms::new(observer),
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            connections: AtomicU64::new(0),
            http_sessions: Default::default(),
            config,
        })
    }

    /// Rooms open and participants in them.
    pub fn counts(&self) -> (usize, usize) {
        self.rooms.counts()
    }
}

/// The service's routes: `/rtc/v1`, `/whip/{room}`, `/whep/{room}`, `/whep/cameras/{id}`.
pub fn router(state: Arc<Signaling>) -> Router {
    Router::new()
        .route("/rtc/v1", get(websocket))
        .route("/whep/cameras/{id}", post(whip::whep_camera))
        .route("/whep/cameras/{id}/{session}", delete(whip::end_camera_session))
        .route("/whip/{room}", post(whip::whip))
        .route("/whep/{room}", post(whip::whep))
        .route("/whip/{room}/{session}", delete(whip::end_http_session))
        .route("/whep/{room}/{session}", delete(whip::end_http_session))
        .with_state(state)
}

fn error(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
    ServerMessage::Error { code, message: message.into() }
}

fn token_error(e: &JoinTokenError) -> ServerMessage {
    error(ErrorCode::BadToken, e.to_string())
}

/// The client's address: the peer's, or behind a trusted proxy the last address in
/// `X-Forwarded-For` that is not itself a trusted proxy.
fn client_ip(state: &Signaling, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    if !state.config.trusted_proxies.contains(&peer) {
        return peer;
    }
    let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    let hops: Vec<IpAddr> = forwarded.flat_map(|v| v.split(',')).filter_map(|h| h.trim().parse().ok()).collect();
    hops.into_iter().rev().find(|ip| !state.config.trusted_proxies.contains(ip)).unwrap_or(peer)
}

async fn websocket(
    State(state): State<Arc<Signaling>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let ip = client_ip(&state, addr.ip(), &headers);
    // The socket takes up to twice the limit so that an oversized message can be refused with a
    // reason; anything larger than that ends the connection at once.
    ws.max_message_size(MAX_MESSAGE_BYTES * 2)
        .max_frame_size(MAX_MESSAGE_BYTES * 2)
        .on_upgrade(move |socket| session(state, socket, ip))
}

async fn send(socket: &mut WebSocket, msg: &ServerMessage) -> bool {
    let text = serde_json::to_string(msg).expect("server messages serialize");
    socket.send(Message::Text(text.into())).await.is_ok()
}

/// Reads the next text message; `None` when the connection is over.
async fn next_text(socket: &mut WebSocket, idle: Duration) -> Option<Result<String, ServerMessage>> {
    loop {
        match tokio::time::timeout(idle, socket.recv()).await {
            Err(_) => return None,
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return None,
            Ok(Some(Ok(Message::Text(t)))) => return Some(Ok(t.to_string())),
            Ok(Some(Ok(Message::Binary(_)))) => {
                return Some(Err(error(ErrorCode::BadMessage, "messages are JSON text, not binary")));
            }
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// Who a connection is, once joined.
struct Joined {
    room: String,
    claims: JoinClaims,
    participant: String,
    conn: u64,
}

async fn session(state: Arc<Signaling>, mut socket: WebSocket, ip: IpAddr) {
    metrics::counter!("q10_signaling_connections_total").increment(1);
    let Some(joined) = handshake(&state, &mut socket, ip).await else {
        let _ = socket.send(Message::Close(None)).await;
        return;
    };
    let (outbox_tx, mut outbox) = mpsc::unbounded_channel();
    let admitted =
        state.rooms.admit(&joined.claims, joined.conn, outbox_tx, joined.claims.role != ParticipantRole::Recorder);
    let admitted = match admitted {
        Ok(a) => a,
        Err(refusal) => {
            let (code, text) = match refusal {
                Refusal::Locked => (ErrorCode::RoomLocked, "the room is locked; ask the host to let you in"),
                Refusal::Removed => (ErrorCode::Forbidden, "a host removed you from this meeting"),
            };
            send(&mut socket, &error(code, text)).await;
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    };
    let mut peer = admitted.resumed;
    let joined = Joined { participant: admitted.you.id.clone(), ..joined };
    let hello = ServerMessage::Joined {
        v: PROTOCOL_VERSION,
        room: joined.room.clone(),
        you: admitted.you,
        participants: admitted.participants,
        locked: admitted.locked,
        resumed: peer.is_some(),
        ice_servers: state
            .config
            .turn
            .iter()
            .map(|t| t.credentials(&joined.claims.sub, OffsetDateTime::now_utc()))
            .collect(),
    };
    if !send(&mut socket, &hello).await {
        state.rooms.detach(&joined.room, &joined.claims.sub, joined.conn);
        schedule_removal(&state, &joined);
        return;
    }
    let recording = state.rooms.with(&joined.room, |r| r.recording.clone()).flatten();
    if let Some(by) = recording {
        send(&mut socket, &ServerMessage::Recording { on: true, by }).await;
    }
    let presenting = state.rooms.with(&joined.room, |r| r.presenting.clone()).flatten();
    if let Some((by, document, page)) = presenting {
        send(&mut socket, &ServerMessage::Presenting { by, document: Some(document), page }).await;
    }
    if let Some(p) = peer
        && let Ok(tracks) = state.sfu.tracks(joined.room.clone()).await
    {
        // A resumed client has lost its view of the room: tell it what is published.
        for t in tracks.into_iter().filter(|t| t.publisher != p) {
            if let Some(track) = track_ref(&state, &joined.room, &t) {
                send(&mut socket, &ServerMessage::TrackPublished { track }).await;
            }
        }
    }
    let mut leaving = None;
    loop {
        tokio::select! {
            incoming = next_text(&mut socket, state.config.idle_timeout) => {
                let Some(incoming) = incoming else { break };
                let reply = match incoming {
                    Ok(text) => match ClientMessage::parse(&text) {
                        Ok(msg) => handle(&state, &joined, &mut peer, msg).await,
                        Err((ErrorCode::TooLarge, message)) => {
                            send(&mut socket, &error(ErrorCode::TooLarge, message)).await;
                            break;
                        }
                        Err((code, message)) => Step::Reply(error(code, message)),
                    },
                    Err(e) => Step::Reply(e),
                };
                match reply {
                    Step::Quiet => {}
                    Step::Reply(m) => { if !send(&mut socket, &m).await { break; } }
                    Step::Close(reason) => { leaving = Some(reason); break; }
                }
            }
            out = outbox.recv() => {
                let Some(out) = out else { break };
                let closing = matches!(out, ServerMessage::Closed { .. });
                if !send(&mut socket, &out).await { break; }
                if closing {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            }
        }
    }
    if let Some(reason) = leaving {
        send(&mut socket, &ServerMessage::Closed { reason }).await;
        let _ = socket.send(Message::Close(None)).await;
        if let Some(p) = state.rooms.remove(&joined.room, &joined.claims.sub) {
            state.sfu.leave(p).await;
        }
    } else if state.rooms.detach(&joined.room, &joined.claims.sub, joined.conn) {
        schedule_removal(&state, &joined);
    }
}

/// Reads and checks the `join` message.
async fn handshake(state: &Arc<Signaling>, socket: &mut WebSocket, ip: IpAddr) -> Option<Joined> {
    let first = next_text(socket, Duration::from_secs(10)).await?;
    let msg = match first.map(|t| ClientMessage::parse(&t)) {
        Ok(Ok(m)) => m,
        Ok(Err((code, message))) => {
            send(socket, &error(code, message)).await;
            return None;
        }
        Err(e) => {
            send(socket, &e).await;
            return None;
        }
    };
    let ClientMessage::Join { v, room, token } = msg else {
        send(socket, &error(ErrorCode::NotJoined, "the first message must be join")).await;
        return None;
    };
    if state.limiter.check_key(&ip).is_err() {
        metrics::counter!("q10_signaling_joins_limited_total").increment(1);
        send(socket, &error(ErrorCode::RateLimited, "too many join attempts; wait a minute")).await;
        return None;
    }
    if let Err(e) = crate::check_room_name(&room) {
        send(socket, &error(ErrorCode::BadMessage, e)).await;
        return None;
    }
    if v != PROTOCOL_VERSION {
        send(socket, &error(ErrorCode::UnsupportedVersion, format!("this server speaks version {PROTOCOL_VERSION}")))
            .await;
        return None;
    }
    let claims = match state.tokens.verify(&token, &room, OffsetDateTime::now_utc()) {
        Ok(c) => c,
        Err(e) => {
            send(socket, &token_error(&e)).await;
            return None;
        }
    };
    let conn = state.connections.fetch_add(1, Ordering::Relaxed) + 1;
    Some(Joined { room, claims, participant: String::new(), conn })
}

/// After a dropped connection, gives the participant time to come back before it leaves.
fn schedule_removal(state: &Arc<Signaling>, joined: &Joined) {
    let state = state.clone();
    let room = joined.room.clone();
    let identity = joined.claims.sub.clone();
    tokio::spawn(async move {
        tokio::time::sleep(state.config.resume_grace).await;
        if state.rooms.is_detached(&room, &identity)
            && let Some(p) = state.rooms.remove(&room, &identity)
        {
            state.sfu.leave(p).await;
        }
    });
}

/// The parser's own report names memory offsets; people get the line it expected instead.
fn sdp_parse_error(what: &str, e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let expected = text.lines().find(|l| l.trim_start().starts_with("Expected")).map(str::trim);
    match expected {
        Some(x) => format!("the {what} is not valid SDP ({x})"),
        None => format!("the {what} is not valid SDP"),
    }
}

// A step lives on the stack for one message: boxing the reply would allocate for every one.
#[allow(clippy::large_enum_variant)]
enum Step {
    Quiet,
    Reply(ServerMessage),
    Close(CloseReason),
}

fn sdp_error(e: SfuError) -> ServerMessage {
    match e {
        SfuError::UnknownPeer => error(ErrorCode::Unavailable, "the media session is gone; send a new offer"),
        e => error(ErrorCode::BadSdp, e.to_string()),
    }
}

async fn handle(state: &Arc<Signaling>, me: &Joined, peer: &mut Option<PeerId>, msg: ClientMessage) -> Step {
    let room = &me.room;
    let identity = &me.claims.sub;
    match msg {
        ClientMessage::Join { .. } => Step::Reply(error(ErrorCode::NotJoined, "already joined")),
        ClientMessage::Ping { id } => Step::Reply(ServerMessage::Pong { id }),
        ClientMessage::Leave => Step::Close(CloseReason::Left),
        ClientMessage::Offer { sdp } => {
            let offer = match SdpOffer::from_sdp_string(&sdp) {
                Ok(o) => o,
                Err(e) => return Step::Reply(error(ErrorCode::BadSdp, sdp_parse_error("offer", &e))),
            };
            if let Some(p) = *peer {
                match state.sfu.offer(p, offer).await {
                    Ok(answer) => return Step::Reply(ServerMessage::Answer { sdp: answer.to_sdp_string() }),
                    // The media session ended meanwhile: this offer starts a new one.
                    Err(SfuError::UnknownPeer) => *peer = None,
                    Err(e) => return Step::Reply(sdp_error(e)),
                }
            }
            let Ok(offer) = SdpOffer::from_sdp_string(&sdp) else { return Step::Quiet };
            let req = JoinRequest {
                room: room.clone(),
                identity: identity.clone(),
                kind: PeerKind::Conference,
                may_publish: me.claims.role.may_publish(),
            };
            match state.sfu.join(req, offer).await {
                Ok(j) => {
                    *peer = Some(j.peer);
                    state.rooms.set_peer(room, identity, j.peer);
                    spawn_relay(state.clone(), room.clone(), identity.clone(), j.signals);
                    Step::Reply(ServerMessage::Answer { sdp: j.answer.to_sdp_string() })
                }
                Err(e) => Step::Reply(sdp_error(e)),
            }
        }
        ClientMessage::Answer { sdp } => {
            let Some(p) = *peer else {
                return Step::Reply(error(ErrorCode::BadSdp, "no offer of the server is waiting for an answer"));
            };
            let answer = match SdpAnswer::from_sdp_string(&sdp) {
                Ok(a) => a,
                Err(e) => return Step::Reply(error(ErrorCode::BadSdp, sdp_parse_error("answer", &e))),
            };
            match state.sfu.answer(p, answer).await {
                Ok(()) => Step::Quiet,
                Err(e) => Step::Reply(sdp_error(e)),
            }
        }
        ClientMessage::Candidate { candidate } => {
            let Some(p) = *peer else { return Step::Quiet };
            if candidate.trim().is_empty() {
                return Step::Quiet;
            }
            match state.sfu.add_candidate(p, candidate).await {
                Ok(()) => Step::Quiet,
                Err(e) => Step::Reply(sdp_error(e)),
            }
        }
        ClientMessage::PreferLayer { participant, mid, layer } => {
            let (Some(p), Some(publisher)) =
                (*peer, state.rooms.with(room, |r| r.by_participant(&participant).and_then(|m| m.peer)).flatten())
            else {
                return Step::Reply(error(ErrorCode::UnknownParticipant, "no such participant is publishing"));
            };
            state.sfu.prefer_layer(p, publisher, mid, layer).await;
            Step::Quiet
        }
        ClientMessage::Mute { kind, muted } => {
            let allowed = muted
                || state
                    .rooms
                    .with(room, |r| !r.moderated || r.members.get(identity).is_some_and(|m| m.info.has_floor))
                    .unwrap_or(false);
            if !allowed {
                return Step::Reply(error(ErrorCode::Forbidden, "the host has not given you the floor"));
            }
            state.rooms.update(room, identity, |i| match kind {
                MediaKindName::Audio => i.audio_muted = muted,
                MediaKindName::Video => i.video_muted = muted,
                MediaKindName::Screen if muted => i.screen = None,
                MediaKindName::Screen => {}
            });
            Step::Quiet
        }
        ClientMessage::Screen { mid } => {
            if mid.as_ref().is_some_and(|m| m.is_empty() || m.len() > 32) {
                return Step::Reply(error(
                    ErrorCode::BadMessage,
                    "mid is the sending section's id, 1 to 32 characters",
                ));
            }
            if mid.is_some() && !me.claims.role.may_publish() {
                return Step::Reply(error(ErrorCode::Forbidden, "this role may not share a screen"));
            }
            state.rooms.update(room, identity, |i| i.screen = mid);
            Step::Quiet
        }
        ClientMessage::Chat { text } => {
            let text = text.trim();
            if text.is_empty() || text.chars().count() > 2_000 {
                return Step::Reply(error(ErrorCode::BadMessage, "a chat line is 1 to 2000 characters"));
            }
            chat(state, room, &me.participant, &me.claims.name, text);
            Step::Quiet
        }
        ClientMessage::RaiseHand { raised } => {
            state.rooms.update(room, identity, |i| i.hand_raised = raised);
            Step::Quiet
        }
        ClientMessage::Reaction { emoji } => {
            if emoji.is_empty() || emoji.chars().count() > 8 {
                return Step::Reply(error(ErrorCode::BadMessage, "a reaction is one emoji"));
            }
            let msg = ServerMessage::Reaction { from: me.participant.clone(), emoji };
            state.rooms.with(room, |r| r.broadcast(&msg, None));
            Step::Quiet
        }
        ClientMessage::Present { document, page } => {
            if !me.claims.role.may_publish() {
                return Step::Reply(error(ErrorCode::Forbidden, "only hosts and speakers may present"));
            }
            if document.as_ref().is_some_and(|d| d.is_empty() || d.len() > 64) {
                return Step::Reply(error(ErrorCode::BadMessage, "document is a document id, 1 to 64 characters"));
            }
            let msg = ServerMessage::Presenting { by: me.participant.clone(), document: document.clone(), page };
            state.rooms.with(room, |r| {
                r.presenting = document.map(|d| (me.participant.clone(), d, page));
                r.broadcast(&msg, None);
            });
            Step::Quiet
        }
        ClientMessage::Moderate { action } => {
            if me.claims.role != ParticipantRole::Host {
                return Step::Reply(error(ErrorCode::Forbidden, "only a host may do that"));
            }
            if matches!(action, ModeratorAction::Record { on: true }) && me.claims.no_record {
                return Step::Reply(error(ErrorCode::Forbidden, "this call may not be recorded: there is no consent"));
            }
            moderate(state, me, action).await
        }
    }
}

fn chat(state: &Signaling, room: &str, from: &str, name: &str, text: &str) {
    let msg = ServerMessage::Chat {
        from: from.to_string(),
        name: name.to_string(),
        text: text.to_string(),
        at: OffsetDateTime::now_utc().unix_timestamp(),
    };
    state.rooms.with(room, |r| r.broadcast(&msg, None));
}

async fn moderate(state: &Arc<Signaling>, me: &Joined, action: ModeratorAction) -> Step {
    let room = &me.room;
    let by = me.participant.clone();
    let target_identity =
        |p: &str| state.rooms.with(room, |r| r.by_participant(p).map(|m| m.info.identity.clone())).flatten();
    match &action {
        ModeratorAction::Mute { participant } | ModeratorAction::TakeFloor { participant } => {
            let Some(who) = target_identity(participant) else {
                return Step::Reply(error(ErrorCode::UnknownParticipant, "no such participant"));
            };
            let take = matches!(action, ModeratorAction::TakeFloor { .. });
            state.rooms.with(room, |r| {
                if take {
                    r.moderated = true;
                }
                r.send_to(participant, ServerMessage::Moderated { action: action.clone(), by: by.clone() });
            });
            state.rooms.update(room, &who, |i| {
                i.audio_muted = true;
                if take {
                    i.has_floor = false;
                }
            });
        }
        ModeratorAction::GiveFloor { participant } => {
            let Some(who) = target_identity(participant) else {
                return Step::Reply(error(ErrorCode::UnknownParticipant, "no such participant"));
            };
            state.rooms.with(room, |r| {
                r.moderated = true;
                r.send_to(participant, ServerMessage::Moderated { action: action.clone(), by: by.clone() });
            });
            state.rooms.update(room, &who, |i| i.has_floor = true);
        }
        ModeratorAction::Remove { participant } => {
            let Some(who) = target_identity(participant) else {
                return Step::Reply(error(ErrorCode::UnknownParticipant, "no such participant"));
            };
            state.rooms.with(room, |r| {
                r.removed.insert(who.clone());
                r.send_to(participant, ServerMessage::Closed { reason: CloseReason::Removed });
            });
            if let Some(p) = state.rooms.remove(room, &who) {
                state.sfu.leave(p).await;
            }
        }
        ModeratorAction::Lock { locked } => {
            let locked = *locked;
            state.rooms.with(room, |r| {
                r.locked = locked;
                r.broadcast(&ServerMessage::RoomLocked { locked }, None);
            });
        }
        ModeratorAction::Record { on } => {
            let on = *on;
            match state.sfu.record(room.clone(), on).await {
                Ok(_) => {
                    let msg = ServerMessage::Recording { on, by: by.clone() };
                    state.rooms.with(room, |r| {
                        r.recording = on.then(|| by.clone());
                        r.broadcast(&msg, None);
                    });
                }
                Err(e) => return Step::Reply(error(ErrorCode::Unavailable, e.to_string())),
            }
        }
        ModeratorAction::End => {
            for who in state.rooms.identities(room) {
                state.rooms.with(room, |r| {
                    if let Some((_, tx)) = r.members.get(&who).and_then(|m| m.outbox.as_ref()) {
                        let _ = tx.send(ServerMessage::Closed { reason: CloseReason::Ended });
                    }
                });
                if let Some(p) = state.rooms.remove(room, &who) {
                    state.sfu.leave(p).await;
                }
            }
        }
    }
    Step::Quiet
}

fn track_ref(state: &Signaling, room: &str, t: &q10_sfu::TrackInfo) -> Option<TrackRef> {
    let participant = state.rooms.with(room, |r| r.by_peer(t.publisher).map(|m| m.info.id.clone())).flatten()?;
    Some(TrackRef { participant, mid: t.mid.clone(), kind: t.kind.to_string(), layers: t.layers.clone() })
}

/// Carries the SFU's signals for one participant to whichever connection it has now.
fn spawn_relay(state: Arc<Signaling>, room: String, identity: String, mut signals: q10_sfu::SignalReceiver) {
    tokio::spawn(async move {
        while let Some(signal) = signals.recv().await {
            let participant_of =
                |p: PeerId| state.rooms.with(&room, |r| r.by_peer(p).map(|m| m.info.id.clone())).flatten();
            let msg = match signal {
                Signal::Offer(o) => Some(ServerMessage::Offer { sdp: o.to_sdp_string() }),
                Signal::Connected => Some(ServerMessage::Connected),
                Signal::Gone => {
                    state.rooms.with(&room, |r| {
                        if let Some(m) = r.members.get_mut(&identity) {
                            m.peer = None;
                        }
                    });
                    Some(error(ErrorCode::Unavailable, "the media connection was lost; send a new offer to reconnect"))
                }
                Signal::TrackPublished(t) => {
                    track_ref(&state, &room, &t).map(|track| ServerMessage::TrackPublished { track })
                }
                Signal::TrackUnpublished { publisher, mid } => {
                    participant_of(publisher).map(|participant| ServerMessage::TrackUnpublished { participant, mid })
                }
                Signal::Mapping { local_mid, publisher, source_mid } => participant_of(publisher)
                    .map(|participant| ServerMessage::TrackMapping { mid: local_mid, participant, source_mid }),
                Signal::Layers { mid, active } => Some(ServerMessage::Layers { mid, active }),
                Signal::ActiveSpeaker(p) => {
                    Some(ServerMessage::ActiveSpeaker { participant: p.and_then(participant_of) })
                }
                Signal::Data { text, .. } => {
                    // A line on the data channel is chat from this participant.
                    let who = state
                        .rooms
                        .with(&room, |r| r.members.get(&identity).map(|m| (m.info.id.clone(), m.info.name.clone())))
                        .flatten();
                    let text = text.trim();
                    if let Some((id, name)) = who
                        && !text.is_empty()
                    {
                        chat(&state, &room, &id, &name, text);
                    }
                    None
                }
            };
            if let Some(msg) = msg {
                state.rooms.with(&room, |r| {
                    if let Some((_, tx)) = r.members.get(&identity).and_then(|m| m.outbox.as_ref()) {
                        let _ = tx.send(msg);
                    }
                });
            }
        }
    });
}
