//! Forwarding: each frame to the subscribers of its track, on the simulcast layer chosen for
//! each from its bandwidth estimate and the size it shows; keyframe requests; pausing layers
//! nobody watches.

use super::*;

/// The VP8 descriptor rewrite that gives a packet its shifted picture id and TL0PICIDX.
fn vp8_patch(payload: &[u8], to: Numbers) -> Option<Vp8Patch> {
    let d = Vp8Descriptor::parse(payload).ok()?;
    let build = |mask: u16| {
        let mut b = d.patch();
        if let Some(p) = to.picture_id {
            b = b.picture_id(p & mask);
        }
        if let (Some(t), Some(_)) = (to.tl0, d.tl0_pic_idx()) {
            b = b.tl0_pic_idx(t);
        }
        b.build()
    };
    // A 7-bit picture id stays 7 bits: the low bits of the shifted value.
    build(0x7fff).or_else(|_| build(0x7f)).ok()
}

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

    /// A publisher's RTP packet: measured, then forwarded as it came to every subscriber whose
    /// chosen layer it is, its numbers shifted to keep each subscriber's stream continuous.
    pub(super) fn forward(&mut self, from: PeerId, packet: RtpPacket) {
        let now = self.now;
        let Some(peer) = self.peers.get_mut(&from) else { return };
        let ssrc = packet.header.ssrc;
        let (mid, rid) = match peer.incoming.get(&ssrc) {
            Some(known) => *known,
            None => {
                let mut api = peer.rtc.direct_api();
                let Some(s) = api.stream_rx(&ssrc) else { return };
                let known = (s.mid(), s.rid());
                peer.incoming.insert(ssrc, known);
                known
            }
        };
        let in_pt = packet.header.payload_type;
        let Some(params) = peer.rtc.codec_config().find(|p| p.pt() == in_pt).copied() else { return };
        let codec = params.spec().codec;
        let clock = params.spec().clock_rate.get();
        let key = (from, mid);
        let Some(track) = self.tracks.get_mut(&key) else { return };
        let new_layer = track.meter.record(rid, packet.payload.len(), now);
        let kind = track.kind;
        let layered = !track.meter.rids().is_empty();
        let subscribers = track.subscribers.clone();
        if kind == MediaKind::Audio
            && let Some(level) = packet.header.ext_vals.audio_level
            && let Some(d) = self.speakers.get_mut(&peer.room)
        {
            d.record(from, level, now);
        }
        let keyframe = kind == MediaKind::Video && starts_keyframe(codec, &packet.payload);
        let numbers = Numbers::of(*packet.seq_no, packet.header.timestamp, codec, &packet.payload);
        // The header extensions that describe the media travel on; str0m sets its own.
        let mut ext = packet.header.ext_vals.clone();
        ext.mid = None;
        ext.rid = None;
        ext.rid_repair = None;
        ext.transport_cc = None;
        ext.abs_send_time = None;
        let mut want_keyframe: Vec<Option<Rid>> =
            self.record(from, mid, rid, codec, keyframe, &packet).into_iter().collect();
        for (sub, local) in subscribers {
            let Some(Peer { rtc, outgoing, dirty, .. }) = self.peers.get_mut(&sub) else { continue };
            let Some(out) = outgoing.iter_mut().find(|o| o.state == OutState::Open(local) && o.source == key) else {
                continue;
            };
            if (layered && rid != out.current) || !out.rewrite.started() {
                // Switch layers (or start) only on a keyframe of the layer switched to; a track
                // without layers starts anywhere, and its subscriber asks for a keyframe.
                if layered && rid != out.target {
                    continue;
                }
                if layered && !keyframe {
                    if !want_keyframe.contains(&rid) {
                        want_keyframe.push(rid);
                    }
                    continue;
                }
                out.current = rid;
                out.rewrite.switch(now, numbers, clock);
            }
            let Some(mapped) = out.rewrite.map(now, numbers) else { continue };
            let pt = match out.pt {
                Some((from_pt, to_pt)) if from_pt == in_pt => to_pt,
                _ => {
                    let Some(to_pt) = rtc
                        .codec_config()
                        .match_params(params)
                        .map(|p| p.pt())
                        .filter(|pt| rtc.media(local).is_some_and(|m| m.remote_pts().contains(pt)))
                    else {
                        continue;
                    };
                    out.pt = Some((in_pt, to_pt));
                    to_pt
                }
            };
            let patch =
                if codec == Codec::Vp8 && out.rewrite.shifts_vp8() { vp8_patch(&packet.payload, mapped) } else { None };
            let mut api = rtc.direct_api();
            let Some(tx) = api.stream_tx_by_mid(local, None) else { continue };
            if !out.unpaced {
                // Publishers pace what they send; holding it again here only adds delay.
                tx.set_unpaced(true);
                out.unpaced = true;
            }
            let mut write = RtpWrite::new(pt, mapped.seq.into(), mapped.ts, packet.timestamp, packet.payload.clone())
                .marker(packet.header.marker)
                .ext_vals(ext.clone())
                .nackable(kind == MediaKind::Video);
            if let Some(patch) = patch {
                write = write.vp8_patch(patch);
            }
            tx.write_rtp(write);
            *dirty = true;
            metrics::counter!("q10_sfu_forwarded_packets_total").increment(1);
        }
        want_keyframe.dedup();
        for rid in want_keyframe {
            self.request_keyframe(from, mid, rid);
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
        // What the chosen layers take, what the best allowed layers would take with the headroom
        // a step up needs, and the least extra that would allow some track one step up.
        let (mut allocated, mut best, mut step_up) = (0.0, 0.0, f64::INFINITY);
        for o in peer.outgoing.iter_mut() {
            let OutState::Open(_) = o.state else { continue };
            let Some(t) = self.tracks.get(&o.source) else { continue };
            if t.kind == MediaKind::Audio {
                let rate = t.meter.bitrate(None, self.now).unwrap_or(40_000.0);
                budget -= rate;
                allocated += rate;
                best += rate;
                continue;
            }
            let choice = next_layer(&t.meter, o.preferred, budget, o.target, o.stepped_down_at, self.now);
            if let Some((rid, rate)) = choice {
                allocated += rate;
                let top = choose_layer(&t.meter, o.preferred, f64::INFINITY, self.now).map_or(rate, |c| c.1);
                best += rate.max(top * UPGRADE_HEADROOM);
                if let Some(up) = t.meter.next_above(o.preferred, rate, self.now) {
                    step_up = step_up.min(up * UPGRADE_HEADROOM - rate);
                }
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
        // The estimator probes for what the best layers need, headroom included (asking for
        // less leaves the estimate just short of a step up, with nothing to make it grow), and
        // pads the link up to what the next step up needs, so the estimate can earn it.
        let desired = best.max(300_000.0);
        let minimum = if step_up.is_finite() { allocated + step_up } else { allocated };
        peer.rtc.bwe().set_bitrate(Bitrate::bps(minimum.max(100_000.0) as u64), Bitrate::bps(desired as u64));
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
        if let Some(rx) = peer.rtc.direct_api().stream_rx_by_mid(mid, rid) {
            rx.request_keyframe(KeyframeRequestKind::Pli);
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
