//! Forwarding: each frame to the subscribers of its track, on the simulcast layer chosen for
//! each from its bandwidth estimate and the size it shows; keyframe requests; pausing layers
//! nobody watches.

use super::*;

impl Sfu {
    /// Which layer of a published track a subscriber would like at most (the size it renders).
    pub fn prefer_layer(&mut self, id: PeerId, publisher: PeerId, mid: &str, layer: Option<&str>) -> bool {
        let Some(peer) = self.peers.get_mut(&id) else { return false };
        let mid = Mid::from(mid);
        let mut found = false;
        for o in peer.outgoing.iter_mut().filter(|o| o.source == (publisher, mid)) {
            o.preferred = layer.map(Rid::from);
            found = true;
        }
        if found {
            self.allocate(id);
        }
        found
    }

    /// A publisher's media: measured, then written to every subscriber whose chosen layer it is.
    pub(super) fn forward(&mut self, from: PeerId, data: MediaData) {
        let now = self.now;
        let key = (from, data.mid);
        let Some(track) = self.tracks.get_mut(&key) else { return };
        let new_layer = track.meter.record(data.rid, data.data.len(), now);
        let kind = track.kind;
        let layered = !track.meter.rids().is_empty();
        let subscribers = track.subscribers.clone();
        if kind == MediaKind::Audio
            && let Some(level) = data.ext_vals.audio_level
            && let Some(p) = self.peers.get(&from)
            && let Some(d) = self.speakers.get_mut(&p.room)
        {
            d.record(from, level, now);
        }
        let keyframe = data.is_keyframe();
        let mut want_keyframe: Vec<Option<Rid>> = self.record(from, &data).into_iter().collect();
        for (sub, local) in subscribers {
            let Some(peer) = self.peers.get_mut(&sub) else { continue };
            let Some(out) = peer.outgoing.iter_mut().find(|o| o.state == OutState::Open(local) && o.source == key)
            else {
                continue;
            };
            if layered && data.rid != out.current {
                // Switch layers only on a keyframe of the layer switched to.
                if data.rid != out.target {
                    continue;
                }
                if !keyframe {
                    if !want_keyframe.contains(&data.rid) {
                        want_keyframe.push(data.rid);
                    }
                    continue;
                }
                out.current = out.target;
            }
            if !data.contiguous && kind == MediaKind::Video && !want_keyframe.contains(&data.rid) {
                want_keyframe.push(data.rid);
            }
            let Some(writer) = peer.rtc.writer(local) else { continue };
            let Some(pt) = writer.match_params(data.params) else { continue };
            if let Err(e) = writer.write(pt, data.network_time, data.time, data.data.clone()) {
                tracing::debug!(peer = %sub, error = %e, "write failed");
            }
            peer.dirty = true;
            metrics::counter!("q10_sfu_forwarded_frames_total").increment(1);
        }
        want_keyframe.dedup();
        for rid in want_keyframe {
            self.request_keyframe(from, data.mid, rid);
        }
        if new_layer {
            // A newly seen layer may change what fits for every subscriber.
            let subs: Vec<PeerId> =
                self.tracks.get(&key).map(|t| t.subscribers.iter().map(|s| s.0).collect()).unwrap_or_default();
            for s in subs {
                self.allocate(s);
            }
        }
    }

