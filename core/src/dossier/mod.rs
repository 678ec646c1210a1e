//! Online dossiers, the one-stop shop: applying with documents, the officers' processing with
//! hand-offs and working-day deadlines, supplements, refusal, apologies for overdue dossiers,
//! returning the result and the applicant's rating.
//!
//! Every change is one transaction that appends to the dossier's action log, updates its derived
//! status, writes the audit entry and queues the outbound events.

use hmac::{Hmac, Mac};
use q10_core_api::{
    Applicant, DossierAction as A, DossierActionRequest, DossierReceipt, DossierStatus as S, NewDossier,
    RequiredDocument, Role,
};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::feed::LiveEvent;
use crate::http::AppState;
use crate::outbox::{self, OutEvent};
use crate::store::dossiers::{self as rows, DossierChange, DossierRow, NewActionRow, NewDocumentRow, NewDossierRow};
use crate::store::{Store, Tx};

pub mod calendar;
pub mod rules;
pub mod view;

use calendar::Holidays;

/// Who processes dossiers (each in the offices they hold the role for).
pub const STAFF: &[Role] = &[Role::DistrictOfficial, Role::WardOfficial, Role::RegistryClerk];
/// Largest document accepted.
pub const MAX_DOC_BYTES: usize = 10 * 1024 * 1024;
/// Most documents in one upload.
pub const MAX_DOCS: usize = 10;

const APPLICANT_CONTEXT: &str = "dossier.applicant";
const DOCUMENT_CONTEXT: &str = "dossier.document";

/// A document as uploaded: which of the procedure's documents it is, its name and bytes.
#[derive(Debug)]
pub struct Upload {
    pub key: String,
    pub filename: String,
    pub bytes: Vec<u8>,
}

pub fn seal_applicant(key: &SecretSlice<u8>, a: &Applicant) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(a).map_err(|e| Error::Internal(e.into()))?;
    crate::crypto::seal(key, APPLICANT_CONTEXT, &json)
}

pub fn open_applicant(key: &SecretSlice<u8>, sealed: &[u8]) -> Result<Applicant> {
    let json = crate::crypto::open(key, APPLICANT_CONTEXT, sealed)?;
    serde_json::from_slice(&json).map_err(|e| Error::Internal(e.into()))
}

pub fn open_document(key: &SecretSlice<u8>, sealed: &[u8]) -> Result<Vec<u8>> {
    crate::crypto::open(key, DOCUMENT_CONTEXT, sealed)
}

/// The keyed blind index of an ID number: finds a person's dossiers without storing the number
/// in the clear.
pub fn id_index(key: &SecretSlice<u8>, id_number: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret()).expect("HMAC takes keys of any length");
    mac.update(b"cccd-index:");
    mac.update(id_number.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The documents a procedure asks for.
pub fn required_documents(json: &str) -> Result<Vec<RequiredDocument>> {
    serde_json::from_str(json).map_err(|e| Error::Internal(anyhow::anyhow!("procedure documents: {e}")))
}

/// Checks uploads against the procedure's list: known keys, PDF/JPEG/PNG by their bytes, sizes.
/// With `complete`, every required document must be there.
fn check_uploads(uploads: &[Upload], wanted: &[RequiredDocument], complete: bool) -> Result<Vec<&'static str>> {
    if uploads.len() > MAX_DOCS {
        return Err(Error::invalid("documents", format!("send at most {MAX_DOCS} documents at once")));
    }
    let mut types = Vec::with_capacity(uploads.len());
    for u in uploads {
        if !wanted.iter().any(|d| d.key == u.key) {
            return Err(Error::invalid("documents", format!("this procedure asks for no document '{}'", u.key)));
        }
        if u.bytes.len() > MAX_DOC_BYTES {
            return Err(Error::TooLarge);
        }
        let kind = match infer::get(&u.bytes).map(|t| t.mime_type()) {
            Some("application/pdf") => "application/pdf",
            Some("image/jpeg") => "image/jpeg",
            Some("image/png") => "image/png",
            _ => {
                return Err(Error::UnsupportedMediaType(format!(
                    "document '{}' is not a PDF, JPEG or PNG file",
                    u.key
                )));
            }
        };
        types.push(kind);
    }
    if complete {
        for d in wanted.iter().filter(|d| d.required) {
            if !uploads.iter().any(|u| u.key == d.key) {
                return Err(Error::invalid(
                    "documents",
                    format!("the document '{}' ({}) is required", d.key, d.name_vi),
                ));
            }
        }
    }
    Ok(types)
}

