//! Recording rooms: each track's packets put back together into frames (with str0m's own
//! depacketizers) and written, without transcoding, to a standard container (Opus in Ogg, VP8 in
//! IVF, H.264 as an Annex B stream), with a `manifest.json` saying who sent which track and when.
//! All of it happens on a thread of its own, so neither reassembly nor a slow disk ever holds up
//! forwarding. VP9 and AV1 are forwarded but not recorded: str0m keeps their depacketizers to
//! itself.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Instant, SystemTime};

use ogg::{PacketWriteEndInfo, PacketWriter};
use serde::Serialize;
use str0m::format::{Codec, CodecExtra};
use str0m::unversioned::{Depacketizer, H264Depacketizer, Vp8Depacketizer};

/// One RTP packet of a recorded track, as the engine hands it over.
#[derive(Debug)]
pub struct RecordedPacket {
    pub room: String,
    /// The publisher's identity and media section.
    pub identity: String,
    pub mid: String,
    pub codec: Codec,
    /// The simulcast layer it belongs to: a change of layer starts the frames afresh.
    pub layer: Option<String>,
    /// Extended sequence number and RTP time (48 kHz for Opus, 90 kHz for video).
    pub seq: u64,
    pub rtp_time: u64,
    pub marker: bool,
    pub at: Instant,
    pub payload: std::sync::Arc<[u8]>,
}

/// One frame put back together from its packets.
#[derive(Debug)]
struct RecordedFrame {
    codec: Codec,
    rtp_time: u64,
    at: Instant,
    data: Vec<u8>,
}

/// What the recorder is told.
#[derive(Debug)]
pub enum RecordCommand {
    Start { room: String },
    Packet(RecordedPacket),
    Stop { room: String },
}

/// Opus (RFC 7587): each packet's payload is one whole frame.
#[derive(Debug)]
struct WholePackets;

impl Depacketizer for WholePackets {
    fn out_size_hint(&self, packets_size: usize) -> Option<usize> {
        Some(packets_size)
    }

    fn depacketize(
        &mut self,
        packet: &[u8],
        out: &mut Vec<u8>,
        _: &mut CodecExtra,
    ) -> Result<(), str0m::error::PacketError> {
        out.extend_from_slice(packet);
        Ok(())
    }

    fn is_partition_head(&self, _: &[u8]) -> bool {
        true
    }

    fn is_partition_tail(&self, _: bool, _: &[u8]) -> bool {
        true
    }
}

/// Puts one track's packets back together into frames. A frame is written only whole: after a
/// lost packet, what follows is skipped up to the start of the next frame.
struct Assembler {
    depacketizer: Box<dyn Depacketizer + Send>,
    layer: Option<String>,
    next_seq: Option<u64>,
    /// The RTP time of the frame being put together, if one is.
    frame_time: Option<u64>,
    frame: Vec<u8>,
    extra: CodecExtra,
}

impl Assembler {
    fn new(codec: Codec) -> Option<Assembler> {
        let depacketizer: Box<dyn Depacketizer + Send> = match codec {
            Codec::Opus => Box::new(WholePackets),
            Codec::Vp8 => Box::new(Vp8Depacketizer::default()),
            Codec::H264 => Box::new(H264Depacketizer::default()),
            _ => return None,
        };
        Some(Assembler {
            depacketizer,
            layer: None,
            next_seq: None,
            frame_time: None,
            frame: Vec::new(),
            extra: CodecExtra::None,
        })
    }

