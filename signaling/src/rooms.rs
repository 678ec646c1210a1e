//! Rooms as signaling sees them: who is in each, their state (muted, hand raised, floor), whether
//! the room is locked, and where to send each participant's messages. The media itself is the
//! SFU's business; this knows a participant's SFU handle only to address it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use q10_sfu::PeerId;
use q10_signaling_proto::{JoinClaims, ParticipantInfo, ParticipantRole, ServerMessage};
use tokio::sync::mpsc;

/// Where one connection's outgoing messages go.
pub type Outbox = mpsc::UnboundedSender<ServerMessage>;

#[derive(Debug)]
pub struct Member {
    pub info: ParticipantInfo,
    pub peer: Option<PeerId>,
    /// The live connection, if any, and its number (a newer connection replaces an older one).
    pub outbox: Option<(u64, Outbox)>,
    /// Shown in the participant list; recorders and WHEP viewers are not.
    pub listed: bool,
}

#[derive(Debug, Default)]
pub struct Room {
    pub locked: bool,
    /// Whether only participants with the floor may speak.
    pub moderated: bool,
    pub members: HashMap<String, Member>,
    /// Identities removed by a host; their tokens no longer admit them.
    pub removed: HashSet<String>,
    /// The host who started the recording running now, if one runs.
    pub recording: Option<String>,
    /// The document page being presented: (presenter, document, page).
    pub presenting: Option<(String, String, u32)>,
    next_participant: u64,
}

impl Room {
    pub fn listed(&self) -> Vec<ParticipantInfo> {
        let mut v: Vec<_> = self.members.values().filter(|m| m.listed).map(|m| m.info.clone()).collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    pub fn by_participant(&self, id: &str) -> Option<&Member> {
        self.members.values().find(|m| m.info.id == id)
    }

    pub fn by_participant_mut(&mut self, id: &str) -> Option<&mut Member> {
        self.members.values_mut().find(|m| m.info.id == id)
    }

    pub fn by_peer(&self, peer: PeerId) -> Option<&Member> {
        self.members.values().find(|m| m.peer == Some(peer))
    }

    /// Sends to every connected member, optionally but one.
    pub fn broadcast(&self, msg: &ServerMessage, except: Option<&str>) {
        for m in self.members.values() {
            if except.is_some_and(|e| e == m.info.id) {
                continue;
            }
            if let Some((_, tx)) = &m.outbox {
                let _ = tx.send(msg.clone());
            }
        }
    }

    pub fn send_to(&self, participant: &str, msg: ServerMessage) {
        if let Some((_, tx)) = self.by_participant(participant).and_then(|m| m.outbox.as_ref()) {
            let _ = tx.send(msg);
        }
    }
}

/// Why a join was turned away.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Locked,
    Removed,
}

/// The outcome of admitting a connection.
#[derive(Debug)]
pub struct Admitted {
    pub you: ParticipantInfo,
    pub participants: Vec<ParticipantInfo>,
    pub locked: bool,
    /// The identity was already in the room; its media session, if any, carries on.
    pub resumed: Option<PeerId>,
}

/// Told when a listed participant enters or leaves a room (a reconnection is neither), e.g. to
/// keep a meeting's attendance. Called with the rooms locked: implementations only hand the event
/// on (to a channel, say) and never block.
pub trait RoomObserver: Send + Sync {
    fn joined(&self, room: &str, participant: &ParticipantInfo);
    fn left(&self, room: &str, participant: &ParticipantInfo);
}

/// All rooms of this signaling server.
#[derive(Default)]
pub struct Rooms {
    rooms: Mutex<HashMap<String, Room>>,
    observer: Option<Arc<dyn RoomObserver>>,
}

impl std::fmt::Debug for Rooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooms").field("rooms", &self.rooms).finish_non_exhaustive()
    }
}

impl Rooms {
    pub fn new(observer: Option<Arc<dyn RoomObserver>>) -> Self {
        Rooms { rooms: Mutex::default(), observer }
    }

    /// Runs `f` on a room if it exists.
    pub fn with<R>(&self, room: &str, f: impl FnOnce(&mut Room) -> R) -> Option<R> {
        let mut rooms = self.rooms.lock().expect("rooms lock");
        rooms.get_mut(room).map(f)
    }

