//! Street cameras (`docs/cameras.md`): registered by operators with where they stand and look and
//! the RTSP stream the relay ingests. The stream's URL is sealed at rest because it may carry a
//! user name and password; people see it only without them, and no error or log repeats it.
//! The relay reports each camera's health; a camera down for [`DOWN_ALERT_AFTER`] raises an
//! alert (one while it lasts), noted as cleared when the camera is back.

pub mod areas;

use q10_core_api::{
    Camera, CameraChange, CameraCount, CameraHealth, CameraLink, CameraNow, CameraWatch, NewCamera, RecordingMode,
    RtspTransport, Severity, camera_room,
};
use time::{Duration, OffsetDateTime};
use url::Url;

use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::crypto;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::meeting::RoomGrant;
use crate::monitor::{MANAGERS, code_ok, finite, label, managed_unit};
use crate::store::cameras::{self as rows, CameraFields, CameraRow, CountRow, HealthRow};
use crate::store::monitor::{self as alerts, NewAlertRow};

/// What a sealed stream URL is bound to.
const SOURCE_CONTEXT: &str = "camera.source";
/// The longest stream URL accepted.
const MAX_SOURCE: usize = 2048;

/// A stream URL checked, and the same without its credentials.
struct Source {
    full: String,
    shown: String,
}

