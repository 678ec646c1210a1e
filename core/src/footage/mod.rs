//! Camera footage (`docs/cameras.md`, "Footage"): each camera recorded continuously or on a
//! daily schedule into segment files (fragmented MP4, the camera's own H.264) under the footage
//! folder; segments kept for the camera's retention period and within the disk budget; a time
//! range played back or exported as one MP4, by those who investigate (administrators,
//! operators, district officials), each viewing and each export written to the audit log.

pub mod mp4;
pub mod writer;

use std::path::{Path, PathBuf};

use axum::body::Bytes;
use futures_util::Stream;
use q10_core_api::Role;
use time::{Duration, OffsetDateTime, Time};

use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::dossier::calendar::LOCAL;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::store::cameras::CameraRow;
use crate::store::footage::{self as rows, SegmentRow};

/// Who may play back and export footage.
pub const FOOTAGE_ROLES: &[Role] = &[Role::Admin, Role::Operator, Role::DistrictOfficial];
/// The longest range played back or exported at once.
pub const MAX_SPAN: Duration = Duration::hours(6);
/// The longest retention period a camera can have: 90 days.
pub const MAX_RETENTION_HOURS: i64 = 90 * 24;
/// Segments listed at most in one answer (a day of one-minute segments).
pub const MAX_LISTED: i64 = 1440;

/// Checks a daily schedule, `HH:MM-HH:MM` in Vietnam time; a window may run past midnight.
pub fn schedule(v: &str) -> Result<(Time, Time)> {
    let bad = || Error::invalid("schedule", "a schedule is HH:MM-HH:MM in Vietnam time, e.g. 06:00-22:00");
    let (a, b) = v.trim().split_once('-').ok_or_else(bad)?;
    let hm = |s: &str| -> Result<Time> {
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        Time::from_hms(h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, 0).map_err(|_| bad())
    };
    let (from, until) = (hm(a)?, hm(b)?);
    if from == until {
        return Err(bad());
    }
    Ok((from, until))
}

/// Whether the camera is to be recorded at `now`.
pub fn recording_now(c: &CameraRow, now: OffsetDateTime) -> bool {
    match c.recording.as_str() {
        "continuous" => c.enabled,
        "scheduled" => {
            let Some(Ok((from, until))) = c.schedule.as_deref().map(schedule) else { return false };
            let t = now.to_offset(LOCAL).time();
            c.enabled && if from < until { from <= t && t < until } else { t >= from || t < until }
        }
        _ => false,
    }
}

/// Keeps a closed segment: its row first, then the file renamed from `….part`, so that a file
/// without its row is always a `.part` file that recovery finds.
pub async fn keep(state: &AppState, root: &Path, s: &writer::Segment) -> Result<()> {
    let mut tx = state.store.begin().await?;
    rows::insert_segment(&mut tx, s.camera_id, &s.path, (s.started_at, s.ended_at), s.bytes, s.frames).await?;
    tx.commit().await?;
    let done = root.join(&s.path);
    let mut part = done.clone().into_os_string();
    part.push(".part");
    match tokio::fs::rename(&part, &done).await {
        Ok(()) => {}
        // Recovered segments are renamed already.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::Internal(e.into())),
    }
    metrics::counter!("q10_footage_segments_total").increment(1);
    metrics::counter!("q10_footage_bytes_total").increment(s.bytes.max(0) as u64);
    Ok(())
}

/// What a sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Segments past their camera's retention period.
    pub expired: usize,
    /// The oldest segments, removed to keep within the disk budget.
    pub over_budget: usize,
    /// Bytes of footage kept after the sweep.
    pub kept_bytes: i64,
}

