//! Server-side negotiation: offering a subscriber the sections for tracks it should receive,
//! and filling a WHEP viewer's sections.

use super::*;

impl Sfu {
    /// Binds a WHEP viewer's empty sections to the room's first publisher of each kind.
    pub(super) fn fill_whep(&mut self, id: PeerId) {
        let Some(peer) = self.peers.get(&id) else { return };
        let room = peer.room.clone();
        let empty: Vec<(usize, Mid, MediaKind)> = peer
            .outgoing
            .iter()
            .enumerate()
            .filter(|(_, o)| o.source.0 == UNBOUND)
            .map(|(i, o)| (i, o.source.1, o.kind))
            .collect();
        if empty.is_empty() {
            return;
        }
        let mut candidates: Vec<(PeerId, Mid, MediaKind)> = self
            .tracks
            .iter()
            .filter(|((pid, _), _)| self.peers.get(pid).is_some_and(|p| p.room == room))
            .map(|((pid, mid), t)| (*pid, *mid, t.kind))
            .collect();
        candidates.sort_by_key(|(p, m, _)| (*p, m.to_string()));
        let Some(first) = candidates.first().map(|c| c.0) else { return };
        let mut bound = Vec::new();
        for (i, local, kind) in empty {
            if let Some((pid, mid, _)) = candidates.iter().find(|(p, _, k)| *p == first && *k == kind) {
                bound.push((i, local, (*pid, *mid)));
            }
        }
        let peer = self.peers.get_mut(&id).expect("present above");
        for (i, local, source) in &bound {
            peer.outgoing[*i] = TrackOut::new(*source, peer.outgoing[*i].kind, OutState::Open(*local));
        }
        for (_, local, source) in bound {
            if let Some(t) = self.tracks.get_mut(&source) {
                t.subscribers.push((id, local));
            }
            self.allocate(id);
            self.request_keyframe(source.0, source.1, None);
        }
    }

    pub(super) fn subscribe_inner(&mut self, id: PeerId, source: (PeerId, Mid)) {
        let Some(peer) = self.peers.get_mut(&id) else { return };
        if peer.outgoing.iter().any(|o| o.source == source) {
            return;
        }
        let Some(kind) = self.tracks.get(&source).map(|t| t.kind) else { return };
        peer.outgoing.push(TrackOut::new(source, kind, OutState::ToOpen));
        self.negotiate(id);
    }

    /// Makes an offer for sections waiting to open or close, unless one is already out.
    pub(super) fn negotiate(&mut self, id: PeerId) {
        let Some(peer) = self.peers.get_mut(&id) else { return };
        if peer.pending.is_some() || peer.kind != PeerKind::Conference {
            return;
        }
        let mut api = peer.rtc.sdp_api();
        let mut to_open = Vec::new();
        for (i, o) in peer.outgoing.iter().enumerate() {
            if o.state == OutState::ToOpen
                && let Some(t) = self.tracks.get(&o.source)
            {
                let stream = format!("{}", o.source.0);
                let track = format!("{}-{}", o.source.0, o.source.1);
                let mid = api.add_media(t.kind, Direction::SendOnly, Some(stream), Some(track), None);
                to_open.push((i, mid));
            }
        }
        if !api.has_changes() {
            return;
        }
        let Some((offer, pending)) = api.apply() else { return };
        for (i, mid) in to_open {
            peer.outgoing[i].state = OutState::Negotiating(mid);
        }
        peer.pending = Some(pending);
        peer.dirty = true;
        self.out.push_back(SfuOutput::Signal(id, Signal::Offer(offer)));
    }
}