/// Checks a stream URL. The messages never repeat it: it may hold a password.
fn source(v: &str) -> Result<Source> {
    let v = v.trim();
    let bad = |why: &str| Error::invalid("source", why.to_string());
    if v.is_empty() || v.len() > MAX_SOURCE || v.chars().any(char::is_control) {
        return Err(bad("the stream URL is 1 to 2048 characters"));
    }
    let mut url = Url::parse(v).map_err(|_| bad("the stream URL is not a URL"))?;
    if !matches!(url.scheme(), "rtsp" | "rtsps") {
        return Err(bad("the stream URL starts with rtsp:// or rtsps://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("the stream URL names a host"));
    }
    if url.fragment().is_some() {
        return Err(bad("the stream URL has no #fragment"));
    }
    let full = url.to_string();
    // Both succeed on a URL with a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok(Source { full, shown: url.to_string() })
}

/// Checks how a camera is recorded: a schedule is given for scheduled recording and well formed
/// wherever given; footage is kept 1 hour to 90 days.
fn recording(mode: RecordingMode, schedule: Option<&str>, retention_hours: i64) -> Result<()> {
    if let Some(s) = schedule {
        crate::footage::schedule(s)?;
    }
    if mode == RecordingMode::Scheduled && schedule.is_none() {
        return Err(Error::invalid("schedule", "scheduled recording needs a schedule, e.g. 06:00-22:00"));
    }
    if !(1..=crate::footage::MAX_RETENTION_HOURS).contains(&retention_hours) {
        return Err(Error::invalid("retention_hours", "footage is kept 1 to 2160 hours (90 days)"));
    }
    Ok(())
}

/// The week footage is kept unless said otherwise.
const DEFAULT_RETENTION_HOURS: i64 = 168;

fn place(lon: Option<f64>, lat: Option<f64>, heading: Option<f64>) -> Result<()> {
    crate::monitor::place(lon, lat)?;
    if finite("heading", heading)?.is_some_and(|h| !(0.0..360.0).contains(&h)) {
        return Err(Error::invalid("heading", "a heading is 0 to 360 degrees from north"));
    }
    Ok(())
}

/// Registers a camera in a unit the caller manages.
pub async fn register(
    state: &AppState,
    who: &Principal,
    new: &NewCamera,
    origin: &str,
    now: OffsetDateTime,
) -> Result<CameraRow> {
    if !code_ok(&new.code) {
        return Err(Error::invalid("code", "a code is 1 to 64 letters, digits, '-', '_' or '.'"));
    }
    let name = label("name", &new.name, 100)?;
    place(new.lon, new.lat, new.heading)?;
    let src = source(&new.source)?;
    let mode = new.recording.unwrap_or(RecordingMode::Continuous);
    let schedule = new.schedule.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let retention_hours = new.retention_hours.unwrap_or(DEFAULT_RETENTION_HOURS);
    recording(mode, schedule, retention_hours)?;
    let zones = areas::to_json(&areas::check(new.areas.as_deref().unwrap_or_default())?)?;
    let j = managed_unit(state, who, &new.unit_code, now).await?;
    if state.store.camera_by_code(&new.code).await?.is_some() {
        return Err(Error::Conflict(format!("a camera '{}' is registered already", new.code)));
    }
    let sealed = crypto::seal(&state.secrets.data_encryption, SOURCE_CONTEXT, src.full.as_bytes())?;
    let fields = CameraFields {
        name: &name,
        lon: new.lon,
        lat: new.lat,
        heading: new.heading,
        source_sealed: &sealed,
        source_shown: &src.shown,
        transport: new.transport.unwrap_or(RtspTransport::Tcp).as_str(),
        enabled: new.enabled.unwrap_or(true),
        recording: mode.as_str(),
        schedule,
        retention_hours,
        areas: &zones,
    };
    let mut tx = state.store.begin().await?;
    let id = rows::insert_camera(&mut tx, &new.code, j.id, &fields, now).await?;
    let event = Event::new(who.actor(), "camera.register", "camera", id).source(origin);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    state.store.camera(id).await?.ok_or(Error::NotFound("camera"))
}

/// Changes a camera the caller manages; the audit entry names the fields changed, not their values.
pub async fn change(
    state: &AppState,
    who: &Principal,
    id: i64,
    change: &CameraChange,
    origin: &str,
    now: OffsetDateTime,
) -> Result<CameraRow> {
    let c = state.store.camera(id).await?.ok_or(Error::NotFound("camera"))?;
    if !crate::monitor::may_read(state, who, c.jurisdiction_id).await? {
        return Err(Error::NotFound("camera"));
    }
    if !who.may_act_on(&state.store, MANAGERS, c.jurisdiction_id).await? {
        return Err(Error::Forbidden("only operators change cameras".into()));
    }
    let name = match &change.name {
        Some(n) => label("name", n, 100)?,
        None => c.name.clone(),
    };
    // A place is changed whole: lon and lat together.
    let (lon, lat) =
        if change.lon.is_some() || change.lat.is_some() { (change.lon, change.lat) } else { (c.lon, c.lat) };
    let heading = change.heading.or(c.heading);
    place(lon, lat, heading)?;
    let (sealed, shown) = match &change.source {
        Some(s) => {
            let src = source(s)?;
            (crypto::seal(&state.secrets.data_encryption, SOURCE_CONTEXT, src.full.as_bytes())?, src.shown)
        }
        None => (c.source_sealed.clone(), c.source_shown.clone()),
    };
    let transport = change.transport.map(RtspTransport::as_str).unwrap_or(c.transport.as_str());
    let mode = match change.recording {
        Some(m) => m,
        None => RecordingMode::parse(&c.recording)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("recording mode {}", c.recording)))?,
    };
    let schedule = match &change.schedule {
        Some(s) => Some(s.trim()).filter(|s| !s.is_empty()),
        None => c.schedule.as_deref(),
    };
    let retention_hours = change.retention_hours.unwrap_or(c.retention_hours);
    recording(mode, schedule, retention_hours)?;
    let zones = match &change.areas {
        Some(a) => areas::to_json(&areas::check(a)?)?,
        None => c.areas.clone(),
    };
    let fields = CameraFields {
        name: &name,
        lon,
        lat,
        heading,
        source_sealed: &sealed,
        source_shown: &shown,
        transport,
        enabled: change.enabled.unwrap_or(c.enabled),
        recording: mode.as_str(),
        schedule,
        retention_hours,
        areas: &zones,
    };
    let changed: Vec<&str> = [
        ("name", change.name.is_some()),
        ("place", change.lon.is_some() || change.lat.is_some()),
        ("heading", change.heading.is_some()),
        ("source", change.source.is_some()),
        ("transport", change.transport.is_some()),
        ("enabled", change.enabled.is_some()),
        ("recording", change.recording.is_some()),
        ("schedule", change.schedule.is_some()),
        ("retention_hours", change.retention_hours.is_some()),
        ("areas", change.areas.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, on)| on.then_some(f))
    .collect();
    if changed.is_empty() {
        return Err(Error::invalid("name", "nothing to change"));
    }
    let mut tx = state.store.begin().await?;
    rows::update_camera(&mut tx, id, &fields, now).await?;
    let event = Event::new(who.actor(), "camera.change", "camera", id)
        .detail(serde_json::json!({ "fields": changed }))
        .source(origin);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    state.store.camera(id).await?.ok_or(Error::NotFound("camera"))
}

