//! Which frames of a recorded room go to the recorder: every track, and for simulcast the best
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

    /// Hands a frame to the recorder if its room is recorded: for simulcast, the best live
    /// layer, switching only on keyframes. Returns a layer to ask a keyframe of, if any.
    pub(super) fn record(&mut self, from: PeerId, data: &MediaData) -> Option<Option<Rid>> {
        let peer = self.peers.get(&from)?;
        if !self.recording.contains(&peer.room) {
            return None;
        }
        let key = (from, data.mid);
        let track = self.tracks.get(&key)?;
        let best = track.meter.best(self.now);
        // Audio can start anywhere; video only on a keyframe.
        let can_start = data.is_keyframe() || track.kind == MediaKind::Audio;
        let current = self.recorded_layer.get(&key).copied();
        let write = if current == Some(data.rid) {
            true
        } else if data.rid == best && can_start {
            // The first frame, or the best layer's keyframe: write from this layer on.
            self.recorded_layer.insert(key, best);
            true
        } else {
            false
        };
        let wants_keyframe = current != Some(best) && data.rid == best && !can_start;
        if write {
            let frame = RecordedFrame {
                room: peer.room.clone(),
                identity: peer.identity.clone(),
                mid: data.mid.to_string(),
                codec: data.params.spec().codec,
                rtp_time: data.time.numer(),
                at: data.network_time,
                data: data.data.clone(),
            };
            self.out.push_back(SfuOutput::Record(RecordCommand::Frame(frame)));
        }
        wants_keyframe.then_some(best)
    }
}