    fn push(&mut self, p: &RecordedPacket) -> Option<RecordedFrame> {
        if p.layer != self.layer {
            self.layer = p.layer.clone();
            self.next_seq = None;
            self.frame_time = None;
        }
        if let Some(next) = self.next_seq {
            if p.seq < next {
                // Late or repeated: its frame has been written or dropped already.
                return None;
            }
            if p.seq > next {
                self.frame_time = None;
            }
        }
        self.next_seq = Some(p.seq + 1);
        if self.frame_time != Some(p.rtp_time) {
            if !self.depacketizer.is_partition_head(&p.payload) {
                self.frame_time = None;
                return None;
            }
            self.frame_time = Some(p.rtp_time);
            self.frame.clear();
            self.extra = CodecExtra::None;
        }
        if self.depacketizer.depacketize(&p.payload, &mut self.frame, &mut self.extra).is_err() {
            self.frame_time = None;
            return None;
        }
        if !self.depacketizer.is_partition_tail(p.marker, &p.payload) {
            return None;
        }
        self.frame_time = None;
        (!self.frame.is_empty()).then(|| RecordedFrame {
            codec: p.codec,
            rtp_time: p.rtp_time,
            at: p.at,
            data: std::mem::take(&mut self.frame),
        })
    }
}

/// A track in the manifest.
#[derive(Debug, Clone, Serialize)]
struct TrackEntry {
    identity: String,
    mid: String,
    codec: String,
    file: String,
    /// Unix milliseconds of the first and last frame.
    first_ms: u128,
    last_ms: u128,
    frames: u64,
}

#[derive(Debug, Serialize)]
struct Manifest {
    room: String,
    started_ms: u128,
    stopped_ms: Option<u128>,
    tracks: Vec<TrackEntry>,
}

enum Sink {
    Ogg { out: PacketWriter<'static, BufWriter<File>>, serial: u32, first_rtp: u64, granule: u64 },
    Ivf { out: BufWriter<File>, first_rtp: u64, frames: u32, sized: bool },
    AnnexB { out: BufWriter<File> },
}

struct Track {
    sink: Sink,
    entry: TrackEntry,
}

struct Session {
    dir: PathBuf,
    manifest: Manifest,
    tracks: HashMap<(String, String), Track>,
    assemblers: HashMap<(String, String), Assembler>,
}

fn unix_ms(at: Instant, base: (Instant, SystemTime)) -> u128 {
    let wall = base.1 + at.saturating_duration_since(base.0);
    wall.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
}

/// Starts the recorder thread; recordings go to `root/<room>-<unix ms>/`.
pub fn spawn(root: PathBuf) -> mpsc::Sender<RecordCommand> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("q10-recorder".into())
        .spawn(move || run(root, rx))
        .expect("the recorder thread starts");
    tx
}

fn run(root: PathBuf, rx: mpsc::Receiver<RecordCommand>) {
    let base = (Instant::now(), SystemTime::now());
    let mut sessions: HashMap<String, Session> = HashMap::new();
    for cmd in rx {
        match cmd {
            RecordCommand::Start { room } => {
                if sessions.contains_key(&room) {
                    continue;
                }
                let started_ms = unix_ms(Instant::now(), base);
                let dir = root.join(format!("{room}-{started_ms}"));
                if let Err(e) = std::fs::create_dir_all(&dir) {
                    tracing::error!(error = %e, dir = %dir.display(), "cannot create the recording directory");
                    continue;
                }
                let manifest = Manifest { room: room.clone(), started_ms, stopped_ms: None, tracks: vec![] };
                let session = Session { dir, manifest, tracks: HashMap::new(), assemblers: HashMap::new() };
                write_manifest(&session);
                tracing::info!(%room, dir = %session.dir.display(), "recording started");
                sessions.insert(room, session);
            }
            RecordCommand::Packet(p) => {
                let Some(s) = sessions.get_mut(&p.room) else { continue };
                let key = (p.identity.clone(), p.mid.clone());
                if !s.assemblers.contains_key(&key) {
                    let Some(a) = Assembler::new(p.codec) else { continue };
                    s.assemblers.insert(key.clone(), a);
                }
                let Some(frame) = s.assemblers.get_mut(&key).and_then(|a| a.push(&p)) else { continue };
                if let Err(e) = s.write(&key, frame, base) {
                    tracing::error!(error = %e, "recording write failed");
                }
            }
            RecordCommand::Stop { room } => {
                if let Some(mut s) = sessions.remove(&room) {
                    s.finish(unix_ms(Instant::now(), base));
                    tracing::info!(%room, dir = %s.dir.display(), tracks = s.manifest.tracks.len(), "recording stopped");
                }
            }
        }
    }
    for (_, mut s) in sessions {
        s.finish(unix_ms(Instant::now(), base));
    }
}

