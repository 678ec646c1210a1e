//! The civil-status registry: books and their records of births, marriages, deaths and
//! recognitions, kept as an append-only history of actions (OpenCRVS's model): draft → declared
//! → registered, then certified, corrected, annotated, archived. Registered facts are never
//! overwritten: a correction is an action with its reason, its supporting document and the
//! officer, and keeps the values it replaced.
//!
//! ID numbers are sealed at rest with a keyed blind index for exact lookup, and shown in full
//! only to the registry clerks of the record's unit. Every view of a full record is audited.

use q10_core_api::{
    Book, CivilRecord, NewBook, NewRecord, RecordAction as A, RecordActionRequest, RecordHistoryEntry, RecordKind,
    RecordStatus as S, Role,
};
use secrecy::SecretSlice;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::outbox::{self, OutEvent};
use crate::store::Store;
use crate::store::registry::{self as rows, BookRow, NewActionRow, NewRecordRow, RecordChange, RecordRow};

pub mod extract;
pub mod fields;
pub mod import;
pub mod search;

/// Who keeps the books: creates, registers, corrects, certifies.
pub const CLERKS: &[Role] = &[Role::RegistryClerk];
/// Who may search and read records (ID numbers masked unless a clerk of the unit).
pub const READERS: &[Role] = &[Role::RegistryClerk, Role::DistrictOfficial, Role::WardOfficial];

const IDS_CONTEXT: &str = "registry.ids";

/// The status an action leads to from `from` (`None`: not yet a record).
pub fn transition(from: Option<S>, action: A) -> std::result::Result<S, String> {
    use S::*;
    let to = match (from, action) {
        (None, A::Create) => Draft,
        (None, A::Import) => Registered,
        (None, _) | (Some(_), A::Create | A::Import) => return Err("not an action on an existing record".into()),
        (Some(Archived), a) => return Err(format!("an archived record cannot take the action {}", a.as_str())),
        (Some(s), A::Assign) => s,
        (Some(s @ (Draft | Declared)), A::Update) => s,
        (Some(Draft), A::Declare) => Declared,
        (Some(Declared), A::Register) => Registered,
        (Some(Registered | Certified | Corrected), A::Correct) => Corrected,
        (Some(s @ (Registered | Certified | Corrected)), A::Annotate) => s,
        (Some(Registered | Certified | Corrected), A::Certify) => Certified,
        (Some(_), A::Archive) => Archived,
        (Some(s), a) => return Err(format!("a record that is {} cannot take the action {}", s.as_str(), a.as_str())),
    };
    Ok(to)
}

/// Actions only the clerk holding the record takes.
fn needs_assignment(a: A) -> bool {
    matches!(a, A::Update | A::Declare | A::Register | A::Correct | A::Annotate)
}

pub fn kind_of(s: &str) -> Result<RecordKind> {
    RecordKind::parse(s).ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown record kind {s}")))
}

fn status_of(r: &RecordRow) -> Result<S> {
    S::parse(&r.status).ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown record status {}", r.status)))
}

/// Splits checked fields into those kept in the clear and the ID numbers (sealed).
pub(crate) fn split_ids(kind: RecordKind, mut f: Map<String, Value>) -> (Map<String, Value>, Map<String, Value>) {
    let mut ids = Map::new();
    for field in fields::id_fields(kind) {
        if let Some(v) = f.remove(field) {
            ids.insert(field.to_string(), v);
        }
    }
    (f, ids)
}

pub(crate) fn seal_ids(key: &SecretSlice<u8>, ids: &Map<String, Value>) -> Result<Option<Vec<u8>>> {
    if ids.is_empty() {
        return Ok(None);
    }
    let json = serde_json::to_vec(ids).map_err(|e| Error::Internal(e.into()))?;
    crate::crypto::seal(key, IDS_CONTEXT, &json).map(Some)
}

pub(crate) fn open_ids(key: &SecretSlice<u8>, sealed: Option<&[u8]>) -> Result<Map<String, Value>> {
    match sealed {
        None => Ok(Map::new()),
        Some(s) => {
            let json = crate::crypto::open(key, IDS_CONTEXT, s)?;
            serde_json::from_slice(&json).map_err(|e| Error::Internal(e.into()))
        }
    }
}

