//! The civil-status registry: books, records, their words and ID indexes, actions and extracts.
//! Records, words, indexes and actions are written in batches: one statement inserts every row
//! of a JSON array, so an import of a hundred thousand rows is a few hundred statements.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Backend, Store, Ts, Tx, on_pool, on_tx};
use crate::Result;

#[derive(Debug, Clone, FromRow)]
pub struct BookRow {
    pub id: i64,
    pub kind: String,
    pub volume: String,
    pub year: i64,
    pub jurisdiction_id: i64,
    pub unit: String,
    pub unit_name: String,
    pub records: i64,
}

macro_rules! book_select {
    () => {
        "SELECT b.id, b.kind, b.volume, b.year, b.jurisdiction_id, j.code AS unit, j.name_vi AS unit_name, \
         (SELECT COUNT(*) FROM civil_records r WHERE r.book_id = b.id) AS records \
         FROM registry_books b JOIN jurisdictions j ON j.id = b.jurisdiction_id"
    };
}

#[derive(Debug, Clone, FromRow)]
pub struct RecordRow {
    pub id: i64,
    pub kind: String,
    pub book_id: i64,
    pub volume: String,
    pub jurisdiction_id: i64,
    pub unit: String,
    pub unit_name: String,
    pub page: i64,
    pub entry: i64,
    pub registered_on: String,
    pub status: String,
    pub fields: String,
    pub ids: Option<Vec<u8>>,
    pub name_key: String,
    pub parents_key: String,
    pub place_key: String,
    pub event_date: Option<String>,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub duplicate_of: Option<i64>,
}

macro_rules! record_select {
    () => {
        "SELECT r.id, r.kind, r.book_id, b.volume, b.jurisdiction_id, j.code AS unit, j.name_vi AS unit_name, r.page, \
         r.entry, r.registered_on, r.status, r.fields, r.ids, r.name_key, r.parents_key, r.place_key, r.event_date, \
         r.assignee_id, u.display_name AS assignee_name, r.duplicate_of \
         FROM civil_records r JOIN registry_books b ON b.id = r.book_id JOIN jurisdictions j ON j.id = b.jurisdiction_id \
         LEFT JOIN users u ON u.id = r.assignee_id"
    };
}

#[derive(Debug, Clone, FromRow)]
pub struct RecordActionRow {
    pub action: String,
    pub status_after: String,
    pub actor: String,
    pub reason: String,
    pub document_ref: Option<String>,
    pub note_kind: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, FromRow)]
pub struct ExtractRow {
    pub id: String,
    pub record_id: i64,
    pub content: String,
    pub mac: String,
    pub issued_by: String,
    pub issued_at: OffsetDateTime,
}

/// A record to insert, as JSON for the batch statement.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct NewRecordRow {
    pub kind: String,
    pub book_id: i64,
    pub page: i64,
    pub entry: i64,
    pub registered_on: String,
    pub status: String,
    pub fields: String,
    /// Hex of the sealed ID numbers.
    pub ids: Option<String>,
    pub name_key: String,
    pub parents_key: String,
    pub place_key: String,
    pub event_date: Option<String>,
    pub assignee_id: Option<i64>,
    pub row_hash: Option<String>,
}

/// Inserts records; `(entry, id)` of each.
pub(crate) async fn insert_records(tx: &mut Tx, rows: &[NewRecordRow], now: OffsetDateTime) -> Result<Vec<(i64, i64)>> {
    let json = serde_json::to_string(rows).expect("rows serialize");
    let out: Vec<(i64, i64)> =
        match tx {
            Tx::Sqlite(t, _) => sqlx::query_as(
                "INSERT INTO civil_records (kind, book_id, page, entry, registered_on, status, fields, ids, name_key, \
             parents_key, place_key, event_date, assignee_id, row_hash, created_at, updated_at) \
             SELECT value->>'kind', value->>'book_id', value->>'page', value->>'entry', value->>'registered_on', \
             value->>'status', value->>'fields', unhex(value->>'ids'), value->>'name_key', value->>'parents_key', \
             value->>'place_key', value->>'event_date', value->>'assignee_id', value->>'row_hash', $2, $2 \
             FROM json_each($1) RETURNING entry, id",
            )
            .bind(&json)
            .bind(Ts(now))
            .fetch_all(&mut **t)
            .await?,
            Tx::Postgres(t) => sqlx::query_as(
                "INSERT INTO civil_records (kind, book_id, page, entry, registered_on, status, fields, ids, name_key, \
             parents_key, place_key, event_date, assignee_id, row_hash, created_at, updated_at) \
             SELECT r.kind, r.book_id, r.page, r.entry, r.registered_on, r.status, r.fields, decode(r.ids, 'hex'), \
             r.name_key, r.parents_key, r.place_key, r.event_date, r.assignee_id, r.row_hash, $2, $2 \
             FROM jsonb_to_recordset($1::jsonb) AS r(kind text, book_id bigint, page bigint, entry bigint, \
             registered_on text, status text, fields text, ids text, name_key text, parents_key text, place_key text, \
             event_date text, assignee_id bigint, row_hash text) RETURNING entry, id",
            )
            .bind(&json)
            .bind(Ts(now))
            .fetch_all(&mut **t)
            .await?,
        };
    Ok(out)
}

