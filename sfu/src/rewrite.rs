//! Forwarding RTP packets as they came, to a subscriber that must see one continuous stream:
//! sequence numbers, timestamps and VP8 picture ids are shifted so that a switch between
//! simulcast layers (each with numbers of its own) looks like the next packet of the same
//! stream. Also: where a packet starts a keyframe, per codec.

use std::time::Instant;

use str0m::format::Codec;
use str0m::rtp::Vp8Descriptor;

/// The numbers of a packet as it arrived, or as it goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbers {
    /// Extended sequence number.
    pub seq: u64,
    /// RTP timestamp.
    pub ts: u32,
    /// VP8 picture id (15 bits) and TL0PICIDX, where the payload carries them.
    pub picture_id: Option<u16>,
    pub tl0: Option<u8>,
}

impl Numbers {
    /// A packet's numbers; the VP8 fields are read only for VP8.
    pub fn of(seq: u64, ts: u32, codec: Codec, payload: &[u8]) -> Numbers {
        let (picture_id, tl0) = match codec {
            Codec::Vp8 => Vp8Descriptor::parse(payload).map(|d| (d.picture_id(), d.tl0_pic_idx())).unwrap_or_default(),
            _ => (None, None),
        };
        Numbers { seq, ts, picture_id, tl0 }
    }
}

#[derive(Debug, Clone, Copy)]
struct State {
    seq_offset: u64,
    ts_offset: u32,
    picture_offset: u16,
    tl0_offset: u8,
    /// The first incoming sequence number of the current source: older packets of it would
    /// land on numbers already used.
    since: u64,
    last: Numbers,
    last_at: Instant,
}

/// The mapping for one outgoing stream.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rewriter {
    state: Option<State>,
}

/// Where outgoing sequence numbers start. Below 2^16, so the SRTP rollover counter starts at 0
/// as the receiver expects; packets before the start are dropped, so none goes below it.
const FIRST_SEQ: u64 = 1;
const PICTURE_ID_MASK: u16 = 0x7fff;

impl Rewriter {
    /// Whether anything has been forwarded yet.
    pub fn started(&self) -> bool {
        self.state.is_some()
    }

    /// Continues the outgoing stream from this packet on, from a new source (the first packet,
    /// or the first of a newly chosen layer). `clock` is the codec's RTP clock rate.
    pub fn switch(&mut self, at: Instant, packet: Numbers, clock: u32) {
        let state = match self.state {
            None => State {
                seq_offset: FIRST_SEQ.wrapping_sub(packet.seq),
                ts_offset: 0,
                picture_offset: 0,
                tl0_offset: 0,
                since: packet.seq,
                last: Numbers { seq: FIRST_SEQ - 1, ..packet },
                last_at: at,
            },
            Some(s) => {
                // The new source's first packet follows the last one sent, as far in time from
                // it as it arrived later.
                let elapsed = at.saturating_duration_since(s.last_at).as_secs_f64();
                let step = ((elapsed * f64::from(clock)) as u32).max(1);
                let picture_offset = match (packet.picture_id, s.last.picture_id) {
                    (Some(p), Some(last)) => last.wrapping_add(1).wrapping_sub(p) & PICTURE_ID_MASK,
                    _ => 0,
                };
                let tl0_offset = match (packet.tl0, s.last.tl0) {
                    (Some(t), Some(last)) => last.wrapping_add(1).wrapping_sub(t),
                    _ => 0,
                };
                State {
                    seq_offset: (s.last.seq + 1).wrapping_sub(packet.seq),
                    ts_offset: s.last.ts.wrapping_add(step).wrapping_sub(packet.ts),
                    picture_offset,
                    tl0_offset,
                    since: packet.seq,
                    last: s.last,
                    last_at: s.last_at,
                }
            }
        };
        self.state = Some(state);
    }

    /// The outgoing numbers of a packet of the current source; `None` for one that came before
    /// the switch to it (it would reuse numbers), or before anything started.
    pub fn map(&mut self, at: Instant, packet: Numbers) -> Option<Numbers> {
        let s = self.state.as_mut()?;
        if packet.seq < s.since {
            return None;
        }
        let out = Numbers {
            seq: packet.seq.wrapping_add(s.seq_offset),
            ts: packet.ts.wrapping_add(s.ts_offset),
            picture_id: packet.picture_id.map(|p| p.wrapping_add(s.picture_offset) & PICTURE_ID_MASK),
            tl0: packet.tl0.map(|t| t.wrapping_add(s.tl0_offset)),
        };
        if out.seq > s.last.seq {
            s.last = Numbers { picture_id: out.picture_id.or(s.last.picture_id), tl0: out.tl0.or(s.last.tl0), ..out };
            s.last_at = at;
        }
        Some(out)
    }

    /// Whether the VP8 descriptor must be rewritten (the source has changed at least once).
    pub fn shifts_vp8(&self) -> bool {
        self.state.is_some_and(|s| s.picture_offset != 0 || s.tl0_offset != 0)
    }
}