fn write_manifest(s: &Session) {
    let path = s.dir.join("manifest.json");
    let text = serde_json::to_vec_pretty(&s.manifest).expect("the manifest serializes");
    // Written whole to a temporary file and renamed, so a reader never sees half of it.
    let tmp = s.dir.join(".manifest.json.tmp");
    if let Err(e) = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, &path)) {
        tracing::error!(error = %e, "cannot write the recording manifest");
    }
}

/// A file name part made of safe characters only.
fn safe(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).take(64).collect()
}

impl Session {
    fn write(&mut self, key: &(String, String), f: RecordedFrame, base: (Instant, SystemTime)) -> std::io::Result<()> {
        let at_ms = unix_ms(f.at, base);
        if !self.tracks.contains_key(key) {
            let Some((ext, codec)) = container(f.codec) else { return Ok(()) };
            let (identity, mid) = key.clone();
            let name = format!("{}-{}.{ext}", safe(&identity), safe(&mid));
            let out = BufWriter::new(File::create(self.dir.join(&name))?);
            let sink = match ext {
                "ogg" => Sink::Ogg {
                    out: PacketWriter::new(out),
                    serial: rand_serial(&name),
                    first_rtp: f.rtp_time,
                    granule: 0,
                },
                "ivf" => Sink::Ivf { out, first_rtp: f.rtp_time, frames: 0, sized: false },
                _ => Sink::AnnexB { out },
            };
            let entry = TrackEntry {
                identity,
                mid,
                codec: codec.into(),
                file: name,
                first_ms: at_ms,
                last_ms: at_ms,
                frames: 0,
            };
            let mut track = Track { sink, entry };
            track.begin()?;
            self.tracks.insert(key.clone(), track);
            self.manifest.tracks = self.tracks.values().map(|t| t.entry.clone()).collect();
            self.manifest.tracks.sort_by(|a, b| a.file.cmp(&b.file));
            write_manifest(self);
        }
        let track = self.tracks.get_mut(key).expect("inserted above");
        track.frame(&f)?;
        track.entry.frames += 1;
        track.entry.last_ms = at_ms;
        Ok(())
    }

    fn finish(&mut self, stopped_ms: u128) {
        for t in self.tracks.values_mut() {
            if let Err(e) = t.end() {
                tracing::error!(error = %e, file = %t.entry.file, "cannot finish a recorded track");
            }
        }
        self.manifest.tracks = self.tracks.values().map(|t| t.entry.clone()).collect();
        self.manifest.tracks.sort_by(|a, b| a.file.cmp(&b.file));
        self.manifest.stopped_ms = Some(stopped_ms);
        write_manifest(self);
    }
}

/// The container and codec name for a codec, if it can be recorded.
fn container(codec: Codec) -> Option<(&'static str, &'static str)> {
    match codec {
        Codec::Opus => Some(("ogg", "opus")),
        Codec::Vp8 => Some(("ivf", "vp8")),
        Codec::H264 => Some(("h264", "h264")),
        _ => None,
    }
}

