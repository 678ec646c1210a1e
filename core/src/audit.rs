//! The audit log: who did what, when and from where, for every state change and every read of
//! personal data.
//!
//! Rows are append-only and chained: each row's hash is an HMAC (keyed with the server's audit
//! key) over its own fields and the previous row's hash, and a head row authenticates the newest
//! entry. Editing, inserting or deleting any row, or cutting rows off the end, breaks the chain,
//! and someone with database access but without the key cannot mend it.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use serde_json::Value;
use sha2::Sha256;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::store::Tx;
use crate::store::audit::{AuditRow, Head};

/// The hash that stands before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: Option<i64>,
    pub name: String,
}

impl Actor {
    pub fn system() -> Actor {
        Actor { id: None, name: "system".into() }
    }

    pub fn anonymous() -> Actor {
        Actor { id: None, name: "anonymous".into() }
    }

    pub fn user(id: i64, username: &str) -> Actor {
        Actor { id: Some(id), name: username.to_string() }
    }
}

/// One thing to record. `detail` must not hold personal data values: name what was touched
/// (ids, field names), never the names, numbers or addresses themselves.
#[derive(Debug, Clone)]
pub struct Event {
    pub actor: Actor,
    pub action: &'static str,
    pub object_type: &'static str,
    pub object_id: String,
    pub detail: Value,
    /// The client's address, or "cli".
    pub source: String,
}

impl Event {
    pub fn new(actor: Actor, action: &'static str, object_type: &'static str, object_id: impl ToString) -> Event {
        Event {
            actor,
            action,
            object_type,
            object_id: object_id.to_string(),
            detail: Value::Object(Default::default()),
            source: "cli".into(),
        }
    }

    pub fn detail(mut self, detail: Value) -> Event {
        self.detail = detail;
        self
    }

    pub fn source(mut self, source: impl Into<String>) -> Event {
        self.source = source.into();
        self
    }
}

/// The key that signs the chain.
#[derive(Clone)]
pub struct AuditKey(pub SecretSlice<u8>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey([redacted])")
    }
}

impl AuditKey {
    fn mac(&self, parts: &Value) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret()).expect("HMAC takes keys of any length");
        mac.update(parts.to_string().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The hash of a row, over all its fields and the previous hash. The fields are encoded as a
    /// JSON array, which is unambiguous.
    pub(crate) fn row_hash(&self, row: &AuditRow) -> String {
        self.mac(&serde_json::json!([
            row.seq,
            row.at,
            row.actor_id,
            row.actor,
            row.action,
            row.object_type,
            row.object_id,
            row.detail,
            row.source,
            row.prev_hash,
        ]))
    }

    pub(crate) fn head_mac(&self, seq: i64, hash: &str) -> String {
        self.mac(&serde_json::json!(["head", seq, hash]))
    }
}

/// Timestamps are kept to the microsecond, as text, so that both engines return exactly what was
/// hashed.
fn timestamp(now: OffsetDateTime) -> String {
    let now = now.to_offset(time::UtcOffset::UTC);
    let micros = now.nanosecond() / 1_000 * 1_000;
    now.replace_nanosecond(micros)
        .expect("a whole number of microseconds is a valid nanosecond value")
        .format(&Rfc3339)
        .expect("UTC timestamps in the years 0..9999 format as RFC 3339")
}

