//! Writing one camera's footage into segment files: each starts at a keyframe and is closed at
//! the first keyframe after the segment length, when the camera reconnects or changes its
//! picture, or when frames were lost. A segment is written as `NAME.mp4.part`, and renamed to
//! `NAME.mp4` only once the core keeps it (`footage::keep`), so a `.part` file is one the process
//! stopped writing or stopped before keeping; [`recover`] keeps its whole fragments. Files are `CAMERA/YYYY-MM-DD/UNIX_MS.mp4` under the footage folder.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use time::OffsetDateTime;

use super::mp4::{self, Params, Sample, TIMESCALE};

/// The longest a fragment runs: what a stopped process can lose of a segment.
const FRAGMENT: u64 = TIMESCALE as u64;
/// A frame's duration when nothing follows it: 1/25 s.
const DEFAULT_DURATION: u32 = TIMESCALE / 25;

/// A frame as the camera sent it.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// One access unit in Annex B form.
    pub data: &'a [u8],
    /// 90 kHz, continuous within a session.
    pub rtp_time: u32,
    pub keyframe: bool,
    /// When it arrived.
    pub at: OffsetDateTime,
    /// The camera's session: a new one restarts the timestamps.
    pub session: u64,
}

/// A segment written and closed (still named `….part` until kept).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub camera_id: i64,
    /// Relative to the footage folder, as it is named once kept.
    pub path: String,
    pub started_at: OffsetDateTime,
    pub ended_at: OffsetDateTime,
    pub bytes: i64,
    pub frames: i64,
}

struct Pending {
    data: Vec<u8>,
    at: u64,
    keyframe: bool,
}

struct Open {
    out: BufWriter<File>,
    path: String,
    started_at: OffsetDateTime,
    params: Params,
    /// Extended RTP time of the first frame.
    first: u64,
    sequence: u32,
    pending: Vec<Pending>,
    last_duration: u32,
    bytes: u64,
    frames: u64,
}

/// Writes one camera's segments.
pub struct SegmentWriter {
    root: PathBuf,
    camera_id: i64,
    length: u64,
    open: Option<Open>,
    session: u64,
    /// The last RTP time seen and its extension to 64 bits.
    clock: Option<(u32, u64)>,
}

impl SegmentWriter {
    pub fn new(root: &Path, camera_id: i64, length: Duration) -> SegmentWriter {
        SegmentWriter {
            root: root.to_path_buf(),
            camera_id,
            length: (length.as_secs_f64() * f64::from(TIMESCALE)) as u64,
            open: None,
            session: 0,
            clock: None,
        }
    }

    /// Takes a frame; returns the segment it closed, if any.
    pub fn push(&mut self, f: Frame<'_>) -> io::Result<Option<Segment>> {
        let mut closed = None;
        if f.session != self.session {
            closed = self.finish()?;
            self.session = f.session;
            self.clock = None;
        }
        let at = self.extend(f.rtp_time);
        let unit = mp4::access_unit(f.data);
        if unit.sample.is_empty() {
            return Ok(closed);
        }
        let params = match (unit.sps, unit.pps) {
            (Some(sps), Some(pps)) if f.keyframe => Params::new(sps, pps).ok(),
            _ => None,
        };
        if let Some(open) = &self.open {
            let backwards = open.pending.last().is_some_and(|p| at <= p.at);
            let cut = f.keyframe
                && (at.saturating_sub(open.first) >= self.length || params.as_ref().is_some_and(|p| *p != open.params));
            if backwards || cut {
                let end = (!backwards).then_some(at);
                closed = self.close(end)?.or(closed);
            }
        }
        if self.open.is_none() {
            // A segment starts at a keyframe that carries its parameters.
            let (true, Some(params)) = (f.keyframe, params) else { return Ok(closed) };
            self.open = Some(self.create(params, at, f.at)?);
        }
        let open = self.open.as_mut().expect("opened above");
        let started = open.pending.first().map(|p| p.at);
        if started.is_some_and(|s| f.keyframe || at - s >= FRAGMENT) {
            flush(open, Some(at))?;
        }
        open.pending.push(Pending { data: unit.sample, at, keyframe: f.keyframe });
        open.frames += 1;
        Ok(closed)
    }

    /// Frames were lost: the segment ends with the last one received, the next begins at a keyframe.
    pub fn gap(&mut self) -> io::Result<Option<Segment>> {
        self.finish()
    }

    /// Closes the open segment, if any.
    pub fn finish(&mut self) -> io::Result<Option<Segment>> {
        self.close(None)
    }

    fn extend(&mut self, rtp: u32) -> u64 {
        let ext = match self.clock {
            None => u64::from(rtp),
            Some((last, ext)) => ext.wrapping_add_signed(i64::from(rtp.wrapping_sub(last) as i32)),
        };
        self.clock = Some((rtp, ext));
        ext
    }

