//! Certified extracts: what the extract shows is stored with the server's signature over it; its
//! QR code carries a link to the public page that confirms it is genuine, showing no more than
//! the extract itself.

use hmac::{Hmac, Mac};
use q10_core_api::{Extract, RecordAction as A, RecordKind};
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::{all_fields, fields, kind_of, may_write, transition};
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::store::registry::{self as rows, ExtractRow, NewActionRow};

fn sign(state: &AppState, id: &str, issued_at: OffsetDateTime, content: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(state.secrets.token_signing.expose_secret())
        .expect("HMAC takes keys of any length");
    mac.update(b"q10-extract:");
    mac.update(id.as_bytes());
    mac.update(b"|");
    mac.update(&issued_at.unix_timestamp().to_be_bytes());
    mac.update(b"|");
    mac.update(content.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The verification link: the extract's id and the first 16 hex digits of its signature.
pub fn verify_url(state: &AppState, e: &ExtractRow) -> String {
    format!("{}/verify/{}.{}", state.payments.public_url, e.id, &e.mac[..16])
}

fn qr_svg(text: &str) -> Result<String> {
    Ok(qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::Internal(anyhow::anyhow!("QR code: {e}")))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(180, 180)
        .quiet_zone(true)
        .build())
}

pub fn view(state: &AppState, e: &ExtractRow) -> Result<Extract> {
    let content: Value = serde_json::from_str(&e.content).map_err(|err| Error::Internal(err.into()))?;
    let kind = content.get("kind").and_then(|k| k.as_str()).map(kind_of).transpose()?.unwrap_or(RecordKind::Birth);
    let url = verify_url(state, e);
    Ok(Extract {
        id: e.id.clone(),
        record_id: e.record_id,
        kind,
        content,
        issued_at: e.issued_at,
        issued_by: e.issued_by.clone(),
        qr_svg: qr_svg(&url)?,
        verify_url: url,
    })
}

/// Issues a certified extract of a registered record.
pub async fn issue(
    state: &AppState,
    who: &Principal,
    record: i64,
    source: &str,
    now: OffsetDateTime,
) -> Result<ExtractRow> {
    let mut tx = state.store.begin().await?;
    let r = rows::for_update(&mut tx, record).await?.ok_or(Error::NotFound("record"))?;
    if !may_write(&state.store, who, r.jurisdiction_id).await? {
        return Err(Error::Forbidden(format!("you do not keep the books of {}", r.unit)));
    }
    let kind = kind_of(&r.kind)?;
    let from = q10_core_api::RecordStatus::parse(&r.status).unwrap_or(q10_core_api::RecordStatus::Draft);
    let to = transition(Some(from), A::Certify).map_err(Error::Conflict)?;
    let shown = fields::masked(kind, all_fields(state, &r)?);
    let content = serde_json::json!({
        "kind": r.kind,
        "unit": r.unit,
        "unit_name": r.unit_name,
        "volume": r.volume,
        "page": r.page,
        "entry": r.entry,
        "registered_on": r.registered_on,
        "fields": shown,
    })
    .to_string();
    let id = {
        use rand::Rng;
        hex::encode(rand::rng().random::<[u8; 16]>())
    };
    let e = ExtractRow {
        mac: sign(state, &id, now, &content),
        id,
        record_id: r.id,
        content,
        issued_by: who.display_name.clone(),
        issued_at: now,
    };
    rows::insert_extract(&mut tx, &e).await?;
    let fields_json = r.fields.clone();
    let change = rows::RecordChange {
        id: r.id,
        status: to.as_str(),
        fields: &fields_json,
        ids: r.ids.as_deref(),
        name_key: &r.name_key,
        parents_key: &r.parents_key,
        place_key: &r.place_key,
        event_date: r.event_date.as_deref(),
        assignee_id: r.assignee_id,
        duplicate_of: r.duplicate_of,
    };
    rows::update(&mut tx, &change, now).await?;
    let action = NewActionRow {
        record_id: r.id,
        action: A::Certify.as_str().into(),
        status_before: Some(from.as_str().into()),
        status_after: to.as_str().into(),
        actor_id: Some(who.user_id),
        actor: who.username.clone(),
        reason: format!("extract {}", &e.id[..8]),
        document_ref: None,
        note_kind: None,
        before: None,
        after: None,
    };
    rows::insert_actions(&mut tx, &[action], now).await?;
    let event = Event::new(who.actor(), "registry.extract.issue", "civil_record", r.id)
        .detail(serde_json::json!({ "extract": e.id }))
        .source(source);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    Ok(e)
}

/// The extract a verification token names, if the token and the stored signature both check.
pub async fn verify(state: &AppState, token: &str) -> Result<Option<ExtractRow>> {
    let Some((id, short)) = token.split_once('.') else { return Ok(None) };
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) || short.len() != 16 {
        return Ok(None);
    }
    let Some(e) = state.store.civil_extract(id).await? else { return Ok(None) };
    let want = sign(state, &e.id, e.issued_at, &e.content);
    let stored_ok = bool::from(want.as_bytes().ct_eq(e.mac.as_bytes()));
    let link_ok = bool::from(want.as_bytes()[..16].ct_eq(short.to_ascii_lowercase().as_bytes()));
    Ok((stored_ok && link_ok).then_some(e))
}
