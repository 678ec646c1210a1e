//! Complaints ("District 10 Online"): filing with photos, routing to the ward and team, the
//! handlers' workflow, the citizen's follow-up by tracking code, and the events each change
//! sends on.
//!
//! Every change is one transaction that appends to the complaint's action log, updates its
//! derived status, moves its contribution to the dashboard rollups, writes the audit entry, and
//! queues the outbound events; nothing is acknowledged before it commits.

use q10_core_api::{
    ComplaintAction as A, ComplaintActionRequest, ComplaintContact, ComplaintReceipt, ComplaintStatus as S,
    NearbyComplaint, NewComplaint, Role,
};
use secrecy::SecretSlice;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::feed::LiveEvent;
use crate::http::AppState;
use crate::outbox::{self, Notice, OutEvent};
use crate::store::complaints::{self as rows, ComplaintChange, ComplaintRow, NewActionRow, NewComplaintRow};
use crate::store::{Store, Tx};

pub mod import;
pub mod locate;
pub mod photo;
pub mod rules;
pub mod stats;
pub mod view;

pub use view::{nearby_view, public_view, queue_item, staff_view};

/// Who works complaints: sees the queue and acts on complaints of their wards.
pub const STAFF: &[Role] = &[Role::DistrictOfficial, Role::WardOfficial, Role::ComplaintHandler, Role::Operator];
/// Who may read a citizen's contact details (each read is audited).
pub const CONTACT_READERS: &[Role] = &[Role::DistrictOfficial, Role::WardOfficial, Role::ComplaintHandler];
/// Roles that handle complaints no ward contains.
const DISTRICT_TRIAGE: &[Role] = &[Role::DistrictOfficial, Role::Operator];

const CONTACT_CONTEXT: &str = "complaint.contact";

pub fn seal_contact(key: &SecretSlice<u8>, c: &ComplaintContact) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(c).map_err(|e| Error::Internal(e.into()))?;
    crate::crypto::seal(key, CONTACT_CONTEXT, &json)
}

pub fn open_contact(key: &SecretSlice<u8>, sealed: &[u8]) -> Result<ComplaintContact> {
    let json = crate::crypto::open(key, CONTACT_CONTEXT, sealed)?;
    serde_json::from_slice(&json).map_err(|e| Error::Internal(e.into()))
}

pub fn tracking_hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

/// A filing as it arrives from the web, a kiosk, the API or an Open311 client.
#[derive(Debug)]
pub struct Filing {
    pub complaint: NewComplaint,
    /// Raw photo bytes, checked and cleaned here.
    pub photos: Vec<Vec<u8>>,
    /// `web`, `kiosk`, `api` or `open311`.
    pub source: &'static str,
    /// The Open311 client's key: `(id, name)`.
    pub api_key: Option<(i64, String)>,
    /// The client's address, for the audit log.
    pub client: String,
}

/// Open complaints of `category` within 50 m of the point filed in the last 30 days, nearest
/// first.
pub async fn nearby(
    store: &Store,
    category: &str,
    point: (f64, f64),
    now: OffsetDateTime,
) -> Result<Vec<NearbyComplaint>> {
    let (dlat, dlon) = locate::degree_box(point.0, rules::DUPLICATE_RADIUS_M);
    let rows = store
        .complaints_in_box(
            category,
            (point.0 - dlat, point.0 + dlat),
            (point.1 - dlon, point.1 + dlon),
            now - rules::DUPLICATE_WINDOW,
        )
        .await?;
    let mut out: Vec<NearbyComplaint> = rows
        .iter()
        .map(|r| (r, locate::distance_m(point, (r.lat, r.lon))))
        .filter(|(_, d)| *d <= rules::DUPLICATE_RADIUS_M)
        .map(|(r, d)| nearby_view(r, d))
        .collect();
    out.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    Ok(out)
}