async fn store_uploads(
    state: &AppState,
    tx: &mut Tx,
    dossier: i64,
    uploads: &[Upload],
    types: &[&str],
    now: OffsetDateTime,
) -> Result<()> {
    for (u, content_type) in uploads.iter().zip(types) {
        let id = {
            use rand::Rng;
            hex::encode(rand::rng().random::<[u8; 16]>())
        };
        let sealed = crate::crypto::seal(&state.secrets.data_encryption, DOCUMENT_CONTEXT, &u.bytes)?;
        let row = NewDocumentRow {
            id: &id,
            dossier_id: dossier,
            key: &u.key,
            filename: &rules::clean_filename(&u.filename),
            content_type,
            size: i64::try_from(u.bytes.len()).expect("a document's size fits i64"),
            sha256: &hex::encode(Sha256::digest(&u.bytes)),
            sealed: &sealed,
        };
        rows::insert_document(tx, &row, now).await?;
    }
    Ok(())
}

/// Applies for a procedure.
pub async fn apply(
    state: &AppState,
    new: &NewDossier,
    uploads: Vec<Upload>,
    source: &'static str,
    client: &str,
    now: OffsetDateTime,
) -> Result<DossierReceipt> {
    let procedure = state
        .store
        .procedures()
        .await?
        .into_iter()
        .find(|p| p.code == new.procedure.trim())
        .ok_or_else(|| Error::invalid("procedure", format!("there is no procedure '{}'", new.procedure.trim())))?;
    let today = calendar::local_date(now);
    let ward = state
        .store
        .jurisdiction_at(new.ward.trim(), today)
        .await?
        .filter(|w| w.kind == "ward")
        .ok_or_else(|| Error::invalid("ward", format!("no ward has the code '{}'", new.ward.trim())))?;
    let office_id = match procedure.office.as_str() {
        "district" => {
            ward.parent_id.ok_or_else(|| Error::Internal(anyhow::anyhow!("ward {} has no district", ward.code)))?
        }
        _ => ward.id,
    };
    let applicant = rules::check_applicant(&new.applicant)?;
    let note = rules::check_note(&new.note, false)?;
    let wanted = required_documents(&procedure.documents)?;
    let types = check_uploads(&uploads, &wanted, true)?;
    let holidays = Holidays::around(&state.store, today, procedure.working_days).await?;
    let due_at = calendar::deadline(now, procedure.working_days, &holidays);
    let sealed = seal_applicant(&state.secrets.data_encryption, &applicant)?;
    let index = id_index(&state.secrets.data_encryption, &applicant.id_number);
    let code = rules::new_code();
    let status = rules::transition(None, A::Submit).map_err(Error::Conflict)?;

    let mut tx = state.store.begin().await?;
    let row = NewDossierRow {
        code: &code,
        procedure: &procedure.code,
        ward_id: ward.id,
        office_id,
        applicant: &sealed,
        id_index: &index,
        status: status.as_str(),
        source,
        fee: procedure.fee,
        due_at,
    };
    let id = rows::insert(&mut tx, &row, now).await?;
    store_uploads(state, &mut tx, id, &uploads, &types, now).await?;
    let detail = serde_json::json!({ "documents": uploads.iter().map(|u| &u.key).collect::<Vec<_>>() });
    let action = NewActionRow {
        dossier_id: id,
        action: A::Submit.as_str(),
        status_before: None,
        status_after: status.as_str(),
        actor_id: None,
        actor: "applicant",
        public: true,
        note: &note,
        detail: &detail.to_string(),
        step_due_at: None,
    };
    let action_id = rows::insert_action(&mut tx, &action, now).await?;
    let d = rows::for_update(&mut tx, id).await?.ok_or(Error::NotFound("dossier"))?;
    let event = Event::new(Actor::anonymous(), "dossier.submit", "dossier", id)
        .detail(serde_json::json!({ "procedure": procedure.code, "ward": ward.code, "source": source, "documents": uploads.len() }))
        .source(client);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    outbox::enqueue(&mut tx, &state.outbound, &out_event("dossier.created", &d, action_id, now)).await?;
    tx.commit().await?;
    state.outbox_wake.notify_one();
    state.feed.publish(live("dossier.created", &d, now));
    Ok(DossierReceipt {
        id,
        code,
        status,
        procedure: procedure.code,
        ward: ward.code,
        received_at: now,
        due_at,
        fee: procedure.fee,
    })
}

