//! Street kiosks as a fleet and their calls to the officer on duty (`docs/kiosk.md`).
//!
//! A kiosk is a machine account with the kiosk role on its ward. Every 30 s it says how it is
//! (version, uptime, printer, network) and hears back its settings (idle time, languages, where it
//! stands) and whether an operator asked for a screenshot. A kiosk not heard from for
//! [`OFFLINE_AFTER`] is offline, which raises an alert until it is heard from again.
//!
//! A call rings in the console of everyone who watches the kiosk's ward; the first to answer
//! joins the call's room with the kiosk. A call nobody answers within [`RING_FOR`] is missed.

use q10_core_api::{
    Kiosk, KioskCall, KioskCallJoin, KioskCallStatus, KioskConfig, KioskHeartbeat, KioskSettings, PrinterState, Role,
    Severity,
};
use time::{Duration, OffsetDateTime};

use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::feed::LiveEvent;
use crate::http::AppState;
use crate::meeting::RoomGrant;
use crate::monitor::{MANAGERS, may_read};
use crate::store::kiosks::{self as rows, Beat, KioskCallRow, KioskRow, Settings};
use crate::store::monitor::{self as alerts, NewAlertRow};

/// How often a kiosk says how it is.
pub const HEARTBEAT_EVERY: Duration = Duration::seconds(30);
/// A kiosk not heard from for this long (three heartbeats) is offline.
pub const OFFLINE_AFTER: Duration = Duration::seconds(90);
/// How long a call rings before it is missed.
pub const RING_FOR: Duration = Duration::minutes(2);
/// How long a call's join token is valid: enough to answer and talk.
pub const CALL_TTL: Duration = Duration::hours(1);
/// The largest screenshot kept (PNG).
pub const MAX_SCREENSHOT: usize = 4 << 20;
/// The languages a kiosk can offer.
const LANGUAGES: [&str; 2] = ["vi", "en"];
const DEFAULT_IDLE: i64 = 90;

/// The kiosk `who` is, and its ward: refused for anyone but a kiosk's machine account.
fn kiosk_of(who: &Principal) -> Result<i64> {
    who.grants
        .iter()
        .find(|g| g.role.parse() == Ok(Role::KioskDevice))
        .map(|g| g.jurisdiction_id)
        .ok_or_else(|| Error::Forbidden("only a kiosk does this".into()))
}

fn config_of(k: &KioskRow) -> KioskConfig {
    KioskConfig {
        idle_seconds: k.idle_seconds.unwrap_or(DEFAULT_IDLE).clamp(0, u32::MAX.into()) as u32,
        languages: k.languages.as_deref().unwrap_or("vi,en").split(',').map(str::to_string).collect(),
        location: k.lon.zip(k.lat).map(|(lon, lat)| [lon, lat]),
        screenshot_requested: k.screenshot_requested_at.is_some(),
    }
}

fn printable(field: &'static str, s: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(Error::invalid(field, format!("1 to {max} printable characters")));
    }
    Ok(())
}

/// Keeps what the kiosk says of itself, clears its offline alert, and answers its settings.
pub async fn heartbeat(
    state: &AppState,
    who: &Principal,
    hb: &KioskHeartbeat,
    now: OffsetDateTime,
) -> Result<KioskConfig> {
    kiosk_of(who)?;
    printable("version", &hb.version, 40)?;
    printable("network", &hb.network, 80)?;
    // Ten years is longer than any kiosk program runs.
    if hb.uptime_seconds > 10 * 365 * 86_400 {
        return Err(Error::invalid("uptime_seconds", "at most ten years"));
    }
    let beat = Beat {
        version: hb.version.trim(),
        started_at: now - Duration::seconds(hb.uptime_seconds as i64),
        printer: hb.printer.as_str(),
        network: hb.network.trim(),
    };
    let before = state.store.kiosk(who.user_id).await?.ok_or(Error::NotFound("kiosk"))?;
    let mut tx = state.store.begin().await?;
    rows::beat(&mut tx, who.user_id, &beat, now).await?;
    let mut cleared = None;
    if let Some((aid, false)) = alerts::live_alert(&mut tx, "kiosk", who.user_id, "offline").await? {
        alerts::set_cleared(&mut tx, aid, Some(now), now).await?;
        cleared = Some(aid);
    }
    tx.commit().await?;
    let was_online = before.last_seen_at.is_some_and(|t| now - t < OFFLINE_AFTER);
    let changed = before.version.as_deref() != Some(beat.version)
        || before.printer.as_deref() != Some(beat.printer)
        || before.network.as_deref() != Some(beat.network);
    if !was_online {
        state.feed.publish(kiosk_event("kiosk.online", &before, now));
    } else if changed {
        state.feed.publish(kiosk_event("kiosk.changed", &before, now));
    }
    if let Some(aid) = cleared
        && let Some(a) = state.store.alert(aid).await?
    {
        state.feed.publish(crate::monitor::live("alert.changed", &a, now));
    }
    Ok(config_of(&before))
}