/// How long a camera stays down before it raises an alert.
pub const DOWN_ALERT_AFTER: Duration = Duration::seconds(30);

/// What the relay reports of a camera.
#[derive(Debug, Clone)]
pub struct HealthReport {
    pub state: CameraLink,
    pub fps: f64,
    pub bitrate: f64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub last_keyframe_at: Option<OffsetDateTime>,
    /// Why it is down, by kind.
    pub fault: Option<&'static str>,
}

/// Keeps a camera's health, and raises or clears its "down" alert. Returns the alert raised, if any.
pub async fn report_health(state: &AppState, id: i64, r: &HealthReport, now: OffsetDateTime) -> Result<Option<i64>> {
    let c = state.store.camera(id).await?.ok_or(Error::NotFound("camera"))?;
    let since = match (c.health_state.as_deref(), c.health_since) {
        (Some(s), Some(since)) if s == r.state.as_str() => since,
        // Reaching again a camera that was down keeps it down in the meantime.
        (Some("down"), Some(since)) if r.state == CameraLink::Connecting => since,
        _ => now,
    };
    let stored_state = if r.state == CameraLink::Connecting && c.health_state.as_deref() == Some("down") {
        CameraLink::Down
    } else {
        r.state
    };
    let row = HealthRow {
        state: stored_state.as_str(),
        since,
        fps: if r.fps.is_finite() { r.fps } else { 0.0 },
        bitrate: if r.bitrate.is_finite() { r.bitrate } else { 0.0 },
        width: r.width.map(i64::from),
        height: r.height.map(i64::from),
        last_keyframe_at: r.last_keyframe_at.or(c.health_keyframe_at),
        // Trying again, a camera that was down keeps the reason it went down for.
        fault: if stored_state == CameraLink::Up { None } else { r.fault.or(c.health_fault.as_deref()) },
    };
    let mut tx = state.store.begin().await?;
    rows::set_health(&mut tx, id, &row, now).await?;
    let down_long = stored_state == CameraLink::Down && now - since >= DOWN_ALERT_AFTER;
    let live = alerts::live_alert(&mut tx, "camera", id, "down").await?;
    let (mut raised, mut changed) = (None, None);
    match (live, down_long, stored_state == CameraLink::Up) {
        (None, true, _) => {
            let title = format!("Camera {} mất tín hiệu", c.name);
            let value = (now - since).whole_seconds() as f64;
            raised = Some(raise(state, &mut tx, &c, ("camera_down", "down"), &title, value, now).await?);
        }
        (Some((aid, true)), true, _) => {
            alerts::set_cleared(&mut tx, aid, None, now).await?;
            changed = Some(aid);
        }
        (Some((aid, false)), _, true) => {
            alerts::set_cleared(&mut tx, aid, Some(now), now).await?;
            changed = Some(aid);
        }
        _ => {}
    }
    tx.commit().await?;
    publish(state, raised, changed, now).await?;
    Ok(raised)
}

/// Raises a camera's alert of `(kind, condition)` (severity high, for the camera's unit), with
/// its audit entry, in `tx`.
async fn raise(
    state: &AppState,
    tx: &mut crate::store::Tx,
    c: &CameraRow,
    (kind, condition): (&str, &str),
    title: &str,
    value: f64,
    now: OffsetDateTime,
) -> Result<i64> {
    let alert = NewAlertRow {
        kind,
        severity: Severity::High.as_str(),
        source_type: "camera",
        source_id: c.id,
        condition,
        jurisdiction_id: c.jurisdiction_id,
        title,
        value: Some(value),
    };
    let aid = alerts::insert_alert(tx, &alert, now).await?;
    let event = Event::new(Actor::system(), "monitor.alert.raise", "alert", aid)
        .detail(serde_json::json!({ "camera": c.id, "condition": condition, "value": value }));
    audit::append(tx, &state.secrets.audit, event, now).await?;
    Ok(aid)
}

