//! Bulk import of digitised books from CSV: one file per book, a header naming the columns
//! (`page`, `entry`, `registered_on` and the fields of the book's kind). A dry run reports every
//! rejected row and why; an import adds all rows or none; a row already in the book with the same
//! content is skipped, so importing a file twice adds nothing.

use std::collections::{HashMap, HashSet};

use q10_core_api::{RecordAction as A, RecordImportReport, RecordKind, RejectedRow};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{fields, index_of, kept_book, registered_event, seal_ids, split_ids};
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::outbox;
use crate::store::registry::{self as rows, NewActionRow, NewRecordRow};

/// Rows written per statement.
const BATCH: usize = 1000;

/// A row that passed its checks.
struct Good {
    line: u64,
    page: i64,
    entry: i64,
    registered_on: String,
    fields: Map<String, Value>,
    hash: String,
}

/// The columns a file of `kind` may have, and those it must.
fn columns(kind: RecordKind) -> (Vec<&'static str>, Vec<&'static str>) {
    let mut all = vec!["page", "entry", "registered_on"];
    let mut required = all.clone();
    for (name, _, req) in fields::of(kind) {
        all.push(name);
        if *req {
            required.push(name);
        }
    }
    (all, required)
}

fn number(v: &str) -> Option<i64> {
    v.trim().parse::<i64>().ok().filter(|n| (1..=1_000_000).contains(n))
}

/// Reads and checks every row; the good ones and the rejected ones.
fn read(kind: RecordKind, csv_text: &str, today: time::Date) -> Result<(u64, Vec<Good>, Vec<RejectedRow>)> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::invalid("csv", format!("the header cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let (allowed, required) = columns(kind);
    let unknown: Vec<&String> = header.iter().filter(|h| !allowed.contains(&h.as_str())).collect();
    if !unknown.is_empty() {
        let names: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
        return Err(Error::invalid(
            "csv",
            format!("unknown columns for a {} book: {}", kind.as_str(), names.join(", ")),
        ));
    }
    let missing: Vec<&&str> = required.iter().filter(|r| !header.iter().any(|h| h == *r)).collect();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|s| **s).collect();
        return Err(Error::invalid("csv", format!("missing columns: {}", names.join(", "))));
    }
    let (mut rows, mut good, mut rejected) = (0u64, Vec::new(), Vec::new());
    let mut seen: HashSet<i64> = HashSet::new();
    // Line numbers counted from the bytes: the reader's own miscount lines ended by CRLF.
    let mut counted = (0usize, 1u64);
    let bytes = csv_text.as_bytes();
    let mut line_at = |byte: u64| {
        // A record's position may fall on the line end before it.
        let mut byte = (byte as usize).min(bytes.len());
        while byte < bytes.len() && matches!(bytes[byte], b'\r' | b'\n') {
            byte += 1;
        }
        if byte > counted.0 {
            counted.1 += bytes[counted.0..byte].iter().filter(|b| **b == b'\n').count() as u64;
            counted.0 = byte;
        }
        counted.1
    };
    for result in reader.records() {
        rows += 1;
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| line_at(p.byte())).unwrap_or(rows + 1);
                rejected.push(RejectedRow { line, reasons: vec![format!("cannot be read: {e}")] });
                continue;
            }
        };
        let line = record.position().map(|p| line_at(p.byte())).unwrap_or(rows + 1);
        let mut reasons = Vec::new();
        let mut f = Map::new();
        let (mut page, mut entry, mut registered_on) = (None, None, String::new());
        for (name, value) in header.iter().zip(record.iter()) {
            match name.as_str() {
                "page" => page = number(value),
                "entry" => entry = number(value),
                "registered_on" => registered_on = value.to_string(),
                _ => {
                    f.insert(name.clone(), Value::String(value.to_string()));
                }
            }
        }
        if page.is_none() {
            reasons.push("page: a number from 1".to_string());
        }
        match entry {
            None => reasons.push("entry: a number from 1".to_string()),
            Some(e) if !seen.insert(e) => reasons.push(format!("entry: {e} appears twice in the file")),
            Some(_) => {}
        }
        if let Err(e) = fields::check_value("registered_on", fields::Type::Date, &registered_on, today) {
            reasons.push(e);
        }
        let checked = match fields::check_all(kind, &f, today) {
            Ok(c) => Some(c),
            Err(problems) => {
                reasons.extend(problems);
                None
            }
        };
        match (page, entry, checked) {
            (Some(page), Some(entry), Some(fields)) if reasons.is_empty() => {
                let hash = hex::encode(Sha256::digest(record.iter().collect::<Vec<_>>().join("\u{1f}").as_bytes()));
                good.push(Good { line, page, entry, registered_on, fields, hash });
            }
            _ => rejected.push(RejectedRow { line, reasons }),
        }
    }
    Ok((rows, good, rejected))
}