fn rand_serial(name: &str) -> u32 {
    // Any value unique within the file does; a hash of the name is stable and unique enough.
    name.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

impl Track {
    fn begin(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::Ogg { out, serial, .. } => {
                // RFC 7845: an identification header and a comment header, each on a page of its own.
                let mut head = b"OpusHead".to_vec();
                head.push(1); // version
                head.push(2); // channels
                head.extend_from_slice(&312u16.to_le_bytes()); // pre-skip
                head.extend_from_slice(&48_000u32.to_le_bytes()); // input sample rate
                head.extend_from_slice(&0i16.to_le_bytes()); // output gain
                head.push(0); // channel mapping family
                out.write_packet(head, *serial, PacketWriteEndInfo::EndPage, 0)?;
                let mut tags = b"OpusTags".to_vec();
                let vendor = b"q10";
                tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
                tags.extend_from_slice(vendor);
                tags.extend_from_slice(&0u32.to_le_bytes());
                out.write_packet(tags, *serial, PacketWriteEndInfo::EndPage, 0)?;
            }
            Sink::Ivf { out, .. } => {
                let fourcc = b"VP80";
                let mut h = Vec::with_capacity(32);
                h.extend_from_slice(b"DKIF");
                h.extend_from_slice(&0u16.to_le_bytes()); // version
                h.extend_from_slice(&32u16.to_le_bytes()); // header size
                h.extend_from_slice(fourcc);
                h.extend_from_slice(&0u16.to_le_bytes()); // width, set from the first keyframe
                h.extend_from_slice(&0u16.to_le_bytes()); // height
                h.extend_from_slice(&90_000u32.to_le_bytes()); // time base: 1/90000 s
                h.extend_from_slice(&1u32.to_le_bytes());
                h.extend_from_slice(&0u32.to_le_bytes()); // frame count, set at the end
                h.extend_from_slice(&0u32.to_le_bytes());
                out.write_all(&h)?;
            }
            Sink::AnnexB { .. } => {}
        }
        Ok(())
    }

    fn frame(&mut self, f: &RecordedFrame) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::Ogg { out, serial, first_rtp, granule } => {
                // The granule position counts 48 kHz samples to the end of the packet; Opus
                // packets from browsers are 20 ms. A page a packet keeps the delay to a minimum.
                *granule = f.rtp_time.saturating_sub(*first_rtp) + 960;
                out.write_packet(f.data.clone(), *serial, PacketWriteEndInfo::EndPage, *granule)?;
            }
            Sink::Ivf { out, first_rtp, frames, sized } => {
                if !*sized && f.codec == Codec::Vp8 && vp8_key_size(&f.data).is_some() {
                    let (w, h) = vp8_key_size(&f.data).expect("checked");
                    let pos = out.stream_position()?;
                    out.seek(SeekFrom::Start(12))?;
                    out.write_all(&w.to_le_bytes())?;
                    out.write_all(&h.to_le_bytes())?;
                    out.seek(SeekFrom::Start(pos))?;
                    *sized = true;
                }
                out.write_all(&(f.data.len() as u32).to_le_bytes())?;
                out.write_all(&f.rtp_time.saturating_sub(*first_rtp).to_le_bytes())?;
                out.write_all(&f.data)?;
                *frames += 1;
            }
            Sink::AnnexB { out } => out.write_all(&f.data)?,
        }
        Ok(())
    }

    fn end(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::Ogg { out, serial, granule, .. } => {
                // An empty packet that ends the stream, at the position reached.
                out.write_packet(Vec::new(), *serial, PacketWriteEndInfo::EndStream, *granule)?;
            }
            Sink::Ivf { out, frames, .. } => {
                let pos = out.stream_position()?;
                out.seek(SeekFrom::Start(24))?;
                out.write_all(&frames.to_le_bytes())?;
                out.seek(SeekFrom::Start(pos))?;
            }
            Sink::AnnexB { .. } => {}
        }
        match &mut self.sink {
            Sink::Ogg { out, .. } => out.inner_mut().flush(),
            Sink::Ivf { out, .. } | Sink::AnnexB { out } => out.flush(),
        }
    }
}

/// Width and height of a VP8 keyframe (RFC 6386 section 9.1), if `frame` is one.
fn vp8_key_size(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.len() < 10 || frame[0] & 0x01 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((w, h))
}

/// Where the recordings of a data directory live.
pub fn default_root(data: &Path) -> PathBuf {
    data.join("recordings")
}
