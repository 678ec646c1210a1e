//! Searching the registry: names without accents and with near spellings, dates, book and entry,
//! parents, exact ID numbers.
//!
//! A name is split into words; each word stands for the words of the names vocabulary within a
//! small edit distance (none for short words). The full names those words can make are looked up
//! by the name index; when none is found, the records holding a near word for each of the query's
//! words (the first three) are read and checked word by word, so partial names ("Văn An") are
//! found as well.
//!
//! Every search reads its candidates through one index (ID number, whole name, parent's whole
//! name, book, or kind and dates), at most 20,000, then checks the other conditions on them.

use q10_core_api::{RecordKind, RecordSearch, RecordSearchResult, RecordSummary};
use serde_json::Value;

use super::{fields, kind_of};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::store::registry::{Candidates, RecordFilter, RecordRow};

/// Full names tried at most, from the near spellings of each word.
const MAX_NAMES: usize = 512;
/// Records read at most when matching word by word.
const MAX_SCAN: i64 = 20_000;
/// Candidates checked at most by one search.
const MAX_CANDIDATES: i64 = 20_000;

fn json_ids(ids: &[i64]) -> String {
    serde_json::to_string(ids).expect("ids serialize")
}

/// The candidates of each word of a query, from the vocabulary.
fn candidates(query: &str, vocabulary: &[String]) -> Vec<Vec<String>> {
    fields::normalize(query)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| fields::near(w, vocabulary.iter().map(String::as_str)))
        .collect()
}

/// Every full name the candidates make, up to `MAX_NAMES`.
fn full_names(words: &[Vec<String>]) -> Vec<String> {
    let mut names = vec![String::new()];
    for options in words {
        let mut next = Vec::new();
        for prefix in &names {
            for w in options {
                if next.len() >= MAX_NAMES {
                    break;
                }
                next.push(if prefix.is_empty() { w.clone() } else { format!("{prefix} {w}") });
            }
        }
        names = next;
    }
    names
}

/// Whether every query word has a candidate among `text`'s words.
fn covers(text: &str, words: &[Vec<String>]) -> bool {
    let have: Vec<&str> = text.split([' ', '|']).filter(|w| !w.is_empty()).collect();
    words.iter().all(|options| options.iter().any(|o| have.contains(&o.as_str())))
}

fn summary(r: &RecordRow) -> Result<RecordSummary> {
    let kind = kind_of(&r.kind)?;
    let f: serde_json::Map<String, Value> = serde_json::from_str(&r.fields).map_err(|e| Error::Internal(e.into()))?;
    let k = fields::keys(kind, &f);
    let place = match kind {
        q10_core_api::RecordKind::Birth => f.get("birth_place"),
        q10_core_api::RecordKind::Death => f.get("death_place"),
        q10_core_api::RecordKind::Marriage => f.get("wife_residence"),
        q10_core_api::RecordKind::Recognition => f.get("recognized_residence"),
    };
    Ok(RecordSummary {
        id: r.id,
        kind,
        status: q10_core_api::RecordStatus::parse(&r.status).unwrap_or(q10_core_api::RecordStatus::Draft),
        volume: r.volume.clone(),
        page: r.page,
        entry: r.entry,
        registered_on: r.registered_on.clone(),
        unit: r.unit.clone(),
        name: k.display_name,
        event_date: r.event_date.clone(),
        place: place.and_then(|p| p.as_str()).map(str::to_string),
    })
}

fn date(field: &'static str, v: Option<&str>) -> Result<Option<String>> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(d) if crate::dossier::calendar::parse_iso(d).is_some() => Ok(Some(d.to_string())),
        Some(_) => Err(Error::invalid(field, "a date is YYYY-MM-DD")),
    }
}