/// Indexes words (`[word, role, record]`), adds them to the vocabulary, and indexes ID numbers
/// (`[index, record, field]`).
pub(crate) async fn insert_index(
    tx: &mut Tx,
    tokens: &[(String, &str, i64)],
    ids: &[(String, i64, &str)],
) -> Result<()> {
    let tokens_json = serde_json::to_string(tokens).expect("tokens serialize");
    let words: Vec<&str> = tokens.iter().filter(|t| t.1 != "parent_name").map(|t| t.0.as_str()).collect();
    let words_json = serde_json::to_string(&words).expect("words serialize");
    let ids_json = serde_json::to_string(ids).expect("ids serialize");
    match tx {
        Tx::Sqlite(t, _) => {
            sqlx::query(
                "INSERT INTO civil_record_tokens (token, role, record_id) \
                 SELECT value->>0, value->>1, value->>2 FROM json_each($1) WHERE true ON CONFLICT DO NOTHING",
            )
            .bind(&tokens_json)
            .execute(&mut **t)
            .await?;
            sqlx::query(
                "INSERT INTO civil_name_words (token) SELECT DISTINCT value FROM json_each($1) WHERE true \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&words_json)
            .execute(&mut **t)
            .await?;
            sqlx::query(
                "INSERT INTO civil_record_ids (idx, record_id, field) \
                 SELECT value->>0, value->>1, value->>2 FROM json_each($1) WHERE true ON CONFLICT DO NOTHING",
            )
            .bind(&ids_json)
            .execute(&mut **t)
            .await?;
        }
        Tx::Postgres(t) => {
            sqlx::query(
                "INSERT INTO civil_record_tokens (token, role, record_id) \
                 SELECT e->>0, e->>1, (e->>2)::bigint FROM jsonb_array_elements($1::jsonb) e ON CONFLICT DO NOTHING",
            )
            .bind(&tokens_json)
            .execute(&mut **t)
            .await?;
            sqlx::query(
                "INSERT INTO civil_name_words (token) SELECT DISTINCT jsonb_array_elements_text($1::jsonb) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&words_json)
            .execute(&mut **t)
            .await?;
            sqlx::query(
                "INSERT INTO civil_record_ids (idx, record_id, field) \
                 SELECT e->>0, (e->>1)::bigint, e->>2 FROM jsonb_array_elements($1::jsonb) e ON CONFLICT DO NOTHING",
            )
            .bind(&ids_json)
            .execute(&mut **t)
            .await?;
        }
    }
    Ok(())
}

/// Removes a record's words and ID indexes (before indexing it again).
pub(crate) async fn clear_index(tx: &mut Tx, record: i64) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query("DELETE FROM civil_record_tokens WHERE record_id = $1").bind(record).execute(&mut *c).await?;
        sqlx::query("DELETE FROM civil_record_ids WHERE record_id = $1").bind(record).execute(c).await?;
    });
    Ok(())
}