/// Tells the live feed of an alert raised or changed.
async fn publish(state: &AppState, raised: Option<i64>, changed: Option<i64>, now: OffsetDateTime) -> Result<()> {
    for (kind, aid) in [("alert.raised", raised), ("alert.changed", changed)] {
        if let Some(aid) = aid
            && let Some(a) = state.store.alert(aid).await?
        {
            state.feed.publish(crate::monitor::live(kind, &a, now));
        }
    }
    Ok(())
}

/// The kinds of object counted.
pub const KINDS: [&str; 6] = ["person", "bicycle", "car", "motorcycle", "bus", "truck"];

/// A minute of counts from the relay: per kind, (frames analysed, objects in view summed over them,
/// most in view at once, objects that appeared). Tells the live feed (`camera.counts`).
pub async fn record_counts(
    state: &AppState,
    id: i64,
    minute: OffsetDateTime,
    counts: &[(&str, [i64; 4])],
) -> Result<()> {
    let minute =
        minute.replace_second(0).and_then(|m| m.replace_nanosecond(0)).map_err(|e| Error::Internal(e.into()))?;
    let mut rows = Vec::new();
    for (kind, [frames, in_view, peak, appeared]) in counts {
        if !KINDS.contains(kind) || [frames, in_view, peak, appeared].iter().any(|v| **v < 0) {
            return Err(Error::invalid("kind", "counts are of a known kind and never negative"));
        }
        rows.push(CountRow {
            minute,
            kind: kind.to_string(),
            frames: *frames,
            in_view: *in_view,
            peak: *peak,
            appeared: *appeared,
        });
    }
    let mut tx = state.store.begin().await?;
    rows::set_counts(&mut tx, id, &rows).await?;
    tx.commit().await?;
    // The console's wall shows the new figures as they come.
    if let Some(c) = state.store.camera(id).await? {
        state.feed.publish(crate::feed::LiveEvent {
            kind: "camera.counts",
            id,
            status: "counted".into(),
            category: None,
            ward: Some(c.unit_code),
            at: minute,
        });
    }
    Ok(())
}

/// What a camera's latest minute of counts shows (of `rows`, any minutes): people and vehicles in
/// view on average.
pub fn now<'a>(rows: impl Iterator<Item = &'a CountRow> + Clone) -> Option<CameraNow> {
    let minute = rows.clone().map(|r| r.minute).max()?;
    let mean = |r: &CountRow| if r.frames > 0 { r.in_view as f64 / r.frames as f64 } else { 0.0 };
    let (mut people, mut vehicles) = (0.0, 0.0);
    for r in rows.filter(|r| r.minute == minute) {
        if r.kind == "person" {
            people += mean(r);
        } else {
            vehicles += mean(r);
        }
    }
    Some(CameraNow { minute, people, vehicles })
}

pub fn count_view(r: CountRow) -> CameraCount {
    let mean = if r.frames > 0 { r.in_view as f64 / r.frames as f64 } else { 0.0 };
    CameraCount { minute: r.minute, kind: r.kind, frames: r.frames, mean, peak: r.peak, appeared: r.appeared }
}

/// A crowd in view of a camera, or in one of its zones: `Some(people)` when as many have stayed
/// long enough (raises one `crowd` alert while it lasts), `None` when it has thinned out (notes the
/// alert cleared).
pub async fn report_crowd(
    state: &AppState,
    id: i64,
    zone: Option<&str>,
    people: Option<u32>,
    now: OffsetDateTime,
) -> Result<Option<i64>> {
    let c = state.store.camera(id).await?.ok_or(Error::NotFound("camera"))?;
    let condition = match zone {
        Some(z) => format!("crowd:{z}"),
        None => "crowd".to_string(),
    };
    let mut tx = state.store.begin().await?;
    let live = alerts::live_alert(&mut tx, "camera", id, &condition).await?;
    let (mut raised, mut changed) = (None, None);
    match (live, people) {
        (None, Some(n)) => {
            let title = match zone {
                Some(z) => format!("Đám đông tại camera {} ({z}): {n} người", c.name),
                None => format!("Đám đông tại camera {}: {n} người", c.name),
            };
            raised = Some(raise(state, &mut tx, &c, ("crowd", &condition), &title, f64::from(n), now).await?);
        }
        (Some((aid, false)), None) => {
            alerts::set_cleared(&mut tx, aid, Some(now), now).await?;
            changed = Some(aid);
        }
        // Crowded again before anyone resolved it.
        (Some((aid, true)), Some(_)) => {
            alerts::set_cleared(&mut tx, aid, None, now).await?;
            changed = Some(aid);
        }
        _ => {}
    }
    tx.commit().await?;
    publish(state, raised, changed, now).await?;
    Ok(raised)
}