fn live(kind: &'static str, d: &DossierRow, at: OffsetDateTime) -> LiveEvent {
    LiveEvent {
        kind,
        id: d.id,
        status: d.status.clone(),
        category: Some(d.procedure_code.clone()),
        ward: Some(d.ward_code.clone()),
        at,
    }
}

/// The event sent to subscribers: no personal data.
fn out_event(kind: &str, d: &DossierRow, action_id: i64, now: OffsetDateTime) -> OutEvent {
    let rfc = |t: OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).ok();
    OutEvent {
        id: format!("evt_dossier_{}_{}", d.id, action_id),
        kind: kind.to_string(),
        timestamp: now,
        data: serde_json::json!({
            "code": d.code,
            "procedure": d.procedure_code,
            "ward": d.ward_code,
            "status": d.status,
            "received_at": rfc(d.received_at),
            "due_at": rfc(d.due_at),
            "fee": d.fee,
            "fee_paid": d.fee_paid,
        }),
    }
}

/// Whether `who` processes dossiers of this dossier's office.
pub async fn may_handle(store: &Store, who: &Principal, d: &DossierRow) -> Result<bool> {
    who.may_act_on(store, STAFF, d.office_id).await
}

/// Who acts.
pub(crate) enum By<'a> {
    Staff(&'a Principal),
    Applicant,
}

/// What some actions carry besides the note.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    handler: Option<i64>,
    step_due: Option<OffsetDateTime>,
    new_due: Option<OffsetDateTime>,
    rating: Option<(i64, String)>,
    documents: Vec<String>,
}