/// An action to append, as JSON for the batch statement.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct NewActionRow {
    pub record_id: i64,
    pub action: String,
    pub status_before: Option<String>,
    pub status_after: String,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub reason: String,
    pub document_ref: Option<String>,
    pub note_kind: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub(crate) async fn insert_actions(tx: &mut Tx, rows: &[NewActionRow], now: OffsetDateTime) -> Result<()> {
    let json = serde_json::to_string(rows).expect("actions serialize");
    match tx {
        Tx::Sqlite(t, _) => {
            sqlx::query(
                "INSERT INTO civil_record_actions (record_id, action, status_before, status_after, actor_id, actor, \
                 reason, document_ref, note_kind, before, after, at) \
                 SELECT value->>'record_id', value->>'action', value->>'status_before', value->>'status_after', \
                 value->>'actor_id', value->>'actor', value->>'reason', value->>'document_ref', value->>'note_kind', \
                 value->>'before', value->>'after', $2 FROM json_each($1)",
            )
            .bind(&json)
            .bind(Ts(now))
            .execute(&mut **t)
            .await?;
        }
        Tx::Postgres(t) => {
            sqlx::query(
                "INSERT INTO civil_record_actions (record_id, action, status_before, status_after, actor_id, actor, \
                 reason, document_ref, note_kind, before, after, at) \
                 SELECT a.record_id, a.action, a.status_before, a.status_after, a.actor_id, a.actor, a.reason, \
                 a.document_ref, a.note_kind, a.before, a.after, $2 \
                 FROM jsonb_to_recordset($1::jsonb) AS a(record_id bigint, action text, status_before text, \
                 status_after text, actor_id bigint, actor text, reason text, document_ref text, note_kind text, \
                 before text, after text)",
            )
            .bind(&json)
            .bind(Ts(now))
            .execute(&mut **t)
            .await?;
        }
    }
    Ok(())
}

/// The fields an action may change.
pub(crate) struct RecordChange<'a> {
    pub id: i64,
    pub status: &'a str,
    pub fields: &'a str,
    pub ids: Option<&'a [u8]>,
    pub name_key: &'a str,
    pub parents_key: &'a str,
    pub place_key: &'a str,
    pub event_date: Option<&'a str>,
    pub assignee_id: Option<i64>,
    pub duplicate_of: Option<i64>,
}

pub(crate) async fn update(tx: &mut Tx, r: &RecordChange<'_>, now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query(
            "UPDATE civil_records SET status = $2, fields = $3, ids = $4, name_key = $5, parents_key = $6, \
             place_key = $7, event_date = $8, assignee_id = $9, duplicate_of = $10, updated_at = $11 WHERE id = $1",
        )
        .bind(r.id)
        .bind(r.status)
        .bind(r.fields)
        .bind(r.ids)
        .bind(r.name_key)
        .bind(r.parents_key)
        .bind(r.place_key)
        .bind(r.event_date)
        .bind(r.assignee_id)
        .bind(r.duplicate_of)
        .bind(Ts(now))
        .execute(c)
        .await?;
    });
    Ok(())
}

pub(crate) async fn for_update(tx: &mut Tx, id: i64) -> Result<Option<RecordRow>> {
    Ok(match tx {
        Tx::Sqlite(t, _) => {
            sqlx::query_as(concat!(record_select!(), " WHERE r.id = $1")).bind(id).fetch_optional(&mut **t).await?
        }
        Tx::Postgres(t) => {
            sqlx::query_as(concat!(record_select!(), " WHERE r.id = $1 FOR UPDATE OF r"))
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }
    })
}

/// Entries already in a book, with the hash of the row they were imported from.
pub(crate) async fn book_entries(tx: &mut Tx, book: i64) -> Result<Vec<(i64, Option<String>)>> {
    Ok(on_tx!(tx, c => sqlx::query_as("SELECT entry, row_hash FROM civil_records WHERE book_id = $1")
        .bind(book)
        .fetch_all(c)
        .await?))
}

/// Another record of the same kind with the same name, date, place and parents.
pub(crate) async fn same_facts(tx: &mut Tx, r: &RecordRow) -> Result<Option<i64>> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "SELECT id FROM civil_records WHERE name_key = $1 AND event_date = $2 AND kind = $3 AND place_key = $4 \
         AND parents_key = $5 AND id <> $6 ORDER BY id LIMIT 1",
    )
    .bind(&r.name_key)
    .bind(&r.event_date)
    .bind(&r.kind)
    .bind(&r.place_key)
    .bind(&r.parents_key)
    .bind(r.id)
    .fetch_optional(c)
    .await?))
}

