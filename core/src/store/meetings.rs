//! Meetings, their invited units, documents and attendance.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Store, Ts, Tx, on_pool, on_tx};
use crate::Result;

/// A row of `meetings` with its host's name.
#[derive(Debug, Clone, FromRow)]
pub struct MeetingRow {
    pub id: i64,
    pub title: String,
    pub room: String,
    pub starts_at: OffsetDateTime,
    pub created_by: i64,
    pub host_name: String,
    pub created_at: OffsetDateTime,
}

/// An invited unit of a meeting.
#[derive(Debug, Clone, FromRow)]
pub struct MeetingUnitRow {
    pub meeting_id: i64,
    pub jurisdiction_id: i64,
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
}

/// A document's description, without its content.
#[derive(Debug, Clone, FromRow)]
pub struct DocumentRow {
    pub id: String,
    pub meeting_id: i64,
    pub name: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: OffsetDateTime,
}

/// One stay in a meeting's room.
#[derive(Debug, Clone, FromRow)]
pub struct AttendanceRow {
    pub identity: String,
    pub name: String,
    pub unit: Option<String>,
    pub joined_at: OffsetDateTime,
    pub left_at: Option<OffsetDateTime>,
}

macro_rules! meeting_select {
    () => {
        "SELECT m.id, m.title, m.room, m.starts_at, m.created_by, u.display_name AS host_name, m.created_at \
         FROM meetings m JOIN users u ON u.id = m.created_by"
    };
}

pub(crate) struct NewMeetingRow<'a> {
    pub title: &'a str,
    pub room: &'a str,
    pub starts_at: OffsetDateTime,
    pub created_by: i64,
    pub units: &'a [i64],
}

pub(crate) async fn insert(tx: &mut Tx, m: &NewMeetingRow<'_>, now: OffsetDateTime) -> Result<i64> {
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO meetings (title, room, starts_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(m.title)
    .bind(m.room)
    .bind(Ts(m.starts_at))
    .bind(m.created_by)
    .bind(Ts(now))
    .fetch_one(c)
    .await?);
    for unit in m.units {
        on_tx!(tx, c => {
            sqlx::query("INSERT INTO meeting_units (meeting_id, jurisdiction_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(*unit)
                .execute(c)
                .await?;
        });
    }
    Ok(id)
}

pub(crate) struct NewDocumentRow<'a> {
    pub id: &'a str,
    pub meeting_id: i64,
    pub name: &'a str,
    pub sha256: &'a str,
    pub content: &'a [u8],
    pub uploaded_by: i64,
}

pub(crate) async fn insert_document(tx: &mut Tx, d: &NewDocumentRow<'_>, now: OffsetDateTime) -> Result<()> {
    let size = i64::try_from(d.content.len()).expect("document size fits i64");
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO meeting_documents (id, meeting_id, name, size, sha256, content, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(d.id)
        .bind(d.meeting_id)
        .bind(d.name)
        .bind(size)
        .bind(d.sha256)
        .bind(d.content)
        .bind(d.uploaded_by)
        .bind(Ts(now))
        .execute(c)
        .await?;
    });
    Ok(())
}

impl Store {
    pub async fn meeting(&self, id: i64) -> Result<Option<MeetingRow>> {
        let sql = concat!(meeting_select!(), " WHERE m.id = $1");
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(id).fetch_optional(p).await?))
    }

    pub async fn meeting_by_room(&self, room: &str) -> Result<Option<MeetingRow>> {
        let sql = concat!(meeting_select!(), " WHERE m.room = $1");
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(room).fetch_optional(p).await?))
    }

    /// Meetings starting at or after `since`, soonest first.
    pub async fn meetings_since(&self, since: OffsetDateTime) -> Result<Vec<MeetingRow>> {
        let sql = concat!(meeting_select!(), " WHERE m.starts_at >= $1 ORDER BY m.starts_at, m.id");
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(Ts(since)).fetch_all(p).await?))
    }

    /// The invited units of the given meetings, in code order for each.
    pub async fn meeting_units(&self, meeting_ids: &[i64]) -> Result<Vec<MeetingUnitRow>> {
        let mut out = Vec::new();
        for id in meeting_ids {
            let rows: Vec<MeetingUnitRow> = on_pool!(self, p => sqlx::query_as(
                "SELECT mu.meeting_id, mu.jurisdiction_id, j.code, j.name_vi, j.name_en \
                 FROM meeting_units mu JOIN jurisdictions j ON j.id = mu.jurisdiction_id \
                 WHERE mu.meeting_id = $1 ORDER BY j.code",
            )
            .bind(*id)
            .fetch_all(p)
            .await?);
            out.extend(rows);
        }
        Ok(out)
    }

    pub async fn meeting_documents(&self, meeting_id: i64) -> Result<Vec<DocumentRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT d.id, d.meeting_id, d.name, d.size, d.sha256, u.display_name AS uploaded_by, d.uploaded_at \
             FROM meeting_documents d JOIN users u ON u.id = d.uploaded_by \
             WHERE d.meeting_id = $1 ORDER BY d.uploaded_at, d.id",
        )
        .bind(meeting_id)
        .fetch_all(p)
        .await?))
    }

    /// A document's name and content.
    pub async fn meeting_document_content(&self, meeting_id: i64, id: &str) -> Result<Option<(String, Vec<u8>)>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT name, content FROM meeting_documents WHERE meeting_id = $1 AND id = $2",
        )
        .bind(meeting_id)
        .bind(id)
        .fetch_optional(p)
        .await?))
    }

    pub async fn attendance(&self, meeting_id: i64) -> Result<Vec<AttendanceRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT identity, name, unit, joined_at, left_at FROM meeting_attendance \
             WHERE meeting_id = $1 ORDER BY joined_at, id",
        )
        .bind(meeting_id)
        .fetch_all(p)
        .await?))
    }

    /// Starts a stay in a meeting's room.
    pub async fn attendance_joined(
        &self,
        meeting_id: i64,
        identity: &str,
        name: &str,
        unit: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO meeting_attendance (meeting_id, identity, name, unit, joined_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(meeting_id)
            .bind(identity)
            .bind(name)
            .bind(unit)
            .bind(Ts(at))
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Ends the open stays of `identity` in a meeting's room.
    pub async fn attendance_left(&self, meeting_id: i64, identity: &str, at: OffsetDateTime) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query(
                "UPDATE meeting_attendance SET left_at = $3 WHERE meeting_id = $1 AND identity = $2 AND left_at IS NULL",
            )
            .bind(meeting_id)
            .bind(identity)
            .bind(Ts(at))
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Ends every open stay: at start-up, nobody is in any room any more.
    pub async fn attendance_close_all(&self, at: OffsetDateTime) -> Result<u64> {
        Ok(on_pool!(self, p => sqlx::query("UPDATE meeting_attendance SET left_at = $1 WHERE left_at IS NULL")
            .bind(Ts(at))
            .execute(p)
            .await?
            .rows_affected()))
    }
}