/// One change inside `tx`: checks the transition, appends the action, updates the row, the
/// audit log and the outbox. Returns the updated row.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn change(
    state: &AppState,
    tx: &mut Tx,
    d: DossierRow,
    action: A,
    by: By<'_>,
    note: &str,
    extra: Extra,
    source: &str,
    now: OffsetDateTime,
) -> Result<DossierRow> {
    let from = S::parse(&d.status).ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown status {}", d.status)))?;
    let to = rules::transition(Some(from), action).map_err(Error::Conflict)?;
    let mut next = DossierChange {
        id: d.id,
        status: to.as_str().to_string(),
        is_open: to.is_open(),
        handler_id: d.handler_id,
        due_at: d.due_at,
        step_due_at: d.step_due_at,
        result_at: d.result_at,
        closed_at: d.closed_at,
        on_time: d.on_time,
        apologies: d.apologies,
        rating: d.rating.map(|r| (r, d.rating_comment.clone().unwrap_or_default())),
    };
    let mut detail = serde_json::Map::new();
    match action {
        A::Accept => next.handler_id = extra.handler,
        A::HandOff => {
            next.handler_id = extra.handler;
            next.step_due_at = extra.step_due;
            detail.insert("handler".into(), extra.handler.into());
        }
        A::Supplement => {
            // The clock starts again from the day the dossier is complete.
            let days = state
                .store
                .procedures()
                .await?
                .iter()
                .find(|p| p.code == d.procedure_code)
                .map(|p| p.working_days)
                .unwrap_or(0);
            let holidays = Holidays::around(&state.store, calendar::local_date(now), days).await?;
            next.due_at = calendar::deadline(now, days, &holidays);
            detail.insert("documents".into(), extra.documents.clone().into());
        }
        A::ResultReady => {
            next.result_at = Some(now);
            next.step_due_at = None;
        }
        A::Apologize => {
            let new_due = extra.new_due.ok_or_else(|| Error::invalid("new_due", "give the new appointment date"))?;
            detail.insert("previous_due".into(), d.due_at.unix_timestamp().into());
            next.due_at = new_due;
            next.apologies += 1;
        }
        A::Rate => {
            detail.insert("rating".into(), extra.rating.as_ref().map(|r| r.0).into());
            next.rating = extra.rating;
        }
        _ => {}
    }
    if from.is_open() && !to.is_open() {
        next.closed_at = Some(now);
        next.step_due_at = None;
        if to == S::Returned {
            next.on_time = Some(d.result_at.unwrap_or(now) <= d.due_at);
        }
    }
    let (actor_id, actor_name, audit_actor) = match &by {
        By::Staff(p) => (Some(p.user_id), p.username.clone(), p.actor()),
        By::Applicant => (None, "applicant".to_string(), Actor::anonymous()),
    };
    let public = rules::is_public(action);
    let detail = serde_json::Value::Object(detail);
    let action_row = NewActionRow {
        dossier_id: d.id,
        action: action.as_str(),
        status_before: Some(from.as_str()),
        status_after: to.as_str(),
        actor_id,
        actor: &actor_name,
        public,
        note,
        detail: &detail.to_string(),
        step_due_at: extra.step_due,
    };
    let action_id = rows::insert_action(tx, &action_row, now).await?;
    rows::update(tx, &next, now).await?;
    let after = rows::for_update(tx, d.id).await?.ok_or(Error::NotFound("dossier"))?;
    let mut audit_detail = serde_json::json!({ "action": action.as_str(), "from": from.as_str(), "to": to.as_str() });
    if let serde_json::Value::Object(extra) = detail {
        audit_detail.as_object_mut().expect("an object").extend(extra);
    }
    let event = Event::new(audit_actor, "dossier.act", "dossier", d.id).detail(audit_detail).source(source);
    audit::append(tx, &state.secrets.audit, event, now).await?;
    if public {
        outbox::enqueue(tx, &state.outbound, &out_event("dossier.changed", &after, action_id, now)).await?;
    }
    Ok(after)
}