/// The kiosks `who` watches.
pub async fn list(state: &AppState, who: &Principal, now: OffsetDateTime) -> Result<Vec<Kiosk>> {
    let mut out = Vec::new();
    for k in state.store.kiosks().await? {
        if may_read(state, who, k.jurisdiction_id).await? {
            out.push(kiosk_view(k, now));
        }
    }
    Ok(out)
}

/// A kiosk `who` watches; not found otherwise.
pub async fn find(state: &AppState, who: &Principal, id: i64) -> Result<KioskRow> {
    match state.store.kiosk(id).await? {
        Some(k) if may_read(state, who, k.jurisdiction_id).await? => Ok(k),
        _ => Err(Error::NotFound("kiosk")),
    }
}

/// Changes a kiosk's settings; it hears them at its next heartbeat.
pub async fn configure(
    state: &AppState,
    who: &Principal,
    id: i64,
    s: &KioskSettings,
    source: &str,
    now: OffsetDateTime,
) -> Result<Kiosk> {
    let k = find(state, who, id).await?;
    if !who.may_act_on(&state.store, MANAGERS, k.jurisdiction_id).await? {
        return Err(Error::Forbidden("only operators change a kiosk's settings".into()));
    }
    let current = config_of(&k);
    let idle = s.idle_seconds.unwrap_or(current.idle_seconds);
    if !(30..=3600).contains(&idle) {
        return Err(Error::invalid("idle_seconds", "from 30 to 3600 seconds"));
    }
    let languages = s.languages.clone().unwrap_or(current.languages);
    let known = languages.iter().all(|l| LANGUAGES.contains(&l.as_str()));
    let distinct = languages.first() != languages.get(1);
    if languages.is_empty() || languages.len() > LANGUAGES.len() || !known || !distinct {
        return Err(Error::invalid("languages", "one or both of vi and en, the default first"));
    }
    let location = s.location.or(current.location);
    if let Some([lon, lat]) = location
        && !((102.0..=110.0).contains(&lon) && (8.0..=24.0).contains(&lat))
    {
        return Err(Error::invalid("location", "longitude and latitude within Vietnam"));
    }
    let joined = languages.join(",");
    let settings = Settings { idle_seconds: idle.into(), languages: &joined, location };
    let mut tx = state.store.begin().await?;
    rows::set_settings(&mut tx, id, &settings, now).await?;
    let fields: Vec<&str> = [
        s.idle_seconds.map(|_| "idle_seconds"),
        s.languages.as_ref().map(|_| "languages"),
        s.location.map(|_| "location"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let event = Event::new(who.actor(), "kiosk.configure", "kiosk", id)
        .source(source)
        .detail(serde_json::json!({ "fields": fields }));
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    let k = state.store.kiosk(id).await?.ok_or(Error::NotFound("kiosk"))?;
    state.feed.publish(kiosk_event("kiosk.changed", &k, now));
    Ok(kiosk_view(k, now))
}

/// Asks a kiosk for a screenshot; it sends one after its next heartbeat.
pub async fn request_screenshot(
    state: &AppState,
    who: &Principal,
    id: i64,
    source: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let k = find(state, who, id).await?;
    if !who.may_act_on(&state.store, MANAGERS, k.jurisdiction_id).await? {
        return Err(Error::Forbidden("only operators ask a kiosk for a screenshot".into()));
    }
    let mut tx = state.store.begin().await?;
    rows::request_screenshot(&mut tx, id, now).await?;
    audit::append(
        &mut tx,
        &state.secrets.audit,
        Event::new(who.actor(), "kiosk.screenshot.request", "kiosk", id).source(source),
        now,
    )
    .await?;
    tx.commit().await
}

/// Keeps the screenshot a kiosk sends of itself (a PNG).
pub async fn put_screenshot(state: &AppState, who: &Principal, png: &[u8], now: OffsetDateTime) -> Result<()> {
    kiosk_of(who)?;
    if png.len() > MAX_SCREENSHOT {
        return Err(Error::TooLarge);
    }
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(Error::UnsupportedMediaType("a screenshot is a PNG image".into()));
    }
    let mut tx = state.store.begin().await?;
    rows::set_screenshot(&mut tx, who.user_id, png, now).await?;
    tx.commit().await?;
    if let Some(k) = state.store.kiosk(who.user_id).await? {
        state.feed.publish(kiosk_event("kiosk.screenshot", &k, now));
    }
    Ok(())
}

/// The kiosk calls the officer on duty: a call ringing in the consoles of its ward, and the
/// kiosk's leave to join its room. A call of the kiosk still going is ended first.
pub async fn call(state: &AppState, who: &Principal, source: &str, now: OffsetDateTime) -> Result<KioskCallJoin> {
    let unit = kiosk_of(who)?;
    let Some(tokens) = state.room_tokens.clone() else {
        return Err(Error::Unavailable("calls are not running in this deployment".into()));
    };
    let mut tx = state.store.begin().await?;
    let id = rows::insert_call(&mut tx, who.user_id, unit, now).await?;
    audit::append(
        &mut tx,
        &state.secrets.audit,
        Event::new(who.actor(), "kiosk.call", "kiosk_call", id).source(source),
        now,
    )
    .await?;
    tx.commit().await?;
    for earlier in state.store.kiosk_calls(now).await? {
        if earlier.kiosk_id == who.user_id && earlier.id != id {
            end_call(state, earlier.id, now).await?;
        }
    }
    let c = state.store.kiosk_call(id).await?.ok_or(Error::NotFound("call"))?;
    state.feed.publish(call_event("kiosk_call.ringing", &c, now));
    let grant = RoomGrant {
        room: call_room(id),
        identity: format!("kiosk-{}", who.user_id),
        name: who.display_name.clone(),
        host: false,
        unit: Some(c.unit_code.clone()),
        ttl: CALL_TTL,
        record: false,
        listen_only: false,
    };
    let token = tokens.mint(&grant, now)?;
    Ok(KioskCallJoin { call: call_view(c), room: call_room(id), token, expires_at: now + CALL_TTL })
}

/// The room a call is held in.
pub fn call_room(id: i64) -> String {
    format!("kiosk-call-{id}")
}

/// Calls of the kiosks `who` watches: those ringing or under way, and those ended in the last hour.
pub async fn calls(state: &AppState, who: &Principal, now: OffsetDateTime) -> Result<Vec<KioskCall>> {
    let mut out = Vec::new();
    for c in state.store.kiosk_calls(now - Duration::hours(1)).await? {
        if may_read(state, who, c.jurisdiction_id).await? {
            out.push(call_view(c));
        }
    }
    Ok(out)
}

/// A call the caller may see: its own kiosk's, or one of a ward it watches.
pub async fn find_call(state: &AppState, who: &Principal, id: i64) -> Result<KioskCallRow> {
    match state.store.kiosk_call(id).await? {
        Some(c) if c.kiosk_id == who.user_id || may_read(state, who, c.jurisdiction_id).await? => Ok(c),
        _ => Err(Error::NotFound("call")),
    }
}

/// An officer answers a ringing call and is given leave to join it.
pub async fn answer(
    state: &AppState,
    who: &Principal,
    id: i64,
    source: &str,
    now: OffsetDateTime,
) -> Result<KioskCallJoin> {
    let c = find_call(state, who, id).await?;
    if c.kiosk_id == who.user_id {
        return Err(Error::Forbidden("a kiosk does not answer its own call".into()));
    }
    let Some(tokens) = state.room_tokens.clone() else {
        return Err(Error::Unavailable("calls are not running in this deployment".into()));
    };
    let mut tx = state.store.begin().await?;
    if !rows::answer_call(&mut tx, id, who.user_id, now).await? {
        return Err(Error::Conflict("the call is no longer ringing".into()));
    }
    audit::append(
        &mut tx,
        &state.secrets.audit,
        Event::new(who.actor(), "kiosk.call.answer", "kiosk_call", id).source(source),
        now,
    )
    .await?;
    tx.commit().await?;
    let c = state.store.kiosk_call(id).await?.ok_or(Error::NotFound("call"))?;
    state.feed.publish(call_event("kiosk_call.answered", &c, now));
    let grant = RoomGrant {
        room: call_room(id),
        identity: format!("user-{}", who.user_id),
        name: who.display_name.clone(),
        host: true,
        unit: None,
        ttl: CALL_TTL,
        record: false,
        listen_only: false,
    };
    let token = tokens.mint(&grant, now)?;
    Ok(KioskCallJoin { call: call_view(c), room: call_room(id), token, expires_at: now + CALL_TTL })
}

/// Hangs up (the kiosk or an officer who may see the call); a call that had ended stays as it was.
pub async fn hang_up(state: &AppState, who: &Principal, id: i64, now: OffsetDateTime) -> Result<KioskCall> {
    find_call(state, who, id).await?;
    end_call(state, id, now).await?;
    Ok(call_view(state.store.kiosk_call(id).await?.ok_or(Error::NotFound("call"))?))
}

async fn end_call(state: &AppState, id: i64, now: OffsetDateTime) -> Result<()> {
    let mut tx = state.store.begin().await?;
    let ended = rows::end_call(&mut tx, id, now).await?;
    if ended {
        audit::append(
            &mut tx,
            &state.secrets.audit,
            Event::new(Actor::system(), "kiosk.call.end", "kiosk_call", id),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    if ended && let Some(c) = state.store.kiosk_call(id).await? {
        state.feed.publish(call_event("kiosk_call.ended", &c, now));
    }
    Ok(())
}

/// One pass of the fleet's watch: calls rung out are missed; a kiosk not heard from for
/// [`OFFLINE_AFTER`] raises its offline alert (kiosks never heard from are not installed yet).
/// Returns the alerts raised.
pub async fn watch(state: &AppState, now: OffsetDateTime) -> Result<Vec<i64>> {
    let mut tx = state.store.begin().await?;
    let missed = rows::unanswered(&mut tx, now - RING_FOR).await?;
    tx.commit().await?;
    for id in missed {
        end_call(state, id, now).await?;
    }
    let mut raised = Vec::new();
    for k in state.store.kiosks().await? {
        let Some(seen) = k.last_seen_at else { continue };
        if now - seen < OFFLINE_AFTER {
            continue;
        }
        let mut tx = state.store.begin().await?;
        if alerts::live_alert(&mut tx, "kiosk", k.id, "offline").await?.is_some_and(|(_, cleared)| !cleared) {
            continue;
        }
        let title = format!("Kiosk {} mất kết nối", k.display_name);
        let alert = NewAlertRow {
            kind: "kiosk_offline",
            severity: Severity::Medium.as_str(),
            source_type: "kiosk",
            source_id: k.id,
            condition: "offline",
            jurisdiction_id: k.jurisdiction_id,
            title: &title,
            value: Some((now - seen).whole_seconds() as f64),
        };
        // A cleared alert not yet resolved is raised again in place.
        let aid = match alerts::live_alert(&mut tx, "kiosk", k.id, "offline").await? {
            Some((aid, _)) => {
                alerts::set_cleared(&mut tx, aid, None, now).await?;
                aid
            }
            None => alerts::insert_alert(&mut tx, &alert, now).await?,
        };
        let event = Event::new(Actor::system(), "monitor.alert.raise", "alert", aid)
            .detail(serde_json::json!({ "kiosk": k.id, "condition": "offline" }));
        audit::append(&mut tx, &state.secrets.audit, event, now).await?;
        tx.commit().await?;
        if let Some(a) = state.store.alert(aid).await? {
            state.feed.publish(crate::monitor::live("alert.raised", &a, now));
        }
        raised.push(aid);
    }
    Ok(raised)
}

pub fn kiosk_view(k: KioskRow, now: OffsetDateTime) -> Kiosk {
    let config = config_of(&k);
    Kiosk {
        id: k.id,
        username: k.username,
        name: k.display_name,
        unit_code: k.unit_code,
        unit_name: k.unit_name,
        online: k.last_seen_at.is_some_and(|t| now - t < OFFLINE_AFTER),
        last_seen_at: k.last_seen_at,
        version: k.version,
        uptime_seconds: k.started_at.map(|s| (now - s).whole_seconds().max(0) as u64),
        printer: k.printer.as_deref().and_then(PrinterState::parse),
        network: k.network,
        config,
        screenshot_at: k.screenshot_at,
    }
}

pub fn call_view(c: KioskCallRow) -> KioskCall {
    KioskCall {
        id: c.id,
        kiosk_id: c.kiosk_id,
        kiosk_name: c.kiosk_name,
        unit_code: c.unit_code,
        unit_name: c.unit_name,
        status: KioskCallStatus::parse(&c.status).unwrap_or(KioskCallStatus::Ended),
        officer: c.officer,
        created_at: c.created_at,
        answered_at: c.answered_at,
        ended_at: c.ended_at,
    }
}

fn kiosk_event(kind: &'static str, k: &KioskRow, now: OffsetDateTime) -> LiveEvent {
    LiveEvent { kind, id: k.id, status: String::new(), category: None, ward: Some(k.unit_code.clone()), at: now }
}

fn call_event(kind: &'static str, c: &KioskCallRow, now: OffsetDateTime) -> LiveEvent {
    LiveEvent { kind, id: c.id, status: c.status.clone(), category: None, ward: Some(c.unit_code.clone()), at: now }
}