/// Removes segments past their camera's retention period, then the oldest of all cameras until
/// the footage fits `budget` bytes.
pub async fn sweep(state: &AppState, root: &Path, budget: u64, now: OffsetDateTime) -> Result<Swept> {
    let mut swept = Swept::default();
    for c in state.store.cameras().await? {
        let before = now - Duration::hours(c.retention_hours);
        loop {
            let old = state.store.segments_ended_before(c.id, before, 500).await?;
            if old.is_empty() {
                break;
            }
            swept.expired += remove(state, root, &old).await?;
        }
    }
    let budget = i64::try_from(budget).unwrap_or(i64::MAX);
    let mut total = state.store.footage_bytes().await?;
    while total > budget {
        let oldest = state.store.oldest_segments(50).await?;
        let mut chosen = Vec::new();
        for s in oldest {
            if total <= budget {
                break;
            }
            total -= s.bytes;
            chosen.push(s);
        }
        if chosen.is_empty() {
            break;
        }
        swept.over_budget += remove(state, root, &chosen).await?;
    }
    swept.kept_bytes = total;
    metrics::gauge!("q10_footage_kept_bytes").set(total as f64);
    Ok(swept)
}

async fn remove(state: &AppState, root: &Path, segments: &[SegmentRow]) -> Result<usize> {
    let mut tx = state.store.begin().await?;
    rows::delete_segments(&mut tx, &segments.iter().map(|s| s.id).collect::<Vec<_>>()).await?;
    tx.commit().await?;
    for s in segments {
        match tokio::fs::remove_file(root.join(&s.path)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(camera = s.camera_id, error = %e, "a footage file was not removed"),
        }
    }
    metrics::counter!("q10_footage_segments_removed_total").increment(segments.len() as u64);
    Ok(segments.len())
}

/// A case reference for an export: 1 to 40 letters, digits, `-`, `/`, `.` or `_`.
fn case_ref(v: &str) -> Result<&str> {
    let v = v.trim();
    let ok = (1..=40).contains(&v.len())
        && v.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '/' | '.' | '_'));
    if !ok {
        return Err(Error::invalid("case", "a case reference is 1 to 40 letters, digits, '-', '/', '.' or '_'"));
    }
    Ok(v)
}

/// The folder footage is kept in, or why there is none.
pub fn folder(state: &AppState) -> Result<PathBuf> {
    state.footage.clone().ok_or_else(|| Error::Unavailable("footage is not kept in this deployment".into()))
}

/// Checks a range asked for.
pub fn span(from: OffsetDateTime, to: OffsetDateTime) -> Result<()> {
    if to <= from {
        return Err(Error::invalid("to", "the range ends after it starts"));
    }
    if to - from > MAX_SPAN {
        return Err(Error::invalid("to", "a range is at most 6 hours"));
    }
    Ok(())
}

/// The segments of `from`..`to` for someone who may see them, with the viewing (or, with a case
/// reference, the export) written to the audit log.
pub async fn open(
    state: &AppState,
    who: &Principal,
    c: &CameraRow,
    (from, to): (OffsetDateTime, OffsetDateTime),
    case: Option<&str>,
    origin: &str,
    now: OffsetDateTime,
) -> Result<Vec<SegmentRow>> {
    span(from, to)?;
    let case = case.map(case_ref).transpose()?;
    if !who.may_act_on(&state.store, FOOTAGE_ROLES, c.jurisdiction_id).await? {
        return Err(Error::Forbidden("footage is for administrators, operators and district officials".into()));
    }
    folder(state)?;
    let segments = state.store.segments(c.id, from, to, MAX_LISTED).await?;
    if segments.is_empty() {
        return Err(Error::NotFound("footage of that time"));
    }
    let rfc = |t: OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let mut detail = serde_json::json!({ "from": rfc(from), "to": rfc(to) });
    let action = match case {
        Some(case) => {
            detail["case"] = case.into();
            "camera.export"
        }
        None => "camera.playback",
    };
    let mut tx = state.store.begin().await?;
    let event = Event::new(who.actor(), action, "camera", c.id).detail(detail).source(origin);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    Ok(segments)
}