/// An officer's action.
pub async fn act(
    state: &AppState,
    who: &Principal,
    source: &str,
    id: i64,
    req: &DossierActionRequest,
    now: OffsetDateTime,
) -> Result<DossierRow> {
    if rules::is_applicant_action(req.action) {
        return Err(Error::invalid("action", format!("{} is done by the applicant", req.action.as_str())));
    }
    let note = rules::check_note(&req.note, rules::needs_note(req.action))?;
    let mut extra = Extra::default();
    let mut tx = state.store.begin().await?;
    let d = rows::for_update(&mut tx, id).await?.ok_or(Error::NotFound("dossier"))?;
    if !may_handle(&state.store, who, &d).await? {
        return Err(Error::Forbidden("this dossier is outside your jurisdiction".into()));
    }
    match req.action {
        A::Accept => extra.handler = Some(who.user_id),
        A::HandOff => {
            let name = req.handler.as_deref().map(|h| h.trim().to_lowercase()).unwrap_or_default();
            let u = state
                .store
                .user_by_username(&name)
                .await?
                .filter(|u| !u.disabled)
                .ok_or_else(|| Error::invalid("handler", "name the officer who takes the dossier next"))?;
            let grants = state.store.grants_of(u.id).await?;
            let holder = Principal { user_id: u.id, grants, ..who.clone() };
            if !may_handle(&state.store, &holder, &d).await? {
                return Err(Error::invalid("handler", "that account does not process dossiers of this office"));
            }
            let days =
                req.step_days.ok_or_else(|| Error::invalid("step_days", "give the working days this step may take"))?;
            if !(0..=60).contains(&days) {
                return Err(Error::invalid("step_days", "a step takes 0 to 60 working days"));
            }
            let holidays = Holidays::around(&state.store, calendar::local_date(now), days).await?;
            extra.handler = Some(u.id);
            extra.step_due = Some(calendar::deadline(now, days, &holidays));
        }
        A::Return if !d.fee_paid => {
            return Err(Error::Conflict(format!("the fee of {} VND is not paid yet", d.fee)));
        }
        A::Apologize => {
            if d.due_at >= now {
                return Err(Error::Conflict("only an overdue dossier gets an apology and a new date".into()));
            }
            let new_due = req.new_due.ok_or_else(|| Error::invalid("new_due", "give the new appointment date"))?;
            let at = calendar::end_of(new_due);
            if at <= now || at > now + Duration::days(366) {
                return Err(Error::invalid("new_due", "the new date must be after today and within a year"));
            }
            extra.new_due = Some(at);
        }
        _ => {}
    }
    let after = change(state, &mut tx, d, req.action, By::Staff(who), &note, extra, source, now).await?;
    tx.commit().await?;
    state.outbox_wake.notify_one();
    state.feed.publish(live("dossier.changed", &after, now));
    Ok(after)
}

/// The dossier a code opens.
pub async fn by_code(store: &Store, code: &str) -> Result<DossierRow> {
    let code = rules::normalize_code(code).ok_or(Error::NotFound("dossier"))?;
    store.dossier_by_code(&code).await?.ok_or(Error::NotFound("dossier"))
}

/// The applicant sends the documents asked for.
pub async fn supplement(
    state: &AppState,
    code: &str,
    note: &str,
    uploads: Vec<Upload>,
    source: &str,
    now: OffsetDateTime,
) -> Result<DossierRow> {
    let found = by_code(&state.store, code).await?;
    let note = rules::check_note(note, false)?;
    if uploads.is_empty() {
        return Err(Error::invalid("documents", "send the documents the office asked for"));
    }
    let wanted = required_documents(&found.procedure_documents)?;
    let types = check_uploads(&uploads, &wanted, false)?;
    let mut tx = state.store.begin().await?;
    let d = rows::for_update(&mut tx, found.id).await?.ok_or(Error::NotFound("dossier"))?;
    store_uploads(state, &mut tx, d.id, &uploads, &types, now).await?;
    let extra = Extra { documents: uploads.iter().map(|u| u.key.clone()).collect(), ..Default::default() };
    let after = change(state, &mut tx, d, A::Supplement, By::Applicant, &note, extra, source, now).await?;
    tx.commit().await?;
    state.outbox_wake.notify_one();
    state.feed.publish(live("dossier.changed", &after, now));
    Ok(after)
}

/// The applicant rates the service, once, after the result is returned.
pub async fn rate(
    state: &AppState,
    code: &str,
    rating: i64,
    comment: &str,
    source: &str,
    now: OffsetDateTime,
) -> Result<DossierRow> {
    if !(1..=5).contains(&rating) {
        return Err(Error::invalid("rating", "a rating is 1 to 5"));
    }
    let comment = rules::check_note(comment, false)?;
    let found = by_code(&state.store, code).await?;
    let mut tx = state.store.begin().await?;
    let d = rows::for_update(&mut tx, found.id).await?.ok_or(Error::NotFound("dossier"))?;
    if d.rating.is_some() {
        return Err(Error::Conflict("this dossier is already rated".into()));
    }
    let extra = Extra { rating: Some((rating, comment.clone())), ..Default::default() };
    let after = change(state, &mut tx, d, A::Rate, By::Applicant, &comment, extra, source, now).await?;
    tx.commit().await?;
    state.feed.publish(live("dossier.changed", &after, now));
    Ok(after)
}
