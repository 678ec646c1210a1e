//! Queue tickets.

use sqlx::FromRow;
use time::{Date, OffsetDateTime};

use super::{Backend, Store, Ts, Tx, on_pool, on_tx};
use crate::Result;

#[derive(Debug, Clone, FromRow)]
pub struct TicketRow {
    pub id: i64,
    pub number: i64,
    pub service: String,
    pub status: String,
    pub desk: Option<String>,
    pub created_at: OffsetDateTime,
    pub called_at: Option<OffsetDateTime>,
}

macro_rules! ticket_select {
    () => {
        "SELECT id, number, service, status, desk, created_at, called_at FROM queue_tickets"
    };
}

/// A ticket with the day's next number at the office. Tickets of one office and day are numbered
/// one at a time: SQLite's write transaction already orders them, PostgreSQL takes a lock for the
/// office's day (the unique key is the last guard, and the caller tries again if it trips).
pub(crate) async fn insert(
    tx: &mut Tx,
    unit: i64,
    day: Date,
    service: &str,
    source: &str,
    now: OffsetDateTime,
) -> std::result::Result<i64, sqlx::Error> {
    if tx.backend() == Backend::Postgres {
        on_tx!(tx, c => {
            sqlx::query("SELECT pg_advisory_xact_lock($1::int, $2::int)")
                .bind(unit as i32)
                .bind(day.to_julian_day())
                .execute(c)
                .await?;
        });
    }
    on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO queue_tickets (jurisdiction_id, day, number, service, status, source, created_at) \
         SELECT $1, $2, COALESCE(MAX(number), 0) + 1, $3, 'waiting', $4, $5 FROM queue_tickets \
         WHERE jurisdiction_id = $1 AND day = $2 RETURNING number",
    )
    .bind(unit)
    .bind(day)
    .bind(service)
    .bind(source)
    .bind(Ts(now))
    .fetch_one(c)
    .await)
}

/// The desk's ticket served, and the first waiting one called to it; the number called.
pub(crate) async fn call_next(
    tx: &mut Tx,
    unit: i64,
    day: Date,
    desk: &str,
    by: i64,
    now: OffsetDateTime,
) -> Result<Option<TicketRow>> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE queue_tickets SET status = 'served' WHERE jurisdiction_id = $1 AND day = $2 AND desk = $3 \
         AND status = 'called'",
    )
    .bind(unit)
    .bind(day)
    .bind(desk)
    .execute(c)
    .await
    .map(|_| ())?);
    let next: Option<i64> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT id FROM queue_tickets WHERE jurisdiction_id = $1 AND day = $2 AND status = 'waiting' \
         ORDER BY number LIMIT 1",
    )
    .bind(unit)
    .bind(day)
    .fetch_optional(c)
    .await?);
    let Some(id) = next else { return Ok(None) };
    // Another desk may have called it meanwhile: only a ticket still waiting is taken.
    let taken = on_tx!(tx, c => sqlx::query(
        "UPDATE queue_tickets SET status = 'called', desk = $2, called_by = $3, called_at = $4 \
         WHERE id = $1 AND status = 'waiting'",
    )
    .bind(id)
    .bind(desk)
    .bind(by)
    .bind(Ts(now))
    .execute(c)
    .await?
    .rows_affected());
    if taken == 0 {
        return Ok(None);
    }
    Ok(on_tx!(tx, c => sqlx::query_as(concat!(ticket_select!(), " WHERE id = $1"))
        .bind(id)
        .fetch_optional(c)
        .await?))
}

impl Store {
    /// The office's tickets of the day, by number.
    pub async fn queue_day(&self, unit: i64, day: Date) -> Result<Vec<TicketRow>> {
        Ok(
            on_pool!(self, p => sqlx::query_as(concat!(ticket_select!(), " WHERE jurisdiction_id = $1 AND day = $2 ORDER BY number"))
            .bind(unit)
            .bind(day)
            .fetch_all(p)
            .await?),
        )
    }
}