/// Searches the records the caller may read.
pub async fn search(state: &AppState, who: &Principal, q: &RecordSearch) -> Result<RecordSearchResult> {
    if !who.has_any_role(super::READERS) {
        return Err(Error::Forbidden("searching the registry needs a registry role".into()));
    }
    let started = std::time::Instant::now();
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::invalid("limit", "limit is 1 to 200"));
    }
    let offset = q.offset.unwrap_or(0);
    if !(0..=100_000).contains(&offset) {
        return Err(Error::invalid("offset", "offset is 0 to 100000"));
    }
    let (event_from, event_to) =
        (date("event_from", q.event_from.as_deref())?, date("event_to", q.event_to.as_deref())?);
    let id_index = match q.id_number.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(n) if crate::dossier::rules::valid_id_number(n) => {
            Some(crate::dossier::id_index(&state.secrets.data_encryption, n))
        }
        Some(_) => {
            return Err(Error::invalid("id_number", "an ID number has 12 digits and starts with a province code"));
        }
    };
    let name = q.name.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let parent = q.parent.as_deref().map(str::trim).filter(|s| !s.is_empty());
    for (field, v) in [("name", name), ("parent", parent)] {
        if v.is_some_and(|v| v.chars().count() > 100) {
            return Err(Error::invalid(field, "a name is at most 100 characters"));
        }
    }
    if name.is_none()
        && parent.is_none()
        && id_index.is_none()
        && q.book_id.is_none()
        && event_from.is_none()
        && event_to.is_none()
    {
        return Err(Error::invalid("name", "search by a name, a parent, an ID number, a book or dates"));
    }
    let vocabulary =
        if name.is_some() || parent.is_some() { state.store.civil_name_words().await? } else { Vec::new() };
    let name_words = name.map(|n| candidates(n, &vocabulary)).unwrap_or_default();
    let parent_words = parent.map(|p| candidates(p, &vocabulary)).unwrap_or_default();
    let empty = RecordSearchResult { total: 0, items: Vec::new(), took_ms: 0.0 };
    if name_words.iter().chain(&parent_words).any(|o| o.is_empty()) {
        // A word no name holds, even nearly.
        return Ok(RecordSearchResult { took_ms: started.elapsed().as_secs_f64() * 1000.0, ..empty });
    }
    let json = |v: &[String]| serde_json::to_string(v).expect("strings serialize");
    let name_keys = (!name_words.is_empty()).then(|| full_names(&name_words));
    let parent_names = (!parent_words.is_empty()).then(|| full_names(&parent_words));
    // The first step reads candidates through the most selective index at hand; the second checks
    // the other conditions on them.
    let store = &state.store;
    let (candidates, parents_checked) = if let Some(idx) = &id_index {
        (store.civil_candidates(Candidates::IdIndex(idx), MAX_CANDIDATES).await?, false)
    } else if let Some(keys) = &name_keys {
        (store.civil_candidates(Candidates::NameKeys(&json(keys)), MAX_CANDIDATES).await?, false)
    } else if let Some(names) = &parent_names {
        (store.civil_candidates(Candidates::Tokens("parent_name", &json(names)), MAX_CANDIDATES).await?, true)
    } else if let Some(book) = q.book_id {
        (store.civil_candidates(Candidates::Book(book), MAX_CANDIDATES).await?, true)
    } else {
        let from = event_from.as_deref().unwrap_or("0000-01-01");
        let to = event_to.as_deref().unwrap_or("9999-12-31");
        let kinds: Vec<RecordKind> = match q.kind {
            Some(k) => vec![k],
            None => RecordKind::ALL.to_vec(),
        };
        let mut ids = Vec::new();
        for k in kinds {
            let left = MAX_CANDIDATES - ids.len() as i64;
            ids.extend(store.civil_candidates(Candidates::Events(k.as_str(), from, to), left).await?);
        }
        (ids, true)
    };
    let mut filter = RecordFilter {
        candidates: json_ids(&candidates),
        kind: q.kind.map(|k| k.as_str()),
        event_from: event_from.as_deref(),
        event_to: event_to.as_deref(),
        book_id: q.book_id,
        entry: q.entry,
        name_keys: name_keys.as_deref().map(json),
        limit,
        offset,
    };
    // A parent's whole name not yet checked is checked here, on all the candidates.
    let parent_ok = |r: &RecordRow| match &parent_names {
        Some(names) if !parents_checked => r.parents_key.split(" | ").any(|p| names.iter().any(|n| n == p.trim())),
        _ => true,
    };
    let (total, rows) = if parents_checked || parent_names.is_none() {
        store.search_civil_records(&filter).await?
    } else {
        filter.limit = MAX_CANDIDATES;
        filter.offset = 0;
        let (_, rows) = store.search_civil_records(&filter).await?;
        let kept: Vec<RecordRow> = rows.into_iter().filter(|r| parent_ok(r)).collect();
        (kept.len() as i64, kept.into_iter().skip(offset as usize).take(limit as usize).collect())
    };
    let (total, rows) = if total > 0 || id_index.is_some() || (name_words.is_empty() && parent_words.is_empty()) {
        (total, rows)
    } else {
        // Part of a name: the records holding a near word for each word (the first three, the
        // likeliest rare first), checked word by word.
        let (role, words) = if name_words.is_empty() { ("parent", &parent_words) } else { ("name", &name_words) };
        let mut ordered: Vec<&Vec<String>> = words.iter().collect();
        ordered.sort_by_key(|w| std::cmp::Reverse(w.first().map(|s| s.len()).unwrap_or(0)));
        let lists: Vec<String> = ordered.iter().take(3).map(|w| json(w)).collect();
        let pick = |i: usize| lists.get(i).unwrap_or(&lists[0]).as_str();
        let ids = store.civil_candidates(Candidates::AllWords(role, [pick(0), pick(1), pick(2)]), MAX_SCAN).await?;
        filter.name_keys = None;
        filter.candidates = json_ids(&ids);
        filter.limit = MAX_SCAN;
        filter.offset = 0;
        let (_, rows) = store.search_civil_records(&filter).await?;
        let kept: Vec<RecordRow> = rows
            .into_iter()
            .filter(|r| covers(&r.name_key, &name_words) && covers(&r.parents_key, &parent_words))
            .collect();
        let total = kept.len() as i64;
        (total, kept.into_iter().skip(offset as usize).take(limit as usize).collect())
    };
    // Only the units the caller may read (asked once per unit).
    let mut items = Vec::with_capacity(rows.len());
    let mut readable: std::collections::HashMap<i64, bool> = Default::default();
    for r in &rows {
        let ok = match readable.get(&r.jurisdiction_id) {
            Some(ok) => *ok,
            None => {
                let ok = super::may_read(&state.store, who, r.jurisdiction_id).await?;
                readable.insert(r.jurisdiction_id, ok);
                ok
            }
        };
        if ok {
            items.push(summary(r)?);
        }
    }
    Ok(RecordSearchResult { total, items, took_ms: started.elapsed().as_secs_f64() * 1000.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_from_near_words_and_checked_word_by_word() {
        let vocab: Vec<String> =
            ["nguyen", "nguyet", "van", "an", "ann", "anh"].iter().map(|s| s.to_string()).collect();
        let words = candidates("Nguyễn Văn Ann", &vocab);
        assert_eq!(words, [vec!["nguyen", "nguyet"], vec!["van", "an"], vec!["ann", "an", "anh"]]);
        let names = full_names(&words);
        assert_eq!(names.len(), 12);
        assert!(names.contains(&"nguyen van an".to_string()));
        assert!(covers("tran van an", &candidates("van an", &vocab)));
        assert!(!covers("tran van binh", &candidates("van an", &vocab)));
    }
}
