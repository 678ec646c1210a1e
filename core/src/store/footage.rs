//! Camera footage: the segment files written, by camera and time.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Store, Ts, Tx, on_pool, on_tx};
use crate::Result;

#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct SegmentRow {
    pub id: i64,
    pub camera_id: i64,
    pub started_at: OffsetDateTime,
    pub ended_at: OffsetDateTime,
    /// Relative to the footage folder.
    pub path: String,
    pub bytes: i64,
    pub frames: i64,
}

/// A segment to keep; one already known (by its path) is left as it is.
pub(crate) async fn insert_segment(
    tx: &mut Tx,
    camera_id: i64,
    path: &str,
    span: (OffsetDateTime, OffsetDateTime),
    bytes: i64,
    frames: i64,
) -> Result<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO camera_segments (camera_id, started_at, ended_at, path, bytes, frames) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (path) DO NOTHING",
    )
    .bind(camera_id)
    .bind(Ts(span.0))
    .bind(Ts(span.1))
    .bind(path)
    .bind(bytes)
    .bind(frames)
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

pub(crate) async fn delete_segments(tx: &mut Tx, ids: &[i64]) -> Result<()> {
    for id in ids {
        on_tx!(tx, c => sqlx::query("DELETE FROM camera_segments WHERE id = $1").bind(id).execute(c).await?.rows_affected());
    }
    Ok(())
}

impl Store {
    /// A camera's segments that overlap `from`..`to`, oldest first, at most `limit`.
    pub async fn segments(
        &self,
        camera_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<SegmentRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, camera_id, started_at, ended_at, path, bytes, frames FROM camera_segments \
             WHERE camera_id = $1 AND ended_at > $2 AND started_at < $3 ORDER BY started_at LIMIT $4",
        )
        .bind(camera_id)
        .bind(Ts(from))
        .bind(Ts(to))
        .bind(limit)
        .fetch_all(p)
        .await?))
    }

    /// A camera's segments that ended before `before`, oldest first, at most `limit`.
    pub async fn segments_ended_before(
        &self,
        camera_id: i64,
        before: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<SegmentRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, camera_id, started_at, ended_at, path, bytes, frames FROM camera_segments \
             WHERE camera_id = $1 AND ended_at < $2 ORDER BY started_at LIMIT $3",
        )
        .bind(camera_id)
        .bind(Ts(before))
        .bind(limit)
        .fetch_all(p)
        .await?))
    }

    /// The oldest segments of all cameras, at most `limit`.
    pub async fn oldest_segments(&self, limit: i64) -> Result<Vec<SegmentRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, camera_id, started_at, ended_at, path, bytes, frames FROM camera_segments \
             ORDER BY started_at LIMIT $1",
        )
        .bind(limit)
        .fetch_all(p)
        .await?))
    }

    /// Bytes of footage kept, over all cameras.
    pub async fn footage_bytes(&self) -> Result<i64> {
        let total: Option<i64> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT CAST(SUM(bytes) AS BIGINT) FROM camera_segments",
        )
        .fetch_one(p)
        .await?);
        Ok(total.unwrap_or(0))
    }
}