fn contribution(c: &ComplaintRow) -> stats::Contribution {
    stats::Contribution {
        ward_id: c.ward_id.unwrap_or(0),
        category: c.category_code.clone(),
        submitted_at: c.submitted_at,
        resolved: c.resolved_at.map(|at| (at, at <= c.due_at)),
        rating: c.rating.zip(c.rated_at),
    }
}

/// Files a complaint.
pub async fn submit(state: &AppState, filing: Filing, now: OffsetDateTime) -> Result<ComplaintReceipt> {
    let checked = rules::check_new(&filing.complaint)?;
    let categories = state.store.complaint_categories().await?;
    let category = categories
        .iter()
        .find(|c| c.code == checked.category)
        .ok_or_else(|| Error::invalid("category", format!("there is no category '{}'", checked.category)))?;
    if filing.photos.len() > photo::MAX_PHOTOS {
        return Err(Error::invalid("photo", format!("send at most {} photos", photo::MAX_PHOTOS)));
    }
    let photos = filing.photos.iter().map(|p| photo::clean(p)).collect::<Result<Vec<_>>>()?;
    let ward = match checked.point {
        Some((lat, lon)) => state.wards.ward_at(&state.store, stats::local_day(now), lat, lon).await?,
        None => None,
    };
    let team = match &ward {
        Some(w) => {
            state.store.complaint_team(&category.code, w.id).await?.unwrap_or_else(|| category.default_team.clone())
        }
        None => category.default_team.clone(),
    };
    let similar = match checked.point {
        Some(p) => nearby(&state.store, &category.code, p, now).await?,
        None => Vec::new(),
    };
    let contact = checked.contact.as_ref().map(|c| seal_contact(&state.secrets.data_encryption, c)).transpose()?;
    let code = rules::new_tracking_code();
    let token = {
        use rand::Rng;
        hex::encode(rand::rng().random::<[u8; 12]>())
    };
    let due_at = now + Duration::hours(category.sla_hours);
    let mut status = rules::transition(None, A::Submit).map_err(Error::Conflict)?;
    let actor = match &filing.api_key {
        Some((_, name)) => format!("api:{name}"),
        None => "citizen".to_string(),
    };

    let mut tx = state.store.begin().await?;
    let row = NewComplaintRow {
        tracking_hash: &tracking_hash(&code),
        token: &token,
        category: &category.code,
        description: &checked.description,
        lat: checked.point.map(|p| p.0),
        lon: checked.point.map(|p| p.1),
        address: checked.address.as_deref(),
        ward_id: ward.as_ref().map(|w| w.id),
        team: &team,
        status: status.as_str(),
        source: filing.source,
        contact: contact.as_deref(),
        notify: checked.notify.map(|n| if n == q10_core_api::NotifyChannel::Sms { "sms" } else { "email" }),
        api_key_id: filing.api_key.as_ref().map(|k| k.0),
        due_at,
        resolved_at: None,
        rating: None,
    };
    let id = rows::insert(&mut tx, &row, now).await?;
    for p in &photos {
        let photo_id = {
            use rand::Rng;
            hex::encode(rand::rng().random::<[u8; 16]>())
        };
        let sha = hex::encode(Sha256::digest(&p.bytes));
        rows::insert_photo(&mut tx, &photo_id, id, p.content_type, &sha, &p.bytes, now).await?;
    }
    let detail =
        serde_json::json!({ "photos": photos.len(), "similar": similar.iter().map(|s| s.id).collect::<Vec<_>>() });
    let action = NewActionRow {
        complaint_id: id,
        action: A::Submit.as_str(),
        status_before: None,
        status_after: status.as_str(),
        actor_id: None,
        actor: &actor,
        public: true,
        note: "",
        detail: &detail.to_string(),
    };
    let action_id = rows::insert_action(&mut tx, &action, now).await?;
    if ward.is_none() {
        // Nothing to route it by: the district sorts it out.
        let to = rules::transition(Some(status), A::Triage).map_err(Error::Conflict)?;
        let note = "no ward contains the place given; sent to the district for triage";
        let triage = NewActionRow {
            complaint_id: id,
            action: A::Triage.as_str(),
            status_before: Some(status.as_str()),
            status_after: to.as_str(),
            actor_id: None,
            actor: "system",
            public: true,
            note,
            detail: "{}",
        };
        rows::insert_action(&mut tx, &triage, now).await?;
        status = to;
        rows::update(&mut tx, &unchanged(id, status, due_at), now).await?;
    }
    let c = rows::for_update(&mut tx, id).await?.ok_or(Error::NotFound("complaint"))?;
    stats::update(&mut tx, None, &contribution(&c)).await?;
    let audit_actor = match &filing.api_key {
        Some((_, name)) => Actor { id: None, name: format!("api:{name}") },
        None => Actor::anonymous(),
    };
    let event = Event::new(audit_actor, "complaint.submit", "complaint", id)
        .detail(serde_json::json!({ "category": category.code, "ward": ward.as_ref().map(|w| &w.code), "source": filing.source, "photos": photos.len() }))
        .source(&filing.client);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    let out = out_event("complaint.created", &c, action_id, now);
    outbox::enqueue(&mut tx, &state.outbound, &out).await?;
    tx.commit().await?;
    state.outbox_wake.notify_one();
    state.feed.publish(live("complaint.created", &c, now));
    Ok(ComplaintReceipt { id, tracking_code: code, status, ward: ward.map(|w| w.code), team, due_at, similar })
}