/// The footage of `from`..`to` as one MP4, segment by segment: from the last keyframe at or
/// before `from` to the end of the fragment that covers `to`. It ends early where the camera's
/// picture changed.
pub fn clip(
    root: PathBuf,
    segments: Vec<SegmentRow>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let state = (root, segments.into_iter(), mp4::Clip::default(), false);
    futures_util::stream::unfold(state, move |(root, mut rest, clip, done)| async move {
        if done {
            return None;
        }
        let s = rest.next()?;
        let path = root.join(&s.path);
        let work = tokio::task::spawn_blocking(move || -> std::io::Result<(mp4::Clip, Option<Vec<u8>>)> {
            let mut clip = clip;
            let bytes = std::fs::read(path)?;
            let seg = mp4::read_segment(&bytes).map_err(std::io::Error::other)?;
            let wall = |f: &mp4::ReadFragment| {
                s.started_at + Duration::seconds_f64(f.start as f64 / f64::from(mp4::TIMESCALE))
            };
            let mut first = 0;
            for (i, f) in seg.fragments.iter().enumerate() {
                if f.keyframe && wall(f) <= from {
                    first = i;
                }
            }
            let picked: Vec<mp4::ReadFragment> =
                seg.fragments.iter().skip(first).take_while(|f| wall(f) < to).cloned().collect();
            let out = clip.add(&seg, &picked).map_err(std::io::Error::other)?;
            Ok((clip, out))
        });
        match work.await {
            Ok(Ok((clip, Some(out)))) => Some((Ok(Bytes::from(out)), (root, rest, clip, false))),
            Ok(Ok((clip, None))) => Some((Ok(Bytes::new()), (root, rest, clip, true))),
            Ok(Err(e)) => Some((Err(e), (root, rest, mp4::Clip::default(), true))),
            Err(e) => Some((Err(std::io::Error::other(e)), (root, rest, mp4::Clip::default(), true))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_checked() {
        assert!(schedule("06:00-22:00").is_ok());
        assert!(schedule("22:30-05:00").is_ok(), "past midnight");
        for bad in ["", "6:00-22:00", "06:00", "06:00-06:00", "25:00-01:00", "06:00-22:60", "aa:bb-cc:dd"] {
            assert!(schedule(bad).is_err(), "{bad}");
        }
        assert!(case_ref("HS-2026/0142").is_ok());
        assert!(case_ref("a b").is_err() && case_ref("").is_err() && case_ref(&"x".repeat(41)).is_err());
    }

    fn camera(recording: &str, schedule: Option<&str>, enabled: bool) -> CameraRow {
        CameraRow {
            id: 1,
            code: "c".into(),
            name: "c".into(),
            jurisdiction_id: 1,
            unit_code: "27211".into(),
            unit_name: "Phường 1".into(),
            lon: None,
            lat: None,
            heading: None,
            source_sealed: Vec::new(),
            source_shown: "rtsp://cam/live".into(),
            transport: "tcp".into(),
            enabled,
            recording: recording.into(),
            schedule: schedule.map(String::from),
            retention_hours: 168,
            areas: "[]".into(),
            updated_at: OffsetDateTime::UNIX_EPOCH,
            health_state: None,
            health_since: None,
            health_checked_at: None,
            health_fps: None,
            health_bitrate: None,
            health_width: None,
            health_height: None,
            health_keyframe_at: None,
            health_fault: None,
        }
    }

    #[test]
    fn schedules_are_kept_in_vietnam_time() {
        // 23:30 UTC is 06:30 the next morning in Vietnam.
        let at = |h, m| time::macros::datetime!(2026-12-04 00:00 UTC).replace_time(Time::from_hms(h, m, 0).unwrap());
        let day = camera("scheduled", Some("06:00-22:00"), true);
        assert!(recording_now(&day, at(23, 30)) && recording_now(&day, at(14, 59)));
        assert!(!recording_now(&day, at(15, 0)) && !recording_now(&day, at(22, 59)));
        let night = camera("scheduled", Some("22:00-06:00"), true);
        assert!(recording_now(&night, at(15, 0)) && recording_now(&night, at(22, 59)));
        assert!(!recording_now(&night, at(23, 0)) && !recording_now(&night, at(10, 0)));
        assert!(recording_now(&camera("continuous", None, true), at(3, 0)));
        assert!(!recording_now(&camera("continuous", None, false), at(3, 0)), "a camera switched off");
        assert!(!recording_now(&camera("off", None, true), at(3, 0)));
        assert!(!recording_now(&camera("scheduled", None, true), at(3, 0)), "no schedule, no recording");
    }
}
