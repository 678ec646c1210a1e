//! Street cameras relayed to viewers. The engine keeps each relayed camera's frames since its
//! last keyframe, so a viewer who joins gets a picture at once instead of waiting for the camera's
//! next keyframe, and writes every frame to each viewer's video section, where str0m cuts it into
//! RTP packets. The H.264 is the camera's own, never decoded or transcoded; one ingest feeds any
//! number of viewers.

use super::*;
use crate::camera::CameraFrame;
use str0m::media::MediaTime;

/// The most a camera's cached group of pictures may hold. Past it (a camera with very long
/// keyframe intervals), newcomers wait for the next keyframe instead.
const GOP_MAX_BYTES: usize = 8 << 20;
const GOP_MAX_FRAMES: usize = 600;
/// How long after a viewer's media path is up it is sent the cached frames. The viewer (the DTLS
/// client) finishes its handshake a moment after the relay does; media sent at once can arrive
/// before it can decrypt any, and a lost keyframe leaves it waiting for the camera's next one.
const START_DELAY: Duration = Duration::from_millis(200);
/// The least time between two replays of the cached frames to one viewer asking for a keyframe.
const REPLAY_INTERVAL: Duration = Duration::from_secs(2);

/// A camera being relayed.
#[derive(Debug, Default)]
pub(super) struct CameraFeed {
    /// Which attachment of the camera this is: a frame or a detach of an earlier one is ignored.
    generation: u64,
    /// The frames since the last keyframe, that one first.
    gop: Vec<CameraFrame>,
    gop_bytes: usize,
    /// Where the viewers' clock stands.
    clock: Option<Clock>,
    viewers: Vec<PeerId>,
}

impl CameraFeed {
    fn keep(&mut self, frame: &CameraFrame) {
        if frame.keyframe {
            self.gop.clear();
            self.gop_bytes = 0;
        } else if self.gop.is_empty() {
            return;
        }
        if self.gop.len() >= GOP_MAX_FRAMES || self.gop_bytes + frame.data.len() > GOP_MAX_BYTES {
            self.gop.clear();
            self.gop_bytes = 0;
            return;
        }
        self.gop_bytes += frame.data.len();
        self.gop.push(frame.clone());
    }

    /// The frame's time on the viewers' 90 kHz clock, which never wraps or goes back: within a
    /// session it follows the camera's timestamps; across a reconnection, the time that passed.
    fn extend(&mut self, frame: &CameraFrame) -> u64 {
        let ts = match self.clock {
            Some(c) if c.session == frame.session => {
                let delta = frame.rtp_time.wrapping_sub(c.rtp) as i32 as i64;
                (c.ts as i64 + delta).max(0) as u64
            }
            Some(c) => {
                let gap = frame.received.saturating_duration_since(c.at).as_micros() as u64 * 9 / 100;
                c.ts + gap.max(1)
            }
            None => 1 << 32,
        };
        self.clock = Some(Clock { ts, rtp: frame.rtp_time, session: frame.session, at: frame.received });
        ts
    }
}

/// A camera's newest frame on the viewers' clock.
#[derive(Debug, Clone, Copy)]
struct Clock {
    ts: u64,
    /// The camera's own timestamp for it, and its session.
    rtp: u32,
    session: u64,
    at: Instant,
}

/// A camera viewer's one video section.
#[derive(Debug, Default)]
pub(super) struct CameraOut {
    mid: Option<Mid>,
    pt: Option<Pt>,
    /// Whether the viewer has been given a keyframe to start decoding from.
    started: bool,
    /// When the cached frames were last sent to it.
    replayed: Option<Instant>,
}

impl Sfu {
    /// Starts relaying the camera `key` (the room its viewers join). Viewers already watching an
    /// earlier attachment stay and continue from the next keyframe.
    pub fn attach_camera(&mut self, key: &str, generation: u64) {
        let feed = self.cameras.entry(key.to_string()).or_default();
        feed.generation = generation;
        feed.gop.clear();
        feed.gop_bytes = 0;
        feed.clock = None;
        for v in feed.viewers.clone() {
            if let Some(out) = self.peers.get_mut(&v).and_then(|p| p.camera.as_mut()) {
                out.started = false;
            }
        }
    }

