//! The store: every read and write of the database goes through here.
//!
//! Two back ends behave the same: embedded SQLite (the default) and PostgreSQL (cluster mode).
//! Queries are written once in SQL both engines accept (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`, `WITH RECURSIVE`) and run on whichever pool is open; the few places where the
//! engines differ branch explicitly.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::error::{Error, Result};
pub use ts::Ts;

pub mod audit;
pub mod cameras;
pub mod complaints;
pub mod dossiers;
pub mod footage;
pub mod jurisdictions;
pub mod kiosks;
pub mod meetings;
pub mod monitor;
pub mod outbox;
pub mod payments;
pub mod queue;
pub mod registry;
pub mod sessions;
pub mod telehealth;
mod ts;
pub mod users;

/// Runs `$body` with `$pool` bound to the open pool, whichever engine it is.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite($pool, _) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection, whichever engine it is.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t, _) => {
                let $conn = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// The ids in the JSON array bound at `$n`, as a subquery, in each engine's words.
macro_rules! json_ids {
    (sqlite, $n:literal) => {
        concat!("(SELECT value FROM json_each(", $n, "))")
    };
    (postgres, $n:literal) => {
        concat!("(SELECT jsonb_array_elements_text(", $n, "::jsonb)::bigint)")
    };
}

pub(crate) use {json_ids, on_pool, on_tx};

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub(crate) enum Db {
    /// The pool, and the lock that lets one write transaction in at a time: SQLite admits one
    /// writer, and waiting on this lock wakes the next writer at once, where SQLite's own busy
    /// handler would have it sleep and retry.
    Sqlite(SqlitePool, Arc<tokio::sync::Mutex<()>>),
    Postgres(PgPool),
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Db,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.backend())
    }
}

/// A write transaction on either engine.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>, tokio::sync::OwnedMutexGuard<()>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t, _) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(..) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

impl Store {
    /// Opens (creating if needed) the embedded database file: WAL journal, foreign keys on,
    /// a busy timeout so concurrent writers wait rather than fail. The WAL is checkpointed by a
    /// task of its own twice a second rather than by whichever commit crosses the threshold, so
    /// no request waits for a checkpoint's writes and syncs.
    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("wal_autocheckpoint", "0");
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        let checkpoints = pool.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if checkpoints.is_closed() {
                    break;
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&checkpoints).await {
                    tracing::warn!(error = %e, "WAL checkpoint failed; will try again");
                }
            }
        });
        Ok(Store { db: Db::Sqlite(pool, Arc::default()) })
    }

    /// Connects to PostgreSQL.
    pub async fn connect_postgres(url: &str) -> Result<Store> {
        let options =
            PgConnectOptions::from_str(url).map_err(|_| Error::invalid("database", "not a valid postgres:// URL"))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Store { db: Db::Postgres(pool) })
    }

    /// Opens the database a URL names: `postgres://…` or `sqlite://PATH`.
    pub async fn connect(url: &str) -> Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Store::connect_postgres(url).await
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            Store::open_sqlite(Path::new(path)).await
        } else {
            Err(Error::invalid("database", "the database URL must start with postgres:// or sqlite://"))
        }
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies every migration not applied yet.
    pub async fn migrate(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite(p, _) => q10_migrations::SQLITE.run(p).await,
            Db::Postgres(p) => q10_migrations::POSTGRES.run(p).await,
        }
        .map_err(|e| Error::Internal(anyhow::anyhow!("migration failed: {e}")))
    }

    /// Versions of embedded migrations not yet applied to this database.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        let migrator = match self.db {
            Db::Sqlite(..) => &q10_migrations::SQLITE,
            Db::Postgres(_) => &q10_migrations::POSTGRES,
        };
        let applied: Vec<i64> = on_pool!(self, p => {
            let exists: bool = match &self.db {
                Db::Sqlite(..) => sqlx::query_scalar(
                    "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
                ).fetch_one(p).await?,
                Db::Postgres(_) => sqlx::query_scalar(
                    "SELECT COUNT(*) > 0 FROM information_schema.tables WHERE table_name = '_sqlx_migrations' AND table_schema = current_schema()",
                ).fetch_one(p).await?,
            };
            if !exists {
                Vec::new()
            } else {
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(p).await?
            }
        });
        Ok(migrator.iter().map(|m| m.version).filter(|v| !applied.contains(v)).collect())
    }

    /// Brings the tables a bulk import filled to their steady state: the planner's statistics,
    /// and on PostgreSQL the visibility map that index-only scans need (autovacuum and SQLite's
    /// `PRAGMA optimize` would get there on their own, later).
    pub async fn after_bulk_import(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite(p, _) => {
                sqlx::query("ANALYZE").execute(p).await?;
            }
            Db::Postgres(p) => {
                sqlx::query("VACUUM (ANALYZE) complaints, complaint_actions, complaint_rollup, complaint_resolve_hist")
                    .execute(p)
                    .await?;
            }
        }
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("SELECT 1").execute(p).await?;
        });
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so that a transaction that reads before it writes waits for other writers instead of
    /// failing half-way.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match &self.db {
            Db::Sqlite(p, writer) => {
                let turn = writer.clone().lock_owned().await;
                Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    /// The columns of every table, as the database reports them: `(table, column)` pairs sorted.
    /// Used to check that a migrated database has the schema the code expects.
    pub async fn columns(&self) -> Result<Vec<(String, String)>> {
        let mut rows: Vec<(String, String)> = match &self.db {
            Db::Sqlite(p, _) => {
                sqlx::query_as(
                    "SELECT m.name, c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
                )
                .fetch_all(p)
                .await?
            }
            Db::Postgres(p) => {
                sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
                )
                .fetch_all(p)
                .await?
            }
        };
        rows.sort();
        Ok(rows)
    }
}