fn unchanged(id: i64, status: S, due_at: OffsetDateTime) -> ComplaintChange<'static> {
    ComplaintChange {
        id,
        status: status.as_str(),
        is_open: status.is_open(),
        handler_id: None,
        duplicate_of: None,
        due_at,
        resolved_at: None,
        rating: None,
        rating_comment: None,
        rated_at: None,
    }
}

fn live(kind: &'static str, c: &ComplaintRow, at: OffsetDateTime) -> LiveEvent {
    LiveEvent {
        kind,
        id: c.id,
        status: c.status.clone(),
        category: Some(c.category_code.clone()),
        ward: c.ward_code.clone(),
        at,
    }
}

/// The event sent to the 1022 portal and webhook subscribers: the public facts only.
fn out_event(kind: &str, c: &ComplaintRow, action_id: i64, now: OffsetDateTime) -> OutEvent {
    OutEvent {
        id: format!("evt_complaint_{}_{}", c.id, action_id),
        kind: kind.to_string(),
        timestamp: now,
        data: serde_json::json!({
            "id": c.id,
            "category": c.category_code,
            "status": c.status,
            "description": c.description,
            "lat": c.lat,
            "lon": c.lon,
            "address": c.address,
            "ward": c.ward_code,
            "team": c.team,
            "submitted_at": c.submitted_at.format(&time::format_description::well_known::Rfc3339).ok(),
            "due_at": c.due_at.format(&time::format_description::well_known::Rfc3339).ok(),
        }),
    }
}

/// Whether `who` works complaints of this complaint's ward.
pub async fn may_handle(store: &Store, who: &Principal, c: &ComplaintRow) -> Result<bool> {
    match c.ward_id {
        Some(ward) => who.may_act_on(store, STAFF, ward).await,
        None => Ok(who.has_any_role(DISTRICT_TRIAGE)),
    }
}

/// Who acts.
enum By<'a> {
    Staff(&'a Principal),
    Citizen,
}