/// Imports (or, with `dry_run`, checks) a CSV file into a book.
pub async fn import(
    state: &AppState,
    who: &Principal,
    book_id: i64,
    csv_text: &str,
    dry_run: bool,
    source: &str,
    now: OffsetDateTime,
) -> Result<RecordImportReport> {
    let started = std::time::Instant::now();
    let (book, kind) = kept_book(state, who, book_id).await?;
    let today = crate::dossier::calendar::local_date(now);
    let (rows_read, good, mut rejected) = read(kind, csv_text, today)?;
    let mut tx = state.store.begin().await?;
    let existing: HashMap<i64, Option<String>> = rows::book_entries(&mut tx, book.id).await?.into_iter().collect();
    let mut fresh = Vec::with_capacity(good.len());
    let mut unchanged = 0u64;
    for g in good {
        match existing.get(&g.entry) {
            None => fresh.push(g),
            Some(Some(h)) if *h == g.hash => unchanged += 1,
            Some(_) => {
                rejected.push(RejectedRow {
                    line: g.line,
                    reasons: vec![format!("entry {}: already in the book with other content", g.entry)],
                });
            }
        }
    }
    rejected.sort_by_key(|r| r.line);
    let added = fresh.len() as u64;
    let apply = !dry_run && rejected.is_empty();
    if apply && !fresh.is_empty() {
        let key = &state.secrets.data_encryption;
        let wants_events = state.outbound.destinations.iter().any(|d| d.wants("civil_record.registered"));
        let status = super::transition(None, A::Import).map_err(Error::Conflict)?;
        for chunk in fresh.chunks(BATCH) {
            let mut batch = Vec::with_capacity(chunk.len());
            let mut prepared = Vec::with_capacity(chunk.len());
            for g in chunk {
                let k = fields::keys(kind, &g.fields);
                let (clear, ids) = split_ids(kind, g.fields.clone());
                let sealed = seal_ids(key, &ids)?;
                batch.push(NewRecordRow {
                    kind: kind.as_str().into(),
                    book_id: book.id,
                    page: g.page,
                    entry: g.entry,
                    registered_on: g.registered_on.clone(),
                    status: status.as_str().into(),
                    fields: Value::Object(clear.clone()).to_string(),
                    ids: sealed.as_deref().map(hex::encode),
                    name_key: k.name.clone(),
                    parents_key: k.parents.clone(),
                    place_key: k.place.clone(),
                    event_date: k.event_date.clone(),
                    assignee_id: None,
                    row_hash: Some(g.hash.clone()),
                });
                prepared.push((g.entry, k, clear, ids));
            }
            let ids_by_entry: HashMap<i64, i64> =
                rows::insert_records(&mut tx, &batch, now).await?.into_iter().collect();
            let (mut tokens, mut indexes, mut actions) = (Vec::new(), Vec::new(), Vec::with_capacity(chunk.len()));
            for (entry, k, clear, ids) in &prepared {
                let id = ids_by_entry[entry];
                index_of(key, id, k, ids, &mut tokens, &mut indexes, kind);
                actions.push(NewActionRow {
                    record_id: id,
                    action: A::Import.as_str().into(),
                    status_before: None,
                    status_after: status.as_str().into(),
                    actor_id: Some(who.user_id),
                    actor: who.username.clone(),
                    reason: format!("imported from the digitised book {}", book.volume),
                    document_ref: None,
                    note_kind: None,
                    before: None,
                    after: None,
                });
                if wants_events && let Some(r) = rows::for_update(&mut tx, id).await? {
                    outbox::enqueue(&mut tx, &state.outbound, &registered_event(&r, clear, "import", now)).await?;
                }
            }
            rows::insert_index(&mut tx, &tokens, &indexes).await?;
            rows::insert_actions(&mut tx, &actions, now).await?;
        }
    }
    let report = RecordImportReport {
        dry_run,
        applied: apply,
        rows: rows_read,
        added: if apply || dry_run { added } else { 0 },
        unchanged,
        rejected,
        took_ms: 0.0,
    };
    let event = Event::new(who.actor(), "registry.import", "registry_book", book.id)
        .detail(serde_json::json!({ "dry_run": dry_run, "applied": apply, "rows": rows_read, "added": report.added, "unchanged": unchanged, "rejected": report.rejected.len() }))
        .source(source);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    state.outbox_wake.notify_one();
    Ok(RecordImportReport { took_ms: started.elapsed().as_secs_f64() * 1000.0, ..report })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_rows_name_their_line_whatever_the_line_ends() {
        let today = time::macros::date!(2026 - 11 - 25);
        let head = "page,entry,registered_on,deceased_name,sex,ethnicity,nationality,death_date,death_place";
        let ok = "1,1,2024-01-02,Lê Văn Tư,male,Kinh,Việt Nam,2024-01-01,Quận 10";
        let bad = "1,2,2024-01-02,Lê Văn Năm,x,Kinh,Việt Nam,2024-01-01,Quận 10";
        for end in ["\n", "\r\n"] {
            let text = [head, ok, ok.replace(",1,", ",3,").as_str(), bad, ""].join(end);
            let (rows, good, rejected) = read(RecordKind::Death, &text, today).unwrap();
            assert_eq!((rows, good.len()), (3, 2));
            assert_eq!(rejected.len(), 1);
            assert_eq!(rejected[0].line, 4, "with {end:?}");
            assert!(rejected[0].reasons[0].starts_with("sex"));
        }
    }
}