    /// Chooses each video layer a subscriber receives from its bandwidth estimate and preferences.
    pub(super) fn allocate(&mut self, id: PeerId) {
        let Some(peer) = self.peers.get_mut(&id) else { return };
        let mut budget = peer.estimate.as_f64();
        let mut wanted = Vec::new();
        for o in peer.outgoing.iter_mut() {
            let OutState::Open(_) = o.state else { continue };
            let Some(t) = self.tracks.get(&o.source) else { continue };
            if t.kind == MediaKind::Audio {
                budget -= t.meter.bitrate(None, self.now).unwrap_or(40_000.0);
                continue;
            }
            let choice = next_layer(&t.meter, o.preferred, budget, o.target, o.stepped_down_at, self.now);
            if let Some((rid, rate)) = choice {
                budget -= rate;
                if o.target != rid {
                    let old = t.meter.bitrate(o.target, self.now).unwrap_or(0.0);
                    // A step down for want of bandwidth holds back the next step up; one the
                    // subscriber asked for (it shows the video smaller) does not.
                    let allowed = choose_layer(&t.meter, o.preferred, f64::INFINITY, self.now).map_or(0.0, |c| c.1);
                    if rate < old && allowed >= old {
                        o.stepped_down_at = Some(self.now);
                    }
                    o.target = rid;
                    if o.current != rid {
                        wanted.push((o.source, rid));
                    }
                }
            }
        }
        let desired: f64 = peer
            .outgoing
            .iter()
            .filter_map(|o| self.tracks.get(&o.source))
            .map(|t| t.meter.top_bitrate(self.now))
            .sum();
        let desired = Bitrate::bps(desired.max(300_000.0) as u64);
        peer.rtc.bwe().set_bitrate(Bitrate::kbps(100), desired);
        for ((pid, mid), rid) in wanted {
            self.request_keyframe(pid, mid, rid);
        }
    }

    /// Asks a publisher for a keyframe on one layer, at most once per interval.
    pub(super) fn request_keyframe(&mut self, publisher: PeerId, mid: Mid, rid: Option<Rid>) {
        let now = self.now;
        let interval = self.config.keyframe_interval;
        let Some(t) = self.tracks.get_mut(&(publisher, mid)) else { return };
        if t.kind != MediaKind::Video {
            return;
        }
        if t.last_keyframe_request.get(&rid).is_some_and(|at| now.saturating_duration_since(*at) < interval) {
            return;
        }
        t.last_keyframe_request.insert(rid, now);
        let Some(peer) = self.peers.get_mut(&publisher) else { return };
        if let Some(mut w) = peer.rtc.writer(mid)
            && w.is_request_keyframe_possible(KeyframeRequestKind::Pli)
        {
            let _ = w.request_keyframe(rid, KeyframeRequestKind::Pli);
            peer.dirty = true;
            metrics::counter!("q10_sfu_keyframe_requests_total").increment(1);
        }
    }

    /// Asks publishers to stop sending simulcast layers nobody has watched for a while, and to
    /// send again those someone now wants. The lowest layer always flows, so a newcomer gets a
    /// picture at once; a layer a subscriber or the recorder uses is never paused.
    pub(super) fn pause_unwatched_layers(&mut self, now: Instant) {
        let keys: Vec<(PeerId, Mid)> = self
            .tracks
            .iter()
            .filter(|(_, t)| t.kind == MediaKind::Video && t.meter.rids().len() > 1)
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            let mut wanted: Vec<Rid> = Vec::new();
            let track = &self.tracks[&key];
            for (sub, local) in &track.subscribers {
                let Some(o) = self
                    .peers
                    .get(sub)
                    .and_then(|p| p.outgoing.iter().find(|o| o.state == OutState::Open(*local) && o.source == key))
                else {
                    continue;
                };
                wanted.extend(o.current.into_iter().chain(o.target));
            }
            if let Some(Some(r)) = self.recorded_layer.get(&key) {
                wanted.push(*r);
            }
            wanted.extend(track.meter.lowest(now));
            let all = track.meter.rids();
            let track = self.tracks.get_mut(&key).expect("listed above");
            for r in &all {
                if wanted.contains(r) {
                    track.unwatched_since.remove(r);
                } else {
                    track.unwatched_since.entry(*r).or_insert(now);
                }
            }
            let paused: Vec<Rid> = all
                .iter()
                .copied()
                .filter(|r| {
                    track.unwatched_since.get(r).is_some_and(|t| now.saturating_duration_since(*t) >= PAUSE_AFTER)
                })
                .collect();
            let before = track.meter.paused();
            if paused.len() == before.len() && paused.iter().all(|r| before.contains(r)) {
                continue;
            }
            let mut active: Vec<String> = all.iter().filter(|r| !paused.contains(r)).map(|r| r.to_string()).collect();
            active.sort();
            track.meter.set_paused(paused);
            self.out.push_back(SfuOutput::Signal(key.0, Signal::Layers { mid: key.1.to_string(), active }));
        }
    }
}