pub(crate) async fn insert_extract(tx: &mut Tx, e: &ExtractRow) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query("INSERT INTO civil_extracts (id, record_id, content, mac, issued_by, issued_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&e.id)
            .bind(e.record_id)
            .bind(&e.content)
            .bind(&e.mac)
            .bind(&e.issued_by)
            .bind(Ts(e.issued_at))
            .execute(c)
            .await?;
    });
    Ok(())
}

/// How the first step of a search finds its candidates.
#[derive(Debug, Clone, Copy)]
pub enum Candidates<'a> {
    /// Records whose name key is in this JSON array.
    NameKeys(&'a str),
    /// Records holding, in this role, a word (or whole name) of this JSON array.
    Tokens(&'a str, &'a str),
    IdIndex(&'a str),
    Book(i64),
    /// Records of a kind whose event falls between two ISO dates.
    Events(&'a str, &'a str, &'a str),
    /// Records holding, in this role, a word of each of three JSON arrays (repeat one for fewer).
    AllWords(&'a str, [&'a str; 3]),
}

/// What the second step of a registry search checks on its candidates.
#[derive(Debug, Default)]
pub struct RecordFilter<'a> {
    /// The candidates (JSON array of ids).
    pub candidates: String,
    pub kind: Option<&'a str>,
    pub event_from: Option<&'a str>,
    pub event_to: Option<&'a str>,
    pub book_id: Option<i64>,
    pub entry: Option<i64>,
    /// Records whose full name key is one of these (JSON array), if given.
    pub name_keys: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

impl Store {
    pub async fn registry_books(&self) -> Result<Vec<BookRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(book_select!(), " ORDER BY b.year DESC, b.kind, b.volume"))
            .fetch_all(p)
            .await?))
    }

    pub async fn registry_book(&self, id: i64) -> Result<Option<BookRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(book_select!(), " WHERE b.id = $1"))
            .bind(id)
            .fetch_optional(p)
            .await?))
    }

    /// Opens a book; `None` when the unit already has a book of that kind and volume.
    pub async fn insert_registry_book(
        &self,
        kind: &str,
        volume: &str,
        year: i64,
        unit: i64,
        now: OffsetDateTime,
    ) -> Result<Option<i64>> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "INSERT INTO registry_books (kind, volume, year, jurisdiction_id, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (kind, jurisdiction_id, volume) DO NOTHING RETURNING id",
        )
        .bind(kind)
        .bind(volume)
        .bind(year)
        .bind(unit)
        .bind(Ts(now))
        .fetch_optional(p)
        .await?))
    }

    pub async fn civil_record(&self, id: i64) -> Result<Option<RecordRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(record_select!(), " WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(p)
            .await?))
    }

    pub async fn civil_record_actions(&self, id: i64) -> Result<Vec<RecordActionRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT action, status_after, actor, reason, document_ref, note_kind, before, after, at \
             FROM civil_record_actions WHERE record_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(p)
        .await?))
    }

    /// Every word seen in names.
    pub async fn civil_name_words(&self) -> Result<Vec<String>> {
        Ok(on_pool!(self, p => sqlx::query_scalar("SELECT token FROM civil_name_words").fetch_all(p).await?))
    }

    /// Candidate records found through an index, at most `limit`: the first step of a search.
    pub async fn civil_candidates(&self, by: Candidates<'_>, limit: i64) -> Result<Vec<i64>> {
        macro_rules! sql {
            ($open:literal, $close:literal) => {
                (
                    concat!("SELECT id FROM civil_records WHERE name_key", $open, "1", $close, " LIMIT $2"),
                    concat!(
                        "SELECT record_id FROM civil_record_tokens WHERE token",
                        $open,
                        "1",
                        $close,
                        " AND role = $3 LIMIT $2"
                    ),
                    concat!(
                        "SELECT t.record_id FROM civil_record_tokens t WHERE t.role = $4 AND t.token",
                        $open,
                        "1",
                        $close,
                        " AND t.record_id IN (SELECT record_id FROM civil_record_tokens WHERE role = $4 AND token",
                        $open,
                        "2",
                        $close,
                        ") AND t.record_id IN (SELECT record_id FROM civil_record_tokens WHERE role = $4 AND token",
                        $open,
                        "3",
                        $close,
                        ") LIMIT $5"
                    ),
                )
            };
        }
        let (by_names, by_tokens, by_all_words) = match self.backend() {
            // PostgreSQL uses an index for `= ANY(array)`, whatever the plan's guess of the list's length.
            Backend::Sqlite => sql!(" IN (SELECT value FROM json_each($", "))"),
            Backend::Postgres => sql!(" = ANY(ARRAY(SELECT jsonb_array_elements_text($", "::jsonb)))"),
        };
        Ok(match by {
            Candidates::NameKeys(json) => {
                on_pool!(self, p => sqlx::query_scalar(by_names).bind(json).bind(limit).fetch_all(p).await?)
            }
            Candidates::Tokens(role, json) => {
                on_pool!(self, p => sqlx::query_scalar(by_tokens).bind(json).bind(limit).bind(role).fetch_all(p).await?)
            }
            Candidates::AllWords(role, [a, b, c]) => on_pool!(self, p => sqlx::query_scalar(by_all_words)
                .bind(a)
                .bind(b)
                .bind(c)
                .bind(role)
                .bind(limit)
                .fetch_all(p)
                .await?),
            Candidates::IdIndex(idx) => on_pool!(self, p => sqlx::query_scalar(
                "SELECT record_id FROM civil_record_ids WHERE idx = $1 LIMIT $2",
            )
            .bind(idx)
            .bind(limit)
            .fetch_all(p)
            .await?),
            Candidates::Book(book) => on_pool!(self, p => sqlx::query_scalar(
                "SELECT id FROM civil_records WHERE book_id = $1 ORDER BY entry LIMIT $2",
            )
            .bind(book)
            .bind(limit)
            .fetch_all(p)
            .await?),
            Candidates::Events(kind, from, to) => on_pool!(self, p => sqlx::query_scalar(
                "SELECT id FROM civil_records WHERE kind = $1 AND event_date >= $2 AND event_date <= $3 LIMIT $4",
            )
            .bind(kind)
            .bind(from)
            .bind(to)
            .bind(limit)
            .fetch_all(p)
            .await?),
        })
    }

    /// Records among the candidates matching a filter, by book order; and how many match in all.
    pub async fn search_civil_records(&self, f: &RecordFilter<'_>) -> Result<(i64, Vec<RecordRow>)> {
        macro_rules! filter {
            ($ids:literal, $keys:literal) => {
                concat!(
                    " WHERE r.id",
                    $ids,
                    " AND ($2 IS NULL OR r.kind = $2) AND ($3 IS NULL OR r.event_date >= $3) \
                      AND ($4 IS NULL OR r.event_date <= $4) AND ($5 IS NULL OR r.book_id = $5) \
                      AND ($6 IS NULL OR r.entry = $6) AND ($7 IS NULL OR r.name_key",
                    $keys,
                    ")"
                )
            };
        }
        macro_rules! both {
            ($ids:literal, $keys:literal) => {
                (
                    concat!(record_select!(), filter!($ids, $keys), " ORDER BY r.book_id, r.entry LIMIT $8 OFFSET $9"),
                    concat!("SELECT COUNT(*) FROM civil_records r", filter!($ids, $keys), " AND $8 = $8 AND $9 = $9"),
                )
            };
        }
        let (rows_sql, count_sql) = match self.backend() {
            Backend::Sqlite => both!(" IN (SELECT value FROM json_each($1))", " IN (SELECT value FROM json_each($7))"),
            Backend::Postgres => both!(
                " = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::bigint))",
                " = ANY(ARRAY(SELECT jsonb_array_elements_text($7::jsonb)))"
            ),
        };
        macro_rules! bind_filter {
            ($q:expr) => {
                $q.bind(&f.candidates)
                    .bind(f.kind)
                    .bind(f.event_from)
                    .bind(f.event_to)
                    .bind(f.book_id)
                    .bind(f.entry)
                    .bind(f.name_keys.as_deref())
                    .bind(f.limit)
                    .bind(f.offset)
            };
        }
        let total: i64 = on_pool!(self, p => bind_filter!(sqlx::query_scalar(count_sql)).fetch_one(p).await?);
        let rows = on_pool!(self, p => bind_filter!(sqlx::query_as(rows_sql)).fetch_all(p).await?);
        Ok((total, rows))
    }

    pub async fn civil_extract(&self, id: &str) -> Result<Option<ExtractRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, record_id, content, mac, issued_by, issued_at FROM civil_extracts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await?))
    }

    pub async fn count_civil_records(&self) -> Result<i64> {
        Ok(on_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM civil_records").fetch_one(p).await?))
    }
}