/// One change to a complaint inside `tx`: checks the transition, appends the action, updates
/// the row, the rollups, the audit log and the outbox. Returns the updated row.
#[allow(clippy::too_many_arguments)]
async fn change(
    state: &AppState,
    tx: &mut Tx,
    c: ComplaintRow,
    action: A,
    by: By<'_>,
    note: &str,
    extra: Extra,
    source: &str,
    now: OffsetDateTime,
) -> Result<ComplaintRow> {
    let from = S::parse(&c.status).ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown status {}", c.status)))?;
    let to = rules::transition(Some(from), action).map_err(Error::Conflict)?;
    let sla_hours = state
        .store
        .complaint_categories()
        .await?
        .iter()
        .find(|k| k.code == c.category_code)
        .map(|k| k.sla_hours)
        .unwrap_or(72);
    let mut next = ComplaintChange {
        id: c.id,
        status: to.as_str(),
        is_open: to.is_open(),
        handler_id: c.handler_id,
        duplicate_of: c.duplicate_of,
        due_at: c.due_at,
        resolved_at: c.resolved_at,
        rating: c.rating,
        rating_comment: c.rating_comment.as_deref(),
        rated_at: None,
    };
    let mut detail = serde_json::Map::new();
    match action {
        A::Assign => {
            next.handler_id = extra.handler;
            detail.insert("handler".into(), extra.handler.into());
        }
        A::MarkDuplicate => {
            next.duplicate_of = extra.duplicate_of;
            detail.insert("duplicate_of".into(), extra.duplicate_of.into());
        }
        A::Reopen => {
            next.due_at = now + Duration::hours(sla_hours);
            next.resolved_at = None;
        }
        A::Rate => {
            next.rating = extra.rating.as_ref().map(|r| r.0);
            next.rating_comment = extra.rating.as_ref().map(|r| r.1.as_str());
            next.rated_at = Some(now);
            detail.insert("rating".into(), extra.rating.as_ref().map(|r| r.0).into());
        }
        _ => {}
    }
    if from.is_open() && !to.is_open() {
        next.resolved_at = Some(now);
    }
    let (actor_id, actor_name, audit_actor) = match &by {
        By::Staff(p) => (Some(p.user_id), p.username.clone(), p.actor()),
        By::Citizen => (None, "citizen".to_string(), Actor::anonymous()),
    };
    let public = rules::is_public(action);
    let detail = serde_json::Value::Object(detail);
    let action_row = NewActionRow {
        complaint_id: c.id,
        action: action.as_str(),
        status_before: Some(from.as_str()),
        status_after: to.as_str(),
        actor_id,
        actor: &actor_name,
        public,
        note,
        detail: &detail.to_string(),
    };
    let action_id = rows::insert_action(tx, &action_row, now).await?;
    rows::update(tx, &next, now).await?;
    let after = rows::for_update(tx, c.id).await?.ok_or(Error::NotFound("complaint"))?;
    stats::update(tx, Some(&contribution(&c)), &contribution(&after)).await?;
    let mut audit_detail = serde_json::json!({ "action": action.as_str(), "from": from.as_str(), "to": to.as_str() });
    if let serde_json::Value::Object(extra) = detail {
        audit_detail.as_object_mut().expect("an object").extend(extra);
    }
    let event = Event::new(audit_actor, "complaint.act", "complaint", c.id).detail(audit_detail).source(source);
    audit::append(tx, &state.secrets.audit, event, now).await?;
    if public {
        outbox::enqueue(tx, &state.outbound, &out_event("complaint.changed", &after, action_id, now)).await?;
        let staff_update = matches!(by, By::Staff(_)) && (from != to || action == A::Comment);
        if staff_update && after.notify.is_some() {
            let notice = Notice { complaint_id: c.id, status: to.as_str().into(), note: note.to_string() };
            outbox::enqueue_notice(tx, &format!("notice_{}_{}", c.id, action_id), &notice, now).await?;
        }
    }
    Ok(after)
}

/// What some actions carry besides the note.
#[derive(Debug, Default)]
struct Extra {
    handler: Option<i64>,
    duplicate_of: Option<i64>,
    rating: Option<(i64, String)>,
}

