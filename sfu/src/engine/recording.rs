//! Which packets of a recorded room go to the recorder: every track, and for simulcast the best
//! layer, switching on keyframes.

use super::*;

impl Sfu {
    /// Starts or stops recording a room; false if it already was as asked.
    pub fn set_recording(&mut self, room: &str, on: bool) -> bool {
        let changed = if on { self.recording.insert(room.to_string()) } else { self.recording.remove(room) };
        if changed && !on {
            let peers = &self.peers;
            self.recorded_layer.retain(|(pid, _), _| peers.get(pid).is_some_and(|p| p.room != room));
        }
        if changed {
            let room = room.to_string();
            let cmd = if on { RecordCommand::Start { room } } else { RecordCommand::Stop { room } };
            self.out.push_back(SfuOutput::Record(cmd));
        }
        changed
    }

    /// Whether a room is being recorded.
    pub fn is_recording(&self, room: &str) -> bool {
        self.recording.contains(room)
    }

    /// Hands a packet to the recorder if its room is recorded: for simulcast, the best live
    /// layer, switching only on keyframes. Returns a layer to ask a keyframe of, if any.
    pub(super) fn record(
        &mut self,
        from: PeerId,
        mid: Mid,
        rid: Option<Rid>,
        codec: Codec,
        keyframe: bool,
        packet: &RtpPacket,
    ) -> Option<Option<Rid>> {
        let peer = self.peers.get(&from)?;
        if !self.recording.contains(&peer.room) {
            return None;
        }
        let key = (from, mid);
        let track = self.tracks.get(&key)?;
        let best = track.meter.best(self.now);
        // Audio can start anywhere; video only on a keyframe.
        let can_start = keyframe || track.kind == MediaKind::Audio;
        let current = self.recorded_layer.get(&key).copied();
        let write = if current == Some(rid) {
            true
        } else if rid == best && can_start {
            // The first packet, or the start of the best layer's keyframe: write from it on.
            self.recorded_layer.insert(key, best);
            true
        } else {
            false
        };
        let wants_keyframe = current != Some(best) && rid == best && !can_start;
        if write {
            let packet = RecordedPacket {
                room: peer.room.clone(),
                identity: peer.identity.clone(),
                mid: mid.to_string(),
                codec,
                layer: rid.map(|r| r.to_string()),
                seq: *packet.seq_no,
                rtp_time: packet.time.numer(),
                marker: packet.header.marker,
                at: packet.timestamp,
                payload: packet.payload.clone(),
            };
            self.out.push_back(SfuOutput::Record(RecordCommand::Packet(packet)));
        }
        wants_keyframe.then_some(best)
    }
}
