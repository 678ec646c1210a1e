//! Camera footage as fragmented MP4 (ISO BMFF): the camera's own H.264, never transcoded. A
//! segment file is an initialisation part (`ftyp`, `moov`) and fragments (`moof` + `mdat`), each
//! starting at a keyframe or a second after the last; times are 90 kHz from the segment's start.
//! The boxes are built and read with `mp4-atom`; NAL units are split and the SPS read with
//! `h264-reader`.

use std::io::Read;

use h264_reader::annexb::AnnexBReader;
use h264_reader::nal::sps::SeqParameterSet;
use h264_reader::nal::{Nal, RefNal, UnitType};
use h264_reader::push::NalInterest;
use mp4_atom::{
    Any, Avc1, Avcc, Codec, Decode, Dinf, Dref, Encode, FixedPoint, Ftyp, Hdlr, Mdat, Mdhd, Mdia, Mfhd, Minf, Moof,
    Moov, Mvex, Mvhd, Stbl, Stsd, Tfdt, Tfhd, Tkhd, Traf, Trak, Trex, Trun, TrunEntry, TrunSamples, Url, Visual, Vmhd,
};

/// Media time units a second: RTP's video clock.
pub const TIMESCALE: u32 = 90_000;
/// Sample flags: a sync sample (depends on no other), and one that depends on others.
const SYNC: u32 = 0x0200_0000;
const NON_SYNC: u32 = 0x0101_0000;
/// Bytes of an `mdat` box's header when its size fits 32 bits.
const MDAT_HEADER: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum Mp4Error {
    #[error("the H.264 parameters do not parse: {0}")]
    Parameters(String),
    #[error("an MP4 box does not encode or decode: {0}")]
    Box(#[from] mp4_atom::Error),
    #[error("the file is not camera footage: {0}")]
    NotFootage(&'static str),
}

/// The sequence and picture parameter sets a decoder needs, and the picture size they give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub sps: Vec<u8>,
    pub pps: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// One access unit taken apart: its parameter sets when it carries them, and the rest as an MP4
/// sample (each NAL unit behind its 4-byte length).
#[derive(Debug, Default)]
pub struct AccessUnit {
    pub sps: Option<Vec<u8>>,
    pub pps: Option<Vec<u8>>,
    pub sample: Vec<u8>,
}

/// Splits an Annex B access unit. Parameter sets go to the sample description, not the sample;
/// access unit delimiters are left out.
pub fn access_unit(annex_b: &[u8]) -> AccessUnit {
    let mut out = AccessUnit { sample: Vec::with_capacity(annex_b.len() + 16), ..Default::default() };
    {
        let mut reader = AnnexBReader::accumulate(|nal: RefNal<'_>| {
            if !nal.is_complete() {
                return NalInterest::Buffer;
            }
            let whole = |into: &mut Vec<u8>| nal.reader().read_to_end(into).is_ok_and(|n| n > 0);
            match nal.header().map(|h| h.nal_unit_type()) {
                Ok(UnitType::SeqParameterSet) => {
                    let mut v = Vec::new();
                    out.sps = whole(&mut v).then_some(v);
                }
                Ok(UnitType::PicParameterSet) => {
                    let mut v = Vec::new();
                    out.pps = whole(&mut v).then_some(v);
                }
                Ok(UnitType::AccessUnitDelimiter) => {}
                _ => {
                    // The NAL unit read straight into the sample behind room for its length.
                    let at = out.sample.len();
                    out.sample.extend_from_slice(&[0; 4]);
                    if whole(&mut out.sample) {
                        let len = (out.sample.len() - at - 4) as u32;
                        out.sample[at..at + 4].copy_from_slice(&len.to_be_bytes());
                    } else {
                        out.sample.truncate(at);
                    }
                }
            }
            NalInterest::Ignore
        });
        reader.push(annex_b);
        reader.reset();
    }
    out
}

impl Params {
    /// Reads the picture size from the SPS.
    pub fn new(sps: Vec<u8>, pps: Vec<u8>) -> Result<Params, Mp4Error> {
        let nal = RefNal::new(&sps, &[], true);
        let parsed = SeqParameterSet::from_bits(nal.rbsp_bits()).map_err(|e| Mp4Error::Parameters(format!("{e:?}")))?;
        let (width, height) = parsed.pixel_dimensions().map_err(|e| Mp4Error::Parameters(format!("{e:?}")))?;
        Ok(Params { sps, pps, width, height })
    }
}

/// The initialisation part of a segment: `ftyp` and a `moov` with one H.264 track whose samples
/// all come in fragments.
pub fn init_segment(p: &Params) -> Result<Vec<u8>, Mp4Error> {
    let (w, h) = (
        u16::try_from(p.width).map_err(|_| Mp4Error::Parameters("too wide".into()))?,
        u16::try_from(p.height).map_err(|_| Mp4Error::Parameters("too tall".into()))?,
    );
    let ftyp = Ftyp {
        major_brand: b"iso6".into(),
        minor_version: 0,
        compatible_brands: vec![b"iso6".into(), b"isom".into(), b"avc1".into(), b"mp41".into()],
    };
    let avc1 = Avc1 {
        visual: Visual { data_reference_index: 1, width: w, height: h, ..Default::default() },
        avcc: Avcc::new(&p.sps, &p.pps)?,
        ..Default::default()
    };
    let moov = Moov {
        mvhd: Mvhd { timescale: 1000, rate: 1.into(), volume: 1.into(), next_track_id: 2, ..Default::default() },
        mvex: Some(Mvex {
            trex: vec![Trex { track_id: 1, default_sample_description_index: 1, ..Default::default() }],
            ..Default::default()
        }),
        trak: vec![Trak {
            tkhd: Tkhd {
                track_id: 1,
                enabled: true,
                in_movie: true,
                width: FixedPoint::from(w),
                height: FixedPoint::from(h),
                ..Default::default()
            },
            mdia: Mdia {
                mdhd: Mdhd { timescale: TIMESCALE, language: "und".into(), ..Default::default() },
                hdlr: Hdlr { handler: b"vide".into(), name: "Q10 camera".into() },
                minf: Minf {
                    vmhd: Some(Vmhd::default()),
                    dinf: Dinf { dref: Dref { entries: vec![Url::default().into()] } },
                    stbl: Stbl { stsd: Stsd { codecs: vec![Codec::Avc1(avc1)] }, ..Default::default() },
                    ..Default::default()
                },
            },
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut out = Vec::new();
    ftyp.encode(&mut out)?;
    moov.encode(&mut out)?;
    Ok(out)
}

/// One sample of a fragment.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Length-prefixed NAL units.
    pub data: Vec<u8>,
    /// In [`TIMESCALE`] units.
    pub duration: u32,
    pub keyframe: bool,
}

/// A fragment: `moof` (sequence number, decode time of its first sample, each sample's duration,
/// size and flags) and the `mdat` with the samples.
pub fn fragment(sequence: u32, decode_time: u64, samples: &[Sample]) -> Result<Vec<u8>, Mp4Error> {
    let entries = samples
        .iter()
        .map(|s| TrunEntry {
            duration: Some(s.duration),
            size: Some(s.data.len() as u32),
            flags: Some(if s.keyframe { SYNC } else { NON_SYNC }),
            cts: None,
        })
        .collect();
    let moof = Moof {
        mfhd: Mfhd { sequence_number: sequence },
        traf: vec![Traf {
            tfhd: Tfhd { track_id: 1, default_base_is_moof: true, ..Default::default() },
            tfdt: Some(Tfdt { base_media_decode_time: decode_time }),
            trun: vec![Trun { data_offset: Some(0), samples: TrunSamples::Explicit(entries) }],
            ..Default::default()
        }],
    };
    let mut data = Vec::with_capacity(samples.iter().map(|s| s.data.len()).sum());
    for s in samples {
        data.extend_from_slice(&s.data);
    }
    let mdat = Mdat { data };
    encode_pair(moof, &mdat)
}

/// Encodes a `moof` and its `mdat`, pointing the run's data offset at the first sample.
fn encode_pair(mut moof: Moof, mdat: &Mdat) -> Result<Vec<u8>, Mp4Error> {
    let mut probe = Vec::new();
    moof.encode(&mut probe)?;
    let offset = i32::try_from(probe.len() + MDAT_HEADER).map_err(|_| Mp4Error::NotFootage("a huge moof"))?;
    for traf in &mut moof.traf {
        for trun in &mut traf.trun {
            trun.data_offset = Some(offset);
        }
    }
    let mut out = Vec::with_capacity(probe.len() + MDAT_HEADER + mdat.data.len());
    moof.encode(&mut out)?;
    mdat.encode(&mut out)?;
    Ok(out)
}

/// A fragment read back: when it starts from the segment's start, how long it lasts, and whether
/// it starts with a keyframe.
#[derive(Debug, Clone)]
pub struct ReadFragment {
    pub moof: Moof,
    pub mdat: Mdat,
    pub start: u64,
    pub duration: u64,
    pub keyframe: bool,
}

/// A segment file read back: its sample description and its whole fragments. A file cut short
/// (the process stopped while writing it) yields the fragments before the cut.
#[derive(Debug, Clone)]
pub struct ReadSegment {
    pub ftyp: Ftyp,
    pub moov: Moov,
    pub fragments: Vec<ReadFragment>,
    /// Bytes of the file that make whole boxes.
    pub whole: usize,
}

impl ReadSegment {
    pub fn duration(&self) -> u64 {
        self.fragments.last().map_or(0, |f| f.start + f.duration)
    }

    /// The sample description, to tell whether two segments can play as one.
    pub fn codec(&self) -> Option<&Codec> {
        self.moov.trak.first()?.mdia.minf.stbl.stsd.codecs.first()
    }
}

pub fn read_segment(bytes: &[u8]) -> Result<ReadSegment, Mp4Error> {
    let mut cur = std::io::Cursor::new(bytes);
    let ftyp = match Any::decode(&mut cur) {
        Ok(Any::Ftyp(f)) => f,
        _ => return Err(Mp4Error::NotFootage("no ftyp")),
    };
    let moov = match Any::decode(&mut cur) {
        Ok(Any::Moov(m)) => m,
        _ => return Err(Mp4Error::NotFootage("no moov")),
    };
    let mut whole = cur.position() as usize;
    let mut fragments = Vec::new();
    while let Ok(Any::Moof(moof)) = Any::decode(&mut cur) {
        let Ok(Any::Mdat(mdat)) = Any::decode(&mut cur) else { break };
        whole = cur.position() as usize;
        let traf = moof.traf.first().ok_or(Mp4Error::NotFootage("a moof without traf"))?;
        let start = traf.tfdt.as_ref().map_or(0, |t| t.base_media_decode_time);
        let mut duration = 0u64;
        let mut keyframe = false;
        for (i, e) in traf.trun.iter().flat_map(|t| t.samples.iter()).enumerate() {
            duration += u64::from(e.duration.unwrap_or(0));
            if i == 0 {
                keyframe = e.flags.is_some_and(|f| f & 0x0001_0000 == 0);
            }
        }
        fragments.push(ReadFragment { moof, mdat, start, duration, keyframe });
    }
    Ok(ReadSegment { ftyp, moov, fragments, whole })
}

/// Puts fragments of several segments together as one file that plays from start to end: the
/// first segment's initialisation part, then the fragments renumbered on one timeline.
#[derive(Debug, Default)]
pub struct Clip {
    codec: Option<Codec>,
    sequence: u32,
    time: u64,
}

impl Clip {
    /// The bytes to add for these fragments of a segment; `None` when the segment's picture
    /// differs from the clip's (a camera reconfigured), which ends the clip.
    pub fn add(&mut self, segment: &ReadSegment, fragments: &[ReadFragment]) -> Result<Option<Vec<u8>>, Mp4Error> {
        let mut out = Vec::new();
        match &self.codec {
            None => {
                self.codec = segment.codec().cloned();
                segment.ftyp.encode(&mut out)?;
                segment.moov.encode(&mut out)?;
            }
            Some(c) if Some(c) != segment.codec() => return Ok(None),
            Some(_) => {}
        }
        for f in fragments {
            self.sequence += 1;
            let mut moof = f.moof.clone();
            moof.mfhd.sequence_number = self.sequence;
            for traf in &mut moof.traf {
                traf.tfdt = Some(Tfdt { base_media_decode_time: self.time });
            }
            self.time += f.duration;
            out.extend(encode_pair(moof, &f.mdat)?);
        }
        Ok(Some(out))
    }

    /// Seconds of video added so far.
    pub fn seconds(&self) -> f64 {
        self.time as f64 / f64::from(TIMESCALE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A 64×64 baseline SPS and its PPS, as x264 writes them.
    const SPS: &[u8] = &[
        0x67, 0x42, 0xc0, 0x15, 0xd9, 0x04, 0x26, 0xc0, 0x5a, 0x83, 0x03, 0x03, 0x52, 0x80, 0x00, 0x00, 0x03, 0x00,
        0x80, 0x00, 0x00, 0x1e, 0x47, 0x8b, 0x17, 0x24,
    ];
    const PPS: &[u8] = &[0x68, 0xcb, 0x8c, 0xb2];

    fn annex_b(nals: &[&[u8]]) -> Vec<u8> {
        nals.iter().flat_map(|n| [&[0, 0, 0, 1][..], n].concat()).collect()
    }

    #[test]
    fn an_access_unit_is_taken_apart() {
        let idr: &[u8] = &[0x65, 0x88, 0x84, 0x00, 0x33];
        let au = access_unit(&annex_b(&[&[0x09, 0xf0], SPS, PPS, idr]));
        assert_eq!(au.sps.as_deref(), Some(SPS));
        assert_eq!(au.pps.as_deref(), Some(PPS));
        assert_eq!(au.sample, [&[0, 0, 0, 5][..], idr].concat());
        let p = Params::new(au.sps.unwrap(), au.pps.unwrap()).unwrap();
        assert_eq!((p.width, p.height), (64, 64));
    }

    #[test]
    fn fragments_read_back_and_join_on_one_timeline() {
        let p = Params::new(SPS.to_vec(), PPS.to_vec()).unwrap();
        let sample = |keyframe| Sample { data: vec![0, 0, 0, 2, 0x65, 0x88], duration: 3000, keyframe };
        let mut file = init_segment(&p).unwrap();
        file.extend(fragment(1, 0, &[sample(true), sample(false)]).unwrap());
        file.extend(fragment(2, 6000, &[sample(false)]).unwrap());
        let whole = file.len();
        file.extend(&fragment(3, 9000, &[sample(true)]).unwrap()[..20]);
        let seg = read_segment(&file).unwrap();
        assert_eq!(seg.fragments.len(), 2, "the cut fragment is left out");
        assert_eq!(seg.whole, whole);
        assert_eq!((seg.fragments[1].start, seg.duration()), (6000, 9000));
        assert!(seg.fragments[0].keyframe && !seg.fragments[1].keyframe);

        let mut clip = Clip::default();
        let mut joined = clip.add(&seg, &seg.fragments).unwrap().unwrap();
        joined.extend(clip.add(&seg, &seg.fragments[1..]).unwrap().unwrap());
        assert_eq!(clip.seconds(), 12000.0 / 90000.0);
        let back = read_segment(&joined).unwrap();
        let starts: Vec<u64> = back.fragments.iter().map(|f| f.start).collect();
        assert_eq!(starts, [0, 6000, 9000]);
        let seqs: Vec<u32> = back.fragments.iter().map(|f| f.moof.mfhd.sequence_number).collect();
        assert_eq!(seqs, [1, 2, 3]);

        let other = Params { width: 128, ..p.clone() };
        let mut seg2 =
            read_segment(&[init_segment(&other).unwrap(), fragment(1, 0, &[sample(true)]).unwrap()].concat()).unwrap();
        assert!(clip.add(&seg2, &seg2.fragments).unwrap().is_none(), "another picture size ends the clip");
        seg2.moov = seg.moov.clone();
        assert!(clip.add(&seg2, &seg2.fragments).unwrap().is_some());
    }
}