    /// Admits a connection of `claims.sub`; a second connection of the same identity replaces the
    /// first, which is told so.
    pub fn admit(&self, claims: &JoinClaims, conn: u64, outbox: Outbox, listed: bool) -> Result<Admitted, Refusal> {
        let mut rooms = self.rooms.lock().expect("rooms lock");
        let room = rooms.entry(claims.room.clone()).or_default();
        if room.removed.contains(&claims.sub) {
            return Err(Refusal::Removed);
        }
        let hosting = claims.role == ParticipantRole::Host;
        if let Some(m) = room.members.get_mut(&claims.sub) {
            if let Some((_, old)) = m.outbox.replace((conn, outbox)) {
                let _ = old.send(ServerMessage::Closed { reason: q10_signaling_proto::CloseReason::Replaced });
            }
            let you = m.info.clone();
            let resumed = m.peer;
            return Ok(Admitted { you, participants: room.listed(), locked: room.locked, resumed });
        }
        if room.locked && !hosting {
            return Err(Refusal::Locked);
        }
        room.next_participant += 1;
        let info = ParticipantInfo {
            id: format!("p{}", room.next_participant),
            identity: claims.sub.clone(),
            name: claims.name.clone(),
            role: claims.role,
            unit: claims.unit.clone(),
            audio_muted: false,
            video_muted: false,
            hand_raised: false,
            has_floor: !room.moderated || hosting,
            screen: None,
        };
        room.members.insert(
            claims.sub.clone(),
            Member { info: info.clone(), peer: None, outbox: Some((conn, outbox)), listed },
        );
        if listed {
            room.broadcast(&ServerMessage::ParticipantJoined { participant: info.clone() }, Some(&info.id));
            if let Some(o) = &self.observer {
                o.joined(&claims.room, &info);
            }
        }
        Ok(Admitted { you: info, participants: room.listed(), locked: room.locked, resumed: None })
    }

    /// Detaches connection `conn` from `identity` (if it is still the live one). The member stays
    /// for a reconnection until [`Rooms::remove`].
    pub fn detach(&self, room: &str, identity: &str, conn: u64) -> bool {
        self.with(room, |r| match r.members.get_mut(identity) {
            Some(m) if m.outbox.as_ref().is_some_and(|(c, _)| *c == conn) => {
                m.outbox = None;
                true
            }
            _ => false,
        })
        .unwrap_or(false)
    }

    /// Whether `identity` has no live connection (so a pending removal may go ahead).
    pub fn is_detached(&self, room: &str, identity: &str) -> bool {
        self.with(room, |r| r.members.get(identity).is_some_and(|m| m.outbox.is_none())).unwrap_or(false)
    }

    /// Removes a member, tells the room, and returns its media handle to release. Empty rooms go.
    pub fn remove(&self, room: &str, identity: &str) -> Option<PeerId> {
        let mut rooms = self.rooms.lock().expect("rooms lock");
        let r = rooms.get_mut(room)?;
        let m = r.members.remove(identity)?;
        if m.listed {
            r.broadcast(&ServerMessage::ParticipantLeft { participant: m.info.id.clone() }, None);
            if let Some(o) = &self.observer {
                o.left(room, &m.info);
            }
        }
        if r.members.is_empty() && r.removed.is_empty() {
            rooms.remove(room);
        }
        m.peer
    }

    /// Everyone in a room, for ending it.
    pub fn identities(&self, room: &str) -> Vec<String> {
        self.with(room, |r| r.members.keys().cloned().collect()).unwrap_or_default()
    }

    pub fn set_peer(&self, room: &str, identity: &str, peer: PeerId) {
        self.with(room, |r| {
            if let Some(m) = r.members.get_mut(identity) {
                m.peer = Some(peer);
            }
        });
    }

    /// Changes a member's state and tells the room.
    pub fn update(&self, room: &str, identity: &str, f: impl FnOnce(&mut ParticipantInfo)) {
        self.with(room, |r| {
            let Some(m) = r.members.get_mut(identity) else { return };
            f(&mut m.info);
            let msg = ServerMessage::ParticipantUpdated { participant: m.info.clone() };
            if m.listed {
                r.broadcast(&msg, None);
            }
        });
    }

    /// The number of rooms and of members in them.
    pub fn counts(&self) -> (usize, usize) {
        let rooms = self.rooms.lock().expect("rooms lock");
        (rooms.len(), rooms.values().map(|r| r.members.len()).sum())
    }
}