    fn create(&self, params: Params, first: u64, at: OffsetDateTime) -> io::Result<Open> {
        let day = format!("{:04}-{:02}-{:02}", at.year(), u8::from(at.month()), at.day());
        let millis = at.unix_timestamp_nanos() / 1_000_000;
        let path = format!("{}/{day}/{millis}.mp4", self.camera_id);
        let part = self.root.join(format!("{path}.part"));
        if let Some(dir) = part.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut out = BufWriter::new(File::create(&part)?);
        let init = mp4::init_segment(&params).map_err(io::Error::other)?;
        out.write_all(&init)?;
        Ok(Open {
            out,
            path,
            started_at: at,
            params,
            first,
            sequence: 0,
            pending: Vec::new(),
            last_duration: DEFAULT_DURATION,
            bytes: init.len() as u64,
            frames: 0,
        })
    }

    /// Writes what is pending and renames the file; `end` is the time of the frame that follows
    /// the last one, when known.
    fn close(&mut self, end: Option<u64>) -> io::Result<Option<Segment>> {
        let Some(mut open) = self.open.take() else { return Ok(None) };
        let last = open.pending.last().map(|p| p.at);
        let end = end.or(last.map(|l| l + u64::from(open.last_duration))).unwrap_or(open.first);
        flush(&mut open, Some(end))?;
        open.out.flush()?;
        open.out.get_ref().sync_data()?;
        drop(open.out);
        let seconds = (end - open.first) as f64 / f64::from(TIMESCALE);
        Ok(Some(Segment {
            camera_id: self.camera_id,
            path: open.path,
            started_at: open.started_at,
            ended_at: open.started_at + time::Duration::seconds_f64(seconds),
            bytes: open.bytes as i64,
            frames: open.frames as i64,
        }))
    }
}

impl Drop for SegmentWriter {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            tracing::warn!(camera = self.camera_id, error = %e, "a footage segment was not closed");
        }
    }
}

/// Writes the pending frames as one fragment; `next` is when the frame after them starts.
fn flush(open: &mut Open, next: Option<u64>) -> io::Result<()> {
    if open.pending.is_empty() {
        return Ok(());
    }
    let pending = std::mem::take(&mut open.pending);
    let first = pending[0].at;
    let nexts: Vec<Option<u64>> = pending.iter().skip(1).map(|n| Some(n.at)).chain([next]).collect();
    let mut samples = Vec::with_capacity(pending.len());
    for (p, following) in pending.into_iter().zip(nexts) {
        let duration = following.map_or(open.last_duration, |n| u32::try_from(n - p.at).unwrap_or(u32::MAX));
        open.last_duration = duration.max(1);
        samples.push(Sample { data: p.data, duration: open.last_duration, keyframe: p.keyframe });
    }
    open.sequence += 1;
    let bytes = mp4::fragment(open.sequence, first - open.first, &samples).map_err(io::Error::other)?;
    open.out.write_all(&bytes)?;
    open.bytes += bytes.len() as u64;
    Ok(())
}

/// Finds the segments a stopped process left as `.part` files under `root`, cuts each back to
/// its whole fragments and closes it; a file with no whole fragment is removed.
pub fn recover(root: &Path) -> io::Result<Vec<Segment>> {
    let mut found = Vec::new();
    let Ok(cameras) = std::fs::read_dir(root) else { return Ok(found) };
    for camera in cameras.flatten() {
        let Some(camera_id) = camera.file_name().to_str().and_then(|n| n.parse::<i64>().ok()) else { continue };
        for day in std::fs::read_dir(camera.path())?.flatten() {
            for file in std::fs::read_dir(day.path())?.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                let Some(millis) = name.strip_suffix(".mp4.part").and_then(|m| m.parse::<i128>().ok()) else {
                    continue;
                };
                let part = file.path();
                let bytes = std::fs::read(&part)?;
                let seg = match mp4::read_segment(&bytes) {
                    Ok(s) if !s.fragments.is_empty() => s,
                    _ => {
                        std::fs::remove_file(&part)?;
                        continue;
                    }
                };
                let f = std::fs::OpenOptions::new().write(true).open(&part)?;
                f.set_len(seg.whole as u64)?;
                f.sync_data()?;
                let path = format!("{camera_id}/{}/{millis}.mp4", day.file_name().to_string_lossy());
                std::fs::rename(&part, root.join(&path))?;
                let started_at = OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000)
                    .map_err(|_| io::Error::other("a segment's name is not a time"))?;
                let seconds = seg.duration() as f64 / f64::from(TIMESCALE);
                found.push(Segment {
                    camera_id,
                    path,
                    started_at,
                    ended_at: started_at + time::Duration::seconds_f64(seconds),
                    bytes: seg.whole as i64,
                    frames: seg
                        .fragments
                        .iter()
                        .map(|f| {
                            f.moof
                                .traf
                                .iter()
                                .map(|t| t.trun.iter().map(|r| r.samples.len()).sum::<usize>())
                                .sum::<usize>()
                        })
                        .sum::<usize>() as i64,
                });
            }
        }
    }
    Ok(found)
}