/// Appends `event` inside `tx`, so it commits or rolls back with the change it records.
pub async fn append(tx: &mut Tx, key: &AuditKey, event: Event, now: OffsetDateTime) -> crate::Result<i64> {
    let head = crate::store::audit::lock_head(tx).await?;
    let (seq, prev_hash) = match head {
        Some(Head { seq, hash, .. }) => (seq + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let mut row = AuditRow {
        seq,
        at: timestamp(now),
        actor_id: event.actor.id,
        actor: event.actor.name,
        action: event.action.to_string(),
        object_type: event.object_type.to_string(),
        object_id: event.object_id,
        detail: event.detail.to_string(),
        source: event.source,
        prev_hash,
        hash: String::new(),
    };
    row.hash = key.row_hash(&row);
    let mac = key.head_mac(seq, &row.hash);
    crate::store::audit::insert(tx, &row, &mac).await?;
    Ok(seq)
}

/// Rows read per query while verifying.
const VERIFY_PAGE: i64 = 5_000;

/// Reads the chain page by page and checks it; memory stays flat however long the log is.
pub async fn verify(store: &crate::store::Store, key: &AuditKey) -> crate::Result<q10_core_api::AuditVerification> {
    let mut check = ChainCheck::new(key);
    let mut after = 0;
    loop {
        let page = store.audit_rows_after(after, VERIFY_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in &page {
            if let Err(v) = check.feed(row) {
                return Ok(v);
            }
        }
    }
    let head = store.audit_head().await?;
    Ok(check.finish(head.as_ref()))
}

/// Checks the whole chain held in memory.
pub fn verify_rows(key: &AuditKey, rows: &[AuditRow], head: Option<&Head>) -> q10_core_api::AuditVerification {
    let mut check = ChainCheck::new(key);
    for row in rows {
        if let Err(v) = check.feed(row) {
            return v;
        }
    }
    check.finish(head)
}

/// Walks the chain row by row from the first, and reports the first row that does not hold.
struct ChainCheck<'k> {
    key: &'k AuditKey,
    rows: i64,
    prev: String,
}

impl<'k> ChainCheck<'k> {
    fn new(key: &'k AuditKey) -> Self {
        ChainCheck { key, rows: 0, prev: GENESIS.to_string() }
    }

    fn fail(&self, seq: i64, problem: String) -> q10_core_api::AuditVerification {
        q10_core_api::AuditVerification { ok: false, rows: self.rows, first_bad_seq: Some(seq), problem: Some(problem) }
    }

    fn feed(&mut self, row: &AuditRow) -> Result<(), q10_core_api::AuditVerification> {
        let expected_seq = self.rows + 1;
        if row.seq != expected_seq {
            return Err(self.fail(expected_seq, format!("row {expected_seq} is missing")));
        }
        if row.prev_hash != self.prev {
            return Err(self.fail(row.seq, format!("row {} does not follow row {}", row.seq, row.seq - 1)));
        }
        if self.key.row_hash(row) != row.hash {
            return Err(self.fail(row.seq, format!("row {} was altered", row.seq)));
        }
        self.rows += 1;
        self.prev = row.hash.clone();
        Ok(())
    }

    fn finish(self, head: Option<&Head>) -> q10_core_api::AuditVerification {
        match head {
            None if self.rows == 0 => {}
            None => return self.fail(self.rows, "the chain head is missing".into()),
            Some(h) => {
                if self.key.head_mac(h.seq, &h.hash) != h.mac {
                    return self.fail(h.seq, "the chain head was altered".into());
                }
                if self.rows == 0 {
                    return self.fail(1, format!("all {} rows were removed", h.seq));
                }
                if h.seq != self.rows || h.hash != self.prev {
                    return self.fail(self.rows + 1, format!("rows after {} were removed", self.rows));
                }
            }
        }
        q10_core_api::AuditVerification { ok: true, rows: self.rows, first_bad_seq: None, problem: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AuditKey {
        AuditKey(SecretSlice::from(vec![9u8; 32]))
    }

    fn chain(n: i64) -> (Vec<AuditRow>, Head) {
        let key = key();
        let mut rows = Vec::new();
        let mut prev = GENESIS.to_string();
        for seq in 1..=n {
            let mut row = AuditRow {
                seq,
                at: timestamp(OffsetDateTime::from_unix_timestamp(1_800_000_000 + seq).unwrap()),
                actor_id: Some(1),
                actor: "admin".into(),
                action: "user.create".into(),
                object_type: "user".into(),
                object_id: seq.to_string(),
                detail: "{}".into(),
                source: "cli".into(),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            row.hash = key.row_hash(&row);
            prev = row.hash.clone();
            rows.push(row);
        }
        let last = rows.last().unwrap();
        let head = Head { seq: last.seq, hash: last.hash.clone(), mac: key.head_mac(last.seq, &last.hash) };
        (rows, head)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (rows, head) = chain(5);
        let v = verify_rows(&key(), &rows, Some(&head));
        assert!(v.ok, "{v:?}");
        assert_eq!(v.rows, 5);
    }

    #[test]
    fn edits_deletions_and_truncation_are_found() {
        let (mut rows, head) = chain(5);
        rows[2].actor = "someone-else".into();
        assert_eq!(verify_rows(&key(), &rows, Some(&head)).first_bad_seq, Some(3));

        let (mut rows, head) = chain(5);
        rows.remove(1);
        assert_eq!(verify_rows(&key(), &rows, Some(&head)).first_bad_seq, Some(2));

        let (mut rows, head) = chain(5);
        rows.pop();
        let v = verify_rows(&key(), &rows, Some(&head));
        assert_eq!(v.first_bad_seq, Some(5));
        assert!(v.problem.unwrap().contains("removed"));

        let (rows, head) = chain(3);
        let other = AuditKey(SecretSlice::from(vec![1u8; 32]));
        assert_eq!(verify_rows(&other, &rows, Some(&head)).first_bad_seq, Some(1));
    }

    #[test]
    fn timestamps_keep_microseconds_in_utc() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_123_456_789).unwrap();
        assert_eq!(timestamp(t), "2027-01-15T08:00:00.123456Z");
    }
}