/// A record's whole fields, ID numbers included.
pub(crate) fn all_fields(state: &AppState, r: &RecordRow) -> Result<Map<String, Value>> {
    let mut f: Map<String, Value> = serde_json::from_str(&r.fields).map_err(|e| Error::Internal(e.into()))?;
    f.extend(open_ids(&state.secrets.data_encryption, r.ids.as_deref())?);
    Ok(f)
}

/// The words and ID indexes of a record, for the batch index statements.
pub(crate) fn index_of(
    key: &SecretSlice<u8>,
    record: i64,
    k: &fields::Keys,
    ids: &Map<String, Value>,
    tokens: &mut Vec<(String, &'static str, i64)>,
    indexes: &mut Vec<(String, i64, &'static str)>,
    kind: RecordKind,
) {
    tokens.extend(fields::tokens(k).into_iter().map(|(w, role)| (w, role, record)));
    for field in fields::id_fields(kind) {
        if let Some(Value::String(n)) = ids.get(field) {
            indexes.push((crate::dossier::id_index(key, n), record, field));
        }
    }
}

pub async fn may_read(store: &Store, who: &Principal, unit: i64) -> Result<bool> {
    who.may_act_on(store, READERS, unit).await
}

pub async fn may_write(store: &Store, who: &Principal, unit: i64) -> Result<bool> {
    who.may_act_on(store, CLERKS, unit).await
}

pub fn book_view(b: BookRow) -> Result<Book> {
    Ok(Book {
        id: b.id,
        kind: kind_of(&b.kind)?,
        volume: b.volume,
        year: i32::try_from(b.year).unwrap_or_default(),
        unit: b.unit,
        unit_name: b.unit_name,
        records: b.records,
    })
}

/// Opens a book in a unit the clerk keeps.
pub async fn open_book(
    state: &AppState,
    who: &Principal,
    new: &NewBook,
    source: &str,
    now: OffsetDateTime,
) -> Result<BookRow> {
    let volume = new.volume.trim();
    if volume.is_empty() || volume.chars().count() > 40 || volume.chars().any(char::is_control) {
        return Err(Error::invalid("volume", "a volume is 1 to 40 characters"));
    }
    let today = crate::dossier::calendar::local_date(now);
    if !(1900..=today.year()).contains(&new.year) {
        return Err(Error::invalid("year", "a book's year is from 1900 to this year"));
    }
    let unit = state
        .store
        .jurisdiction_at(new.unit.trim(), today)
        .await?
        .ok_or_else(|| Error::invalid("unit", format!("no unit has the code '{}'", new.unit.trim())))?;
    if !may_write(&state.store, who, unit.id).await? {
        return Err(Error::Forbidden(format!("you do not keep the books of {}", unit.code)));
    }
    let id = state
        .store
        .insert_registry_book(new.kind.as_str(), volume, i64::from(new.year), unit.id, now)
        .await?
        .ok_or_else(|| Error::Conflict(format!("{} already has a {} book {volume}", unit.code, new.kind.as_str())))?;
    let mut tx = state.store.begin().await?;
    let event = Event::new(who.actor(), "registry.book.open", "registry_book", id)
        .detail(serde_json::json!({ "kind": new.kind.as_str(), "volume": volume, "unit": unit.code }))
        .source(source);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    state.store.registry_book(id).await?.ok_or(Error::NotFound("book"))
}

/// A book the caller keeps.
pub async fn kept_book(state: &AppState, who: &Principal, id: i64) -> Result<(BookRow, RecordKind)> {
    let book = state.store.registry_book(id).await?.ok_or(Error::NotFound("book"))?;
    if !may_write(&state.store, who, book.jurisdiction_id).await? {
        return Err(Error::Forbidden(format!("you do not keep the books of {}", book.unit)));
    }
    let kind = kind_of(&book.kind)?;
    Ok((book, kind))
}

fn invalid_fields(problems: Vec<String>) -> Error {
    Error::invalid("fields", problems.join("; "))
}

/// Creates a draft record in a book; the clerk holds it.
pub async fn create(
    state: &AppState,
    who: &Principal,
    new: &NewRecord,
    source: &str,
    now: OffsetDateTime,
) -> Result<RecordRow> {
    let (book, kind) = kept_book(state, who, new.book_id).await?;
    let today = crate::dossier::calendar::local_date(now);
    if new.page < 1 || new.entry < 1 {
        return Err(Error::invalid("entry", "pages and entries are numbered from 1"));
    }
    fields::check_value("registered_on", fields::Type::Date, &new.registered_on, today)
        .map_err(|e| Error::invalid("registered_on", e))?;
    let given = new.fields.as_object().ok_or_else(|| Error::invalid("fields", "fields is an object"))?;
    let checked = fields::check_all(kind, given, today).map_err(invalid_fields)?;
    let k = fields::keys(kind, &checked);
    let (clear, ids) = split_ids(kind, checked);
    let sealed = seal_ids(&state.secrets.data_encryption, &ids)?;
    let status = transition(None, A::Create).map_err(Error::Conflict)?;
    let row = NewRecordRow {
        kind: kind.as_str().into(),
        book_id: book.id,
        page: new.page,
        entry: new.entry,
        registered_on: new.registered_on.trim().into(),
        status: status.as_str().into(),
        fields: Value::Object(clear).to_string(),
        ids: sealed.as_deref().map(hex::encode),
        name_key: k.name.clone(),
        parents_key: k.parents.clone(),
        place_key: k.place.clone(),
        event_date: k.event_date.clone(),
        assignee_id: Some(who.user_id),
        row_hash: None,
    };
    let mut tx = state.store.begin().await?;
    let taken = rows::book_entries(&mut tx, book.id).await?;
    if taken.iter().any(|(e, _)| *e == new.entry) {
        return Err(Error::Conflict(format!("entry {} of this book is taken", new.entry)));
    }
    let id = rows::insert_records(&mut tx, &[row], now).await?.first().map(|r| r.1).ok_or(Error::NotFound("record"))?;
    let (mut tokens, mut indexes) = (Vec::new(), Vec::new());
    index_of(&state.secrets.data_encryption, id, &k, &ids, &mut tokens, &mut indexes, kind);
    rows::insert_index(&mut tx, &tokens, &indexes).await?;
    let action = NewActionRow {
        record_id: id,
        action: A::Create.as_str().into(),
        status_before: None,
        status_after: status.as_str().into(),
        actor_id: Some(who.user_id),
        actor: who.username.clone(),
        reason: String::new(),
        document_ref: None,
        note_kind: None,
        before: None,
        after: None,
    };
    rows::insert_actions(&mut tx, &[action], now).await?;
    let event = Event::new(who.actor(), "registry.record.create", "civil_record", id)
        .detail(serde_json::json!({ "book": book.id, "entry": new.entry }))
        .source(source);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    state.store.civil_record(id).await?.ok_or(Error::NotFound("record"))
}

/// The event the city's shared registry receives when a record is registered (shaped after DCI
/// CRVS): the facts of the record, never its ID numbers.
pub(crate) fn registered_event(
    r: &RecordRow,
    clear: &Map<String, Value>,
    action_id: &str,
    now: OffsetDateTime,
) -> OutEvent {
    OutEvent {
        id: format!("evt_civil_{}_{action_id}", r.id),
        kind: "civil_record.registered".into(),
        timestamp: now,
        data: serde_json::json!({
            "record": {
                "identifier": format!("q10:{}:{}", r.unit, r.id),
                "registration_type": r.kind,
                "registration_date": r.registered_on,
                "registration_place": { "code": r.unit, "name": r.unit_name },
                "book": { "volume": r.volume, "page": r.page, "entry": r.entry },
                "event_date": r.event_date,
                "status": r.status,
                "facts": clear,
            }
        }),
    }
}

/// Fields changed by an edit: `(before, after)`, ID numbers masked.
fn diff(
    kind: RecordKind,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> (Map<String, Value>, Map<String, Value>) {
    let mut before = Map::new();
    let mut after = Map::new();
    for (name, _, _) in fields::of(kind) {
        let (a, b) = (old.get(*name), new.get(*name));
        if a != b {
            before.insert((*name).to_string(), a.cloned().unwrap_or(Value::Null));
            after.insert((*name).to_string(), b.cloned().unwrap_or(Value::Null));
        }
    }
    (fields::masked(kind, before), fields::masked(kind, after))
}

fn required_text(field: &'static str, v: Option<&str>, what: &str) -> Result<String> {
    let v = v.map(str::trim).unwrap_or("");
    if v.is_empty() || v.chars().count() > 500 || v.chars().any(char::is_control) {
        return Err(Error::invalid(field, format!("give {what} (up to 500 characters)")));
    }
    Ok(v.to_string())
}

/// A clerk's action on a record.
pub async fn act(
    state: &AppState,
    who: &Principal,
    id: i64,
    req: &RecordActionRequest,
    source: &str,
    now: OffsetDateTime,
) -> Result<RecordRow> {
    if matches!(req.action, A::Create | A::Import | A::Certify) {
        return Err(Error::invalid("action", "create records with POST /records, import them, or issue an extract"));
    }
    let today = crate::dossier::calendar::local_date(now);
    let mut tx = state.store.begin().await?;
    let r = rows::for_update(&mut tx, id).await?.ok_or(Error::NotFound("record"))?;
    if !may_write(&state.store, who, r.jurisdiction_id).await? {
        return Err(Error::Forbidden(format!("you do not keep the books of {}", r.unit)));
    }
    let kind = kind_of(&r.kind)?;
    let from = status_of(&r)?;
    let to = transition(Some(from), req.action).map_err(Error::Conflict)?;
    if needs_assignment(req.action) && r.assignee_id != Some(who.user_id) {
        return Err(Error::Conflict("assign the record to yourself before changing it".into()));
    }
    let old = all_fields(state, &r)?;
    let mut new = old.clone();
    let mut reason = req.reason.trim().to_string();
    let mut document_ref = None;
    let mut note_kind = None;
    let mut assignee = r.assignee_id;
    let mut duplicate_of = r.duplicate_of;
    match req.action {
        A::Assign => assignee = Some(who.user_id),
        A::Update | A::Correct => {
            let changes = req.fields.as_ref().and_then(|f| f.as_object()).filter(|f| !f.is_empty());
            let changes = changes.ok_or_else(|| Error::invalid("fields", "say which fields change"))?;
            for (k, v) in changes {
                new.insert(k.clone(), v.clone());
            }
            new = fields::check_all(kind, &new, today).map_err(invalid_fields)?;
            if req.action == A::Correct {
                reason = required_text("reason", Some(&req.reason), "the reason for the correction")?;
                document_ref =
                    Some(required_text("document_ref", req.document_ref.as_deref(), "the supporting document")?);
            }
        }
        A::Annotate => {
            let k = req.note_kind.as_deref().unwrap_or("");
            if !["change_of_name", "divorce", "court_decision", "other"].contains(&k) {
                return Err(Error::invalid("note_kind", "change_of_name, divorce, court_decision or other"));
            }
            note_kind = Some(k.to_string());
            reason = required_text("reason", Some(&req.reason), "what changed")?;
            document_ref = Some(required_text("document_ref", req.document_ref.as_deref(), "the supporting document")?);
        }
        A::Archive => reason = required_text("reason", Some(&req.reason), "why it is archived")?,
        _ => {}
    }
    if reason.chars().count() > 500 {
        return Err(Error::invalid("reason", "a reason is at most 500 characters"));
    }
    let k = fields::keys(kind, &new);
    let (before, after) = diff(kind, &old, &new);
    let (clear, ids) = split_ids(kind, new);
    let sealed = seal_ids(&state.secrets.data_encryption, &ids)?;
    let changed = !after.is_empty();
    if matches!(req.action, A::Update | A::Correct) && !changed {
        return Err(Error::invalid("fields", "the values given are the record's already"));
    }
    let mut probe = r.clone();
    (probe.name_key, probe.parents_key, probe.place_key, probe.event_date) =
        (k.name.clone(), k.parents.clone(), k.place.clone(), k.event_date.clone());
    if req.action == A::Declare {
        duplicate_of = rows::same_facts(&mut tx, &probe).await?;
    }
    let fields_json = Value::Object(clear.clone()).to_string();
    let change = RecordChange {
        id,
        status: to.as_str(),
        fields: &fields_json,
        ids: sealed.as_deref(),
        name_key: &k.name,
        parents_key: &k.parents,
        place_key: &k.place,
        event_date: k.event_date.as_deref(),
        assignee_id: assignee,
        duplicate_of,
    };
    rows::update(&mut tx, &change, now).await?;
    if changed {
        rows::clear_index(&mut tx, id).await?;
        let (mut tokens, mut indexes) = (Vec::new(), Vec::new());
        index_of(&state.secrets.data_encryption, id, &k, &ids, &mut tokens, &mut indexes, kind);
        rows::insert_index(&mut tx, &tokens, &indexes).await?;
    }
    let action = NewActionRow {
        record_id: id,
        action: req.action.as_str().into(),
        status_before: Some(from.as_str().into()),
        status_after: to.as_str().into(),
        actor_id: Some(who.user_id),
        actor: who.username.clone(),
        reason,
        document_ref,
        note_kind,
        before: changed.then(|| Value::Object(before).to_string()),
        after: changed.then(|| Value::Object(after.clone()).to_string()),
    };
    rows::insert_actions(&mut tx, &[action], now).await?;
    let changed_fields: Vec<&String> = after.keys().collect();
    let event = Event::new(who.actor(), "registry.record.act", "civil_record", id)
        .detail(serde_json::json!({ "action": req.action.as_str(), "from": from.as_str(), "to": to.as_str(), "fields": changed_fields, "possible_duplicate_of": duplicate_of }))
        .source(source);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    let after_row = rows::for_update(&mut tx, id).await?.ok_or(Error::NotFound("record"))?;
    if matches!(req.action, A::Register | A::Correct) {
        let out = registered_event(
            &after_row,
            &clear,
            &format!("{}_{}", req.action.as_str(), now.unix_timestamp_nanos()),
            now,
        );
        outbox::enqueue(&mut tx, &state.outbound, &out).await?;
    }
    tx.commit().await?;
    state.outbox_wake.notify_one();
    Ok(after_row)
}

/// A record as the caller may see it: ID numbers in full only for the clerks of its unit. The
/// view is audited.
pub async fn view(state: &AppState, who: &Principal, r: &RecordRow, source: &str) -> Result<CivilRecord> {
    if !may_read(&state.store, who, r.jurisdiction_id).await? {
        return Err(Error::Forbidden(format!("the records of {} are outside your jurisdiction", r.unit)));
    }
    let kind = kind_of(&r.kind)?;
    let full = may_write(&state.store, who, r.jurisdiction_id).await?;
    let f = all_fields(state, r)?;
    let f = if full { f } else { fields::masked(kind, f) };
    let history = state
        .store
        .civil_record_actions(r.id)
        .await?
        .into_iter()
        .map(|a| {
            let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
            Ok(RecordHistoryEntry {
                action: A::parse(&a.action)
                    .ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown action {}", a.action)))?,
                status: S::parse(&a.status_after).ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown status")))?,
                actor: a.actor,
                reason: a.reason,
                document_ref: a.document_ref,
                note_kind: a.note_kind,
                before: parse(a.before),
                after: parse(a.after),
                at: a.at,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut tx = state.store.begin().await?;
    let event = Event::new(who.actor(), "registry.record.view", "civil_record", r.id)
        .detail(serde_json::json!({ "ids_shown": full }))
        .source(source);
    audit::append(&mut tx, &state.secrets.audit, event, state.now()).await?;
    tx.commit().await?;
    Ok(CivilRecord {
        id: r.id,
        kind,
        status: status_of(r)?,
        book_id: r.book_id,
        volume: r.volume.clone(),
        page: r.page,
        entry: r.entry,
        registered_on: r.registered_on.clone(),
        unit: r.unit.clone(),
        unit_name: r.unit_name.clone(),
        fields: Value::Object(f),
        assignee: r.assignee_name.clone(),
        possible_duplicate_of: r.duplicate_of,
        history,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_life_cycle() {
        use S::*;
        assert_eq!(transition(None, A::Create), Ok(Draft));
        assert_eq!(transition(None, A::Import), Ok(Registered));
        assert_eq!(transition(Some(Draft), A::Declare), Ok(Declared));
        assert_eq!(transition(Some(Declared), A::Register), Ok(Registered));
        assert_eq!(transition(Some(Registered), A::Correct), Ok(Corrected));
        assert_eq!(transition(Some(Corrected), A::Certify), Ok(Certified));
        assert_eq!(transition(Some(Certified), A::Annotate), Ok(Certified));
        assert_eq!(transition(Some(Certified), A::Archive), Ok(Archived));
        for refused in [
            (Draft, A::Register),
            (Draft, A::Correct),
            (Draft, A::Certify),
            (Registered, A::Update),
            (Registered, A::Declare),
            (Archived, A::Assign),
            (Archived, A::Correct),
            (Declared, A::Annotate),
        ] {
            assert!(transition(Some(refused.0), refused.1).is_err(), "{refused:?}");
        }
        assert!(transition(Some(Draft), A::Create).is_err());
    }
}