/// The tables and columns the store's queries use. A migrated database of either engine must
/// have exactly these (checked by the schema test).
pub const EXPECTED_COLUMNS: &[(&str, &[&str])] = &[
    (
        "alerts",
        &[
            "acknowledged_at",
            "acknowledged_by",
            "assignee_id",
            "cleared_at",
            "condition",
            "id",
            "jurisdiction_id",
            "kind",
            "note",
            "raised_at",
            "resolved_at",
            "resolved_by",
            "severity",
            "source_id",
            "source_type",
            "status",
            "title",
            "updated_at",
            "value",
        ],
    ),
    ("api_keys", &["created_at", "id", "key_hash", "name", "prefix", "revoked_at"]),
    ("audit_head", &["hash", "id", "mac", "seq"]),
    (
        "audit_log",
        &[
            "action",
            "actor",
            "actor_id",
            "at",
            "detail",
            "hash",
            "object_id",
            "object_type",
            "prev_hash",
            "seq",
            "source",
        ],
    ),
    ("camera_area_counts", &["area", "back", "camera_id", "forward", "frames", "in_view", "kind", "minute", "peak"]),
    ("camera_counts", &["appeared", "camera_id", "frames", "in_view", "kind", "minute", "peak"]),
    ("camera_segments", &["bytes", "camera_id", "ended_at", "frames", "id", "path", "started_at"]),
    (
        "camera_health",
        &[
            "bitrate",
            "camera_id",
            "checked_at",
            "fault",
            "fps",
            "height",
            "last_keyframe_at",
            "since",
            "state",
            "width",
        ],
    ),
    (
        "cameras",
        &[
            "areas",
            "code",
            "created_at",
            "enabled",
            "heading",
            "id",
            "jurisdiction_id",
            "lat",
            "lon",
            "name",
            "recording",
            "retention_hours",
            "schedule",
            "source_sealed",
            "source_shown",
            "transport",
            "updated_at",
        ],
    ),
    ("civil_extracts", &["content", "id", "issued_at", "issued_by", "mac", "record_id"]),
    ("civil_name_words", &["token"]),
    (
        "civil_record_actions",
        &[
            "action",
            "actor",
            "actor_id",
            "after",
            "at",
            "before",
            "document_ref",
            "id",
            "note_kind",
            "reason",
            "record_id",
            "status_after",
            "status_before",
        ],
    ),
    ("civil_record_ids", &["field", "idx", "record_id"]),
    ("civil_record_tokens", &["record_id", "role", "token"]),
    (
        "civil_records",
        &[
            "assignee_id",
            "book_id",
            "created_at",
            "duplicate_of",
            "entry",
            "event_date",
            "fields",
            "id",
            "ids",
            "kind",
            "name_key",
            "page",
            "parents_key",
            "place_key",
            "registered_on",
            "row_hash",
            "status",
            "updated_at",
        ],
    ),
    (
        "complaint_actions",
        &[
            "action",
            "actor",
            "actor_id",
            "at",
            "complaint_id",
            "detail",
            "id",
            "note",
            "public",
            "status_after",
            "status_before",
        ],
    ),
    (
        "complaint_categories",
        &[
            "active",
            "code",
            "default_team",
            "description",
            "grp",
            "keywords",
            "name_en",
            "name_vi",
            "position",
            "sla_hours",
        ],
    ),
    ("complaint_photos", &["complaint_id", "content", "content_type", "created_at", "id", "sha256", "size"]),
    ("complaint_resolve_hist", &["counts", "day", "grain", "ward_id"]),
    (
        "complaint_rollup",
        &[
            "category_code",
            "day",
            "grain",
            "rating_count",
            "rating_sum",
            "received",
            "resolve_seconds",
            "resolved",
            "resolved_on_time",
            "ward_id",
        ],
    ),
    ("complaint_teams", &["category_code", "jurisdiction_id", "team"]),
    (
        "complaints",
        &[
            "address",
            "api_key_id",
            "category_code",
            "contact",
            "description",
            "due_at",
            "duplicate_of",
            "handler_id",
            "id",
            "is_open",
            "lat",
            "lon",
            "notify",
            "rated_at",
            "rating",
            "rating_comment",
            "resolved_at",
            "source",
            "status",
            "submitted_at",
            "team",
            "token",
            "tracking_hash",
            "updated_at",
            "ward_id",
        ],
    ),
    ("counters", &["name", "value"]),
    (
        "dossier_actions",
        &[
            "action",
            "actor",
            "actor_id",
            "at",
            "detail",
            "dossier_id",
            "id",
            "note",
            "public",
            "status_after",
            "status_before",
            "step_due_at",
        ],
    ),
    (
        "dossier_documents",
        &["content", "content_type", "doc_key", "dossier_id", "filename", "id", "sha256", "size", "uploaded_at"],
    ),
    (
        "dossiers",
        &[
            "apologies",
            "applicant",
            "closed_at",
            "code",
            "due_at",
            "fee",
            "fee_paid",
            "handler_id",
            "id",
            "id_index",
            "is_open",
            "office_id",
            "on_time",
            "procedure_code",
            "rated_at",
            "rating",
            "rating_comment",
            "received_at",
            "result_at",
            "source",
            "status",
            "step_due_at",
            "updated_at",
            "ward_id",
        ],
    ),
    ("holidays", &["day", "name"]),
    (
        "jurisdictions",
        &["boundary", "code", "id", "kind", "name_en", "name_vi", "parent_id", "source_note", "valid_from", "valid_to"],
    ),
    (
        "kiosk_calls",
        &["answered_at", "created_at", "ended_at", "id", "jurisdiction_id", "kiosk_id", "officer_id", "status"],
    ),
    (
        "kiosks",
        &[
            "idle_seconds",
            "languages",
            "last_seen_at",
            "lat",
            "lon",
            "network",
            "printer",
            "screenshot",
            "screenshot_at",
            "screenshot_requested_at",
            "started_at",
            "updated_at",
            "user_id",
            "version",
        ],
    ),
    ("meeting_attendance", &["id", "identity", "joined_at", "left_at", "meeting_id", "name", "unit"]),
    ("meeting_documents", &["content", "id", "meeting_id", "name", "sha256", "size", "uploaded_at", "uploaded_by"]),
    ("meeting_units", &["jurisdiction_id", "meeting_id"]),
    ("meetings", &["created_at", "created_by", "id", "room", "starts_at", "title"]),
    (
        "outbox",
        &[
            "attempts",
            "created_at",
            "delivered_at",
            "destination",
            "event_id",
            "event_type",
            "id",
            "last_error",
            "next_attempt_at",
            "payload",
        ],
    ),
    ("payment_events", &["at", "detail", "id", "kind", "outcome", "payment_id", "provider", "provider_event"]),
    (
        "payments",
        &[
            "amount",
            "created_at",
            "created_by",
            "description",
            "dossier_id",
            "id",
            "idem_key",
            "idem_scope",
            "paid_at",
            "provider",
            "provider_txn",
            "purpose",
            "reference",
            "request_hash",
            "status",
            "updated_at",
            "ward_id",
        ],
    ),
    (
        "procedures",
        &["active", "code", "documents", "fee", "level", "name_en", "name_vi", "office", "position", "working_days"],
    ),
    ("receipts", &["amount", "issued_at", "issued_by", "method", "number", "payment_id"]),
    ("registry_books", &["created_at", "id", "jurisdiction_id", "kind", "volume", "year"]),
    (
        "queue_tickets",
        &[
            "called_at",
            "called_by",
            "created_at",
            "day",
            "desk",
            "id",
            "jurisdiction_id",
            "number",
            "service",
            "source",
            "status",
        ],
    ),
    ("role_grants", &["jurisdiction_id", "role", "user_id"]),
    ("sensor_readings", &["at", "sensor_id", "value"]),
    (
        "sensors",
        &[
            "code",
            "created_at",
            "high",
            "id",
            "jurisdiction_id",
            "kind",
            "last_at",
            "last_value",
            "lat",
            "lon",
            "low",
            "name",
            "severity",
            "unit",
        ],
    ),
    ("sessions", &["created_at", "csrf_hash", "expires_at", "id", "kind", "revoked_at", "token_hash", "user_id"]),
    (
        "th_appointments",
        &[
            "admitted_at",
            "arrived_at",
            "booked_by",
            "cancel_reason",
            "clinic_unit_id",
            "consent_at",
            "consent_by",
            "consent_recording",
            "created_at",
            "doctor_id",
            "end_at",
            "id",
            "note",
            "patient",
            "reminded_at",
            "room",
            "slot_id",
            "start_at",
            "status",
            "updated_at",
            "version",
        ],
    ),
    ("th_participants", &["added_at", "appointment_id", "user_id"]),
    ("th_schedules", &["created_at", "doctor_id", "id"]),
    ("th_slots", &["created_at", "end_at", "id", "schedule_id", "start_at", "status"]),
    (
        "users",
        &[
            "created_at",
            "disabled",
            "display_name",
            "failed_logins",
            "id",
            "kind",
            "locked_until",
            "password_hash",
            "updated_at",
            "username",
        ],
    ),
];