/// Whether a packet begins a keyframe a decoder can start from. For H.264 that is the packet
/// carrying the sequence parameter set (or an IDR slice's start when the SPS rode earlier).
pub fn starts_keyframe(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::Vp8 => Vp8Descriptor::parse(payload).is_ok_and(|d| d.starts_keyframe(payload)),
        Codec::H264 => h264_starts_keyframe(payload),
        // RFC draft-ietf-payload-vp9: B (start of frame) set and P (inter-picture predicted) clear.
        Codec::Vp9 => payload.first().is_some_and(|b| b & 0x08 != 0 && b & 0x40 == 0),
        // AV1 RTP: the aggregation header's N bit marks the first packet of a coded video sequence.
        Codec::Av1 => payload.first().is_some_and(|b| b & 0x08 != 0),
        _ => false,
    }
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_STAP_A: u8 = 24;
const NAL_FU_A: u8 = 28;

fn h264_starts_keyframe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else { return false };
    match first & 0x1f {
        NAL_SPS | NAL_IDR => true,
        NAL_STAP_A => {
            // Aggregated units, each behind a 16-bit size.
            let mut rest = &payload[1..];
            while rest.len() > 2 {
                let size = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                let Some(&nal) = rest.get(2) else { break };
                if matches!(nal & 0x1f, NAL_SPS | NAL_IDR) {
                    return true;
                }
                rest = rest.get(2 + size..).unwrap_or_default();
            }
            false
        }
        // A fragmented unit: its start, of an IDR slice.
        NAL_FU_A => payload.get(1).is_some_and(|h| h & 0x80 != 0 && h & 0x1f == NAL_IDR),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn n(seq: u64, ts: u32, pid: Option<u16>) -> Numbers {
        Numbers { seq, ts, picture_id: pid, tl0: None }
    }

    #[test]
    fn a_single_source_keeps_its_spacing_and_drops_nothing_after_the_start() {
        let t0 = Instant::now();
        let mut r = Rewriter::default();
        assert_eq!(r.map(t0, n(500, 9000, None)), None, "nothing before the start");
        r.switch(t0, n(500, 9000, None), 90_000);
        let a = r.map(t0, n(500, 9000, None)).unwrap();
        let b = r.map(t0, n(502, 12000, None)).unwrap();
        let c = r.map(t0, n(501, 9000, None)).unwrap();
        assert_eq!((b.seq - a.seq, c.seq - a.seq), (2, 1), "gaps and reordering survive");
        assert_eq!(b.ts - a.ts, 3000);
        assert_eq!(r.map(t0, n(499, 6000, None)), None, "older than the start");
        assert!(!r.shifts_vp8());
    }

    #[test]
    fn a_layer_switch_continues_numbers_and_time() {
        let t0 = Instant::now();
        let mut r = Rewriter::default();
        r.switch(t0, n(100, 1_000, Some(40)), 90_000);
        let mut last = r.map(t0, n(100, 1_000, Some(40))).unwrap();
        last = r.map(t0, n(101, 4_000, Some(41))).unwrap().max_by_seq(last);
        // Another layer: numbers of its own, 33 ms later.
        let t1 = t0 + Duration::from_millis(33);
        r.switch(t1, n(7_000, 500_000, Some(9_000)), 90_000);
        let first = r.map(t1, n(7_000, 500_000, Some(9_000))).unwrap();
        assert_eq!(first.seq, last.seq + 1);
        assert_eq!(first.ts, last.ts + 2_970);
        assert_eq!(first.picture_id, Some(last.picture_id.unwrap() + 1));
        assert!(r.shifts_vp8());
        assert_eq!(r.map(t1, n(6_999, 497_000, Some(8_999))), None, "the new layer's past is dropped");
        let next = r.map(t1, n(7_001, 503_000, Some(9_001))).unwrap();
        assert_eq!((next.seq, next.ts), (first.seq + 1, first.ts + 3_000));
    }

    #[test]
    fn picture_ids_wrap_within_fifteen_bits() {
        let t0 = Instant::now();
        let mut r = Rewriter::default();
        r.switch(t0, n(1, 0, Some(0x7fff)), 90_000);
        r.map(t0, n(1, 0, Some(0x7fff))).unwrap();
        r.switch(t0, n(50, 0, Some(3)), 90_000);
        assert_eq!(r.map(t0, n(50, 0, Some(3))).unwrap().picture_id, Some(0));
    }

    #[test]
    fn keyframe_starts_are_found_per_codec() {
        // VP8: S=1, PID=0, and the frame tag's P bit clear.
        assert!(starts_keyframe(Codec::Vp8, &[0x10, 0x00, 0x9d]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x10, 0x01, 0x9d]), "an interframe");
        assert!(!starts_keyframe(Codec::Vp8, &[0x00, 0x00, 0x9d]), "not a partition start");
        // H.264: SPS alone, in a STAP-A, an FU-A IDR start; not a later fragment or a P slice.
        assert!(starts_keyframe(Codec::H264, &[0x67, 0x42]));
        assert!(starts_keyframe(Codec::H264, &[0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce]));
        assert!(starts_keyframe(Codec::H264, &[0x7c, 0x85, 0x88]));
        assert!(!starts_keyframe(Codec::H264, &[0x7c, 0x05, 0x88]));
        assert!(!starts_keyframe(Codec::H264, &[0x41, 0x9a]));
        assert!(!starts_keyframe(Codec::H264, &[0x78, 0x00, 0x09]), "a truncated STAP-A");
        assert!(starts_keyframe(Codec::Vp9, &[0x88]) && !starts_keyframe(Codec::Vp9, &[0xc8]));
        assert!(!starts_keyframe(Codec::Opus, &[0xff]));
    }

    impl Numbers {
        fn max_by_seq(self, other: Numbers) -> Numbers {
            if self.seq >= other.seq { self } else { other }
        }
    }
}