/// A handler's action on a complaint.
pub async fn act(
    state: &AppState,
    who: &Principal,
    source: &str,
    id: i64,
    req: &ComplaintActionRequest,
    now: OffsetDateTime,
) -> Result<ComplaintRow> {
    if rules::is_citizen_action(req.action) {
        return Err(Error::invalid("action", format!("{} is done by the citizen, not by staff", req.action.as_str())));
    }
    let note = rules::check_note(&req.note, rules::needs_note(req.action))?;
    let mut extra = Extra::default();
    let mut tx = state.store.begin().await?;
    let c = rows::for_update(&mut tx, id).await?.ok_or(Error::NotFound("complaint"))?;
    if !may_handle(&state.store, who, &c).await? {
        return Err(Error::Forbidden("this complaint is outside your jurisdiction".into()));
    }
    match req.action {
        A::Assign => {
            let handler = match &req.handler {
                None => who.user_id,
                Some(name) => {
                    let u = state
                        .store
                        .user_by_username(&name.trim().to_lowercase())
                        .await?
                        .filter(|u| !u.disabled)
                        .ok_or_else(|| Error::invalid("handler", "there is no such active account"))?;
                    u.id
                }
            };
            let grants = state.store.grants_of(handler).await?;
            let holder = Principal {
                user_id: handler,
                username: String::new(),
                display_name: String::new(),
                kind: q10_core_api::AccountKind::Person,
                session_id: 0,
                session_kind: crate::auth::SessionKind::Bearer,
                csrf_hash: None,
                grants,
            };
            if !may_handle(&state.store, &holder, &c).await? {
                return Err(Error::invalid("handler", "that account does not handle complaints of this ward"));
            }
            extra.handler = Some(handler);
        }
        A::MarkDuplicate => {
            let Some(original) = req.duplicate_of else {
                return Err(Error::invalid("duplicate_of", "say which complaint this one repeats"));
            };
            let o = state.store.complaint(original).await?;
            match o {
                Some(o) if o.id != c.id && o.status != S::Duplicate.as_str() => extra.duplicate_of = Some(o.id),
                _ => return Err(Error::invalid("duplicate_of", "that is not a complaint this one can repeat")),
            }
        }
        _ => {}
    }
    let after = change(state, &mut tx, c, req.action, By::Staff(who), &note, extra, source, now).await?;
    tx.commit().await?;
    state.outbox_wake.notify_one();
    state.feed.publish(live("complaint.changed", &after, now));
    Ok(after)
}

/// The complaint a tracking code opens.
pub async fn by_code(store: &Store, code: &str) -> Result<ComplaintRow> {
    let code = rules::normalize_tracking_code(code).ok_or(Error::NotFound("complaint"))?;
    store.complaint_by_tracking(&tracking_hash(&code)).await?.ok_or(Error::NotFound("complaint"))
}

/// The citizen reopens, or rates, by tracking code.
pub async fn citizen_act(
    state: &AppState,
    code: &str,
    action: A,
    note: &str,
    rating: Option<(i64, String)>,
    source: &str,
    now: OffsetDateTime,
) -> Result<ComplaintRow> {
    let found = by_code(&state.store, code).await?;
    let mut tx = state.store.begin().await?;
    let c = rows::for_update(&mut tx, found.id).await?.ok_or(Error::NotFound("complaint"))?;
    let status = S::parse(&c.status).unwrap_or(S::Submitted);
    match action {
        A::Reopen if !rules::may_reopen(status, c.resolved_at, now) => {
            return Err(Error::Conflict("a complaint can be reopened within 14 days of being fixed or closed".into()));
        }
        A::Rate if c.rating.is_some() => return Err(Error::Conflict("this complaint is already rated".into())),
        A::Rate if status != S::Closed => return Err(Error::Conflict("a complaint is rated once it is closed".into())),
        A::Reopen | A::Rate => {}
        _ => return Err(Error::invalid("action", "citizens reopen or rate")),
    }
    let extra = Extra { rating, ..Default::default() };
    let after = change(state, &mut tx, c, action, By::Citizen, note, extra, source, now).await?;
    tx.commit().await?;
    state.outbox_wake.notify_one();
    state.feed.publish(live("complaint.changed", &after, now));
    Ok(after)
}