    /// Stops relaying a camera: its viewers are let go.
    pub fn detach_camera(&mut self, key: &str, generation: u64) {
        if self.cameras.get(key).is_none_or(|f| f.generation != generation) {
            return;
        }
        let feed = self.cameras.remove(key).expect("present above");
        for v in feed.viewers {
            self.leave(v);
            self.out.push_back(SfuOutput::Signal(v, Signal::Gone));
        }
    }

    /// Cameras being relayed.
    pub fn camera_count(&self) -> usize {
        self.cameras.len()
    }

    /// A frame of a relayed camera, for its cache and its viewers.
    pub fn camera_frame(&mut self, key: &str, generation: u64, frame: &CameraFrame) {
        let Some(feed) = self.cameras.get_mut(key) else { return };
        if feed.generation != generation {
            return;
        }
        self.now = self.now.max(frame.received);
        if feed.clock.is_some_and(|c| c.session != frame.session) {
            // The camera was reconnected: what was cached is of the old session, and viewers
            // wait for the new session's first keyframe to decode from.
            feed.gop.clear();
            feed.gop_bytes = 0;
            for v in &feed.viewers {
                if let Some(out) = self.peers.get_mut(v).and_then(|p| p.camera.as_mut()) {
                    out.started = false;
                }
            }
        }
        let ts = feed.extend(frame);
        feed.keep(frame);
        for v in &feed.viewers {
            if let Some(p) = self.peers.get_mut(v) {
                write_frame(*v, p, frame, ts);
            }
        }
    }

    /// A peer connection for a camera viewer: str0m packetizes the frames (frame mode), and only
    /// H.264 is offered, since that is what cameras send.
    pub(super) fn build_camera_rtc(&self) -> Rtc {
        let mut config = Rtc::builder().set_ice_lite(true).set_stats_interval(Some(Duration::from_secs(1)));
        let codecs = config.codec_config();
        codecs.clear();
        codecs.enable_h264(true);
        let mut rtc = config.build(self.now);
        for addr in &self.config.candidates {
            if let Ok(c) = Candidate::host(*addr, "udp") {
                rtc.add_local_candidate(c);
            }
        }
        rtc
    }

    /// Admits a viewer of camera `room`, refused when the camera is not being relayed.
    pub(super) fn join_camera(&mut self, room: &str, id: PeerId) -> Result<(), SfuError> {
        let feed = self.cameras.get_mut(room).ok_or(SfuError::NoSuchCamera)?;
        feed.viewers.push(id);
        Ok(())
    }

    pub(super) fn leave_camera(&mut self, room: &str, id: PeerId) {
        if let Some(feed) = self.cameras.get_mut(room) {
            feed.viewers.retain(|v| *v != id);
        }
        self.camera_starts.retain(|(_, v)| *v != id);
    }

    /// The viewer's receive-only video section, where the camera's frames go.
    pub(super) fn camera_section(&mut self, id: PeerId, mid: Mid, kind: MediaKind) {
        if let Some(out) = self.peers.get_mut(&id).and_then(|p| p.camera.as_mut())
            && kind == MediaKind::Video
            && out.mid.is_none()
        {
            out.mid = Some(mid);
        }
    }

    pub(super) fn camera_connected(&mut self, id: PeerId) {
        let at = self.now + START_DELAY;
        let i = self.camera_starts.partition_point(|(t, _)| *t <= at);
        self.camera_starts.insert(i, (at, id));
    }

    pub(super) fn start_due_cameras(&mut self, now: Instant) {
        let due = self.camera_starts.partition_point(|(t, _)| *t <= now);
        for (_, id) in self.camera_starts.drain(..due).collect::<Vec<_>>() {
            self.camera_start(id);
        }
    }

    /// A viewer that cannot decode asks for a keyframe: cameras cannot be asked, but the cached
    /// one can be sent again (not too often).
    pub(super) fn camera_keyframe_request(&mut self, id: PeerId) {
        let now = self.now;
        let Some(out) = self.peers.get_mut(&id).and_then(|p| p.camera.as_mut()) else { return };
        if out.replayed.is_some_and(|t| now < t + REPLAY_INTERVAL) {
            return;
        }
        out.started = false;
        self.camera_start(id);
    }