/// How long a token to watch a camera is valid: enough to start watching; a session already
/// playing outlives it.
pub const WATCH_TTL: Duration = Duration::minutes(5);

/// Leave to watch a camera live, for someone who may read it; recorded in the audit log.
pub async fn watch(
    state: &AppState,
    who: &Principal,
    c: &CameraRow,
    origin: &str,
    now: OffsetDateTime,
) -> Result<CameraWatch> {
    if !c.enabled {
        return Err(Error::Conflict("the camera is switched off".into()));
    }
    let Some(tokens) = &state.room_tokens else {
        return Err(Error::Unavailable("live video is not running in this deployment".into()));
    };
    let grant = RoomGrant {
        room: camera_room(c.id),
        identity: format!("user-{}", who.user_id),
        name: who.display_name.clone(),
        host: false,
        unit: None,
        ttl: WATCH_TTL,
        record: false,
        listen_only: true,
    };
    let token = tokens.mint(&grant, now)?;
    let mut tx = state.store.begin().await?;
    let event = Event::new(who.actor(), "camera.watch", "camera", c.id).source(origin);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    Ok(CameraWatch { camera_id: c.id, whep: format!("/whep/cameras/{}", c.id), token, expires_at: now + WATCH_TTL })
}

/// The stream URL with its credentials, for the relay that ingests it. Never for a response.
pub fn stream_url(state: &AppState, c: &CameraRow) -> Result<String> {
    let plain = crypto::open(&state.secrets.data_encryption, SOURCE_CONTEXT, &c.source_sealed)?;
    String::from_utf8(plain).map_err(|_| Error::Internal(anyhow::anyhow!("a camera's stream URL is not text")))
}

pub fn camera_view(c: CameraRow, state: &AppState) -> Result<Camera> {
    let has_credentials = stream_url(state, &c).map(|u| Url::parse(&u).is_ok_and(|u| !u.username().is_empty()))?;
    let health =
        match (c.enabled, c.health_state.as_deref().and_then(CameraLink::parse), c.health_since, c.health_checked_at) {
            (true, Some(link), Some(since), Some(checked_at)) => Some(CameraHealth {
                state: link,
                since,
                checked_at,
                fps: c.health_fps.unwrap_or(0.0),
                bitrate: c.health_bitrate.unwrap_or(0.0),
                width: c.health_width,
                height: c.health_height,
                last_keyframe_at: c.health_keyframe_at,
                fault: c.health_fault.clone(),
            }),
            _ => None,
        };
    Ok(Camera {
        id: c.id,
        code: c.code,
        name: c.name,
        unit_code: c.unit_code,
        unit_name: c.unit_name,
        lon: c.lon,
        lat: c.lat,
        heading: c.heading,
        source: c.source_shown,
        has_credentials,
        transport: RtspTransport::parse(&c.transport)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("transport {}", c.transport)))?,
        enabled: c.enabled,
        recording: RecordingMode::parse(&c.recording)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("recording mode {}", c.recording)))?,
        schedule: c.schedule,
        retention_hours: c.retention_hours,
        areas: areas::parse(&c.areas)?,
        updated_at: c.updated_at,
        health,
        now: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_kept_apart_from_what_is_shown() {
        let s = source(" rtsp://viewer:s3cret@10.0.0.5:554/Streaming/Channels/101 ").unwrap();
        assert_eq!(s.full, "rtsp://viewer:s3cret@10.0.0.5:554/Streaming/Channels/101");
        assert_eq!(s.shown, "rtsp://10.0.0.5:554/Streaming/Channels/101");
        let plain = source("rtsps://cam.example/live").unwrap();
        assert_eq!(plain.full, plain.shown);
    }

    #[test]
    fn bad_stream_urls_are_refused_without_repeating_them() {
        for bad in ["", "http://a:b@cam/live", "rtsp://", "not a url", "rtsp://u:topsecret@cam/x#f"] {
            let e = source(bad).err().unwrap_or_else(|| panic!("{bad} was accepted"));
            assert!(!format!("{e:?}").contains("topsecret"), "{e:?}");
        }
    }
}