    /// A viewer whose media path is up and section known gets the cached frames from the last
    /// keyframe on; without them, it starts at the camera's next keyframe.
    fn camera_start(&mut self, id: PeerId) {
        let now = self.now;
        let Some(peer) = self.peers.get_mut(&id) else { return };
        let ready = peer.connected && peer.camera.as_ref().is_some_and(|c| c.mid.is_some() && !c.started);
        let Some(feed) = self.cameras.get(&peer.room).filter(|_| ready) else { return };
        if let Some(out) = peer.camera.as_mut() {
            out.replayed = Some(now);
        }
        let Some(clock) = feed.clock else { return };
        // The cached frames' times, counted back from the newest (they are all of its session).
        for frame in &feed.gop {
            let back = clock.rtp.wrapping_sub(frame.rtp_time) as u64;
            write_frame(id, peer, frame, clock.ts.saturating_sub(back));
        }
    }
}

fn write_frame(id: PeerId, peer: &mut Peer, frame: &CameraFrame, ts: u64) {
    let Some(out) = peer.camera.as_mut() else { return };
    let Some(mid) = out.mid else { return };
    if !peer.connected || (!out.started && !frame.keyframe) {
        return;
    }
    let Some(writer) = peer.rtc.writer(mid) else { return };
    let pt = match out.pt {
        Some(pt) => pt,
        None => {
            let found = writer
                .payload_params()
                .find(|p| p.spec().codec == Codec::H264 && p.spec().format.packetization_mode == Some(1))
                .map(|p| p.pt());
            let Some(pt) = found else {
                tracing::debug!(peer = %id, "the viewer accepts no H.264 this relay can send");
                return;
            };
            out.pt = Some(pt);
            pt
        }
    };
    match writer.write(pt, frame.received, MediaTime::from_90khz(ts), frame.data.clone()) {
        Ok(()) => {
            out.started = true;
            metrics::counter!("q10_sfu_camera_frames_sent_total").increment(1);
        }
        Err(e) => tracing::debug!(peer = %id, error = %e, "a camera frame was not written"),
    }
    peer.dirty = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(rtp_time: u32, keyframe: bool, session: u64, at: Instant) -> CameraFrame {
        CameraFrame { data: vec![0u8; 100].into(), rtp_time, keyframe, received: at, session }
    }

    #[test]
    fn the_cache_holds_the_frames_since_the_last_keyframe() {
        let now = Instant::now();
        let mut feed = CameraFeed::default();
        feed.keep(&frame(0, false, 1, now));
        assert!(feed.gop.is_empty(), "nothing to start from before a keyframe");
        feed.keep(&frame(3600, true, 1, now));
        feed.keep(&frame(7200, false, 1, now));
        assert_eq!(feed.gop.len(), 2);
        feed.keep(&frame(10800, true, 1, now));
        assert_eq!(feed.gop.len(), 1, "a keyframe starts the cache again");
        for i in 0..GOP_MAX_FRAMES as u32 {
            feed.keep(&frame(14400 + i, false, 1, now));
        }
        assert!(feed.gop.is_empty(), "a group too long for the cache is dropped: newcomers wait for a keyframe");
    }

    #[test]
    fn the_viewers_clock_never_goes_back() {
        let t0 = Instant::now();
        let mut feed = CameraFeed::default();
        let a = feed.extend(&frame(u32::MAX - 1799, true, 1, t0));
        // Across the camera's 32-bit wrap.
        let b = feed.extend(&frame(1800, false, 1, t0 + Duration::from_millis(40)));
        assert_eq!(b - a, 3600);
        // A reconnection restarts the camera's timestamps anywhere; the clock goes on by the time
        // that passed.
        let c = feed.extend(&frame(5, true, 2, t0 + Duration::from_millis(1040)));
        assert_eq!(c - b, 90_000);
        let d = feed.extend(&frame(3605, false, 2, t0 + Duration::from_millis(1080)));
        assert_eq!(d - c, 3600);
    }
}
