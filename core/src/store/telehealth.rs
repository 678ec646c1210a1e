//! Telehealth: schedules, slots, appointments and the call's extra participants.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Store, Ts, Tx, on_pool, on_tx};
use crate::Result;

#[derive(Debug, Clone, FromRow)]
pub struct ScheduleRow {
    pub id: i64,
    pub doctor_id: i64,
    pub doctor_name: String,
    pub created_at: OffsetDateTime,
}

macro_rules! schedule_select {
    () => {
        "SELECT h.id, h.doctor_id, u.display_name AS doctor_name, h.created_at FROM th_schedules h \
         JOIN users u ON u.id = h.doctor_id"
    };
}

#[derive(Debug, Clone, FromRow)]
pub struct DoctorRow {
    pub id: i64,
    pub name: String,
    pub schedule_id: i64,
    pub free_slots: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct SlotRow {
    pub id: i64,
    pub schedule_id: i64,
    pub doctor_id: i64,
    pub doctor_name: String,
    pub start_at: OffsetDateTime,
    pub end_at: OffsetDateTime,
    pub status: String,
}

macro_rules! slot_select {
    () => {
        "SELECT s.id, s.schedule_id, h.doctor_id, u.display_name AS doctor_name, s.start_at, s.end_at, s.status \
         FROM th_slots s JOIN th_schedules h ON h.id = s.schedule_id JOIN users u ON u.id = h.doctor_id"
    };
}

/// An appointment as stored; its mutable part is written back whole by [`save_appointment`].
#[derive(Debug, Clone, FromRow)]
pub struct AppointmentRow {
    pub id: i64,
    pub slot_id: i64,
    pub doctor_id: i64,
    pub doctor_name: String,
    pub start_at: OffsetDateTime,
    pub end_at: OffsetDateTime,
    pub status: String,
    pub clinic_unit_id: i64,
    pub clinic_unit: String,
    pub clinic_name: String,
    pub booked_by: i64,
    pub booked_by_name: String,
    pub room: String,
    pub patient: Vec<u8>,
    pub consent_at: Option<OffsetDateTime>,
    pub consent_by: Option<i64>,
    pub consent_by_name: Option<String>,
    pub consent_recording: bool,
    pub arrived_at: Option<OffsetDateTime>,
    pub admitted_at: Option<OffsetDateTime>,
    pub reminded_at: Option<OffsetDateTime>,
    pub note: Option<Vec<u8>>,
    pub cancel_reason: Option<String>,
    pub version: i64,
}

macro_rules! appointment_select {
    () => {
        "SELECT a.id, a.slot_id, a.doctor_id, d.display_name AS doctor_name, a.start_at, a.end_at, a.status, \
         a.clinic_unit_id, j.code AS clinic_unit, j.name_vi AS clinic_name, a.booked_by, b.display_name AS booked_by_name, \
         a.room, a.patient, a.consent_at, a.consent_by, c.display_name AS consent_by_name, a.consent_recording, \
         a.arrived_at, a.admitted_at, a.reminded_at, a.note, a.cancel_reason, a.version \
         FROM th_appointments a JOIN users d ON d.id = a.doctor_id JOIN users b ON b.id = a.booked_by \
         JOIN jurisdictions j ON j.id = a.clinic_unit_id LEFT JOIN users c ON c.id = a.consent_by"
    };
}

/// Which slots to list.
#[derive(Debug, Default, Clone)]
pub struct SlotFilter<'a> {
    pub schedule_id: Option<i64>,
    pub doctor_id: Option<i64>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub status: Option<&'a str>,
    pub limit: i64,
}

/// Which appointments to list: those of a doctor (including calls they were asked into), or of a
/// clinic's ward.
#[derive(Debug, Default, Clone)]
pub struct AppointmentFilter<'a> {
    pub doctor_id: Option<i64>,
    pub clinic_unit_id: Option<i64>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub status: Option<&'a str>,
    pub limit: i64,
}

pub(crate) struct NewAppointmentRow<'a> {
    pub slot: &'a SlotRow,
    pub clinic_unit_id: i64,
    pub booked_by: i64,
    pub room: &'a str,
    pub patient: &'a [u8],
}

/// The doctor's schedule, made on first use.
pub(crate) async fn schedule_of(tx: &mut Tx, doctor_id: i64, now: OffsetDateTime) -> Result<i64> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO th_schedules (doctor_id, created_at) VALUES ($1, $2) ON CONFLICT (doctor_id) DO NOTHING",
    )
    .bind(doctor_id)
    .bind(Ts(now))
    .execute(c)
    .await?
    .rows_affected());
    Ok(on_tx!(tx, c => sqlx::query_scalar("SELECT id FROM th_schedules WHERE doctor_id = $1")
        .bind(doctor_id)
        .fetch_one(c)
        .await?))
}

/// The spans of the schedule's slots that end after `from` and start before `to`.
pub(crate) async fn slot_spans(
    tx: &mut Tx,
    schedule_id: i64,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<(OffsetDateTime, OffsetDateTime)>> {
    Ok(on_tx!(tx, c => sqlx::query_as(
        "SELECT start_at, end_at FROM th_slots WHERE schedule_id = $1 AND end_at > $2 AND start_at < $3",
    )
    .bind(schedule_id)
    .bind(Ts(from))
    .bind(Ts(to))
    .fetch_all(c)
    .await?))
}

pub(crate) async fn insert_slot(
    tx: &mut Tx,
    schedule_id: i64,
    start: OffsetDateTime,
    end: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO th_slots (schedule_id, start_at, end_at, status, created_at) VALUES ($1, $2, $3, 'free', $4) \
         RETURNING id",
    )
    .bind(schedule_id)
    .bind(Ts(start))
    .bind(Ts(end))
    .bind(Ts(now))
    .fetch_one(c)
    .await?))
}

/// Moves a slot from `from` to `to`; false when it was not in `from`.
pub(crate) async fn set_slot_status(tx: &mut Tx, id: i64, from: &str, to: &str) -> Result<bool> {
    Ok(on_tx!(tx, c => sqlx::query("UPDATE th_slots SET status = $3 WHERE id = $1 AND status = $2")
        .bind(id)
        .bind(from)
        .bind(to)
        .execute(c)
        .await?
        .rows_affected())
        == 1)
}

pub(crate) async fn insert_appointment(tx: &mut Tx, a: &NewAppointmentRow<'_>, now: OffsetDateTime) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO th_appointments (slot_id, doctor_id, start_at, end_at, status, clinic_unit_id, booked_by, room, \
         patient, created_at, updated_at) VALUES ($1, $2, $3, $4, 'booked', $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(a.slot.id)
    .bind(a.slot.doctor_id)
    .bind(Ts(a.slot.start_at))
    .bind(Ts(a.slot.end_at))
    .bind(a.clinic_unit_id)
    .bind(a.booked_by)
    .bind(a.room)
    .bind(a.patient)
    .bind(Ts(now))
    .fetch_one(c)
    .await?))
}

/// Writes back an appointment's mutable part if nobody changed it since it was read (its
/// version); false otherwise. The version goes up by one.
pub(crate) async fn save_appointment(tx: &mut Tx, a: &AppointmentRow, now: OffsetDateTime) -> Result<bool> {
    Ok(on_tx!(tx, c => sqlx::query(
        "UPDATE th_appointments SET slot_id = $2, start_at = $3, end_at = $4, status = $5, consent_at = $6, \
         consent_by = $7, consent_recording = $8, arrived_at = $9, admitted_at = $10, reminded_at = $11, note = $12, \
         cancel_reason = $13, version = version + 1, updated_at = $14 WHERE id = $1 AND version = $15",
    )
    .bind(a.id)
    .bind(a.slot_id)
    .bind(Ts(a.start_at))
    .bind(Ts(a.end_at))
    .bind(&a.status)
    .bind(a.consent_at.map(Ts))
    .bind(a.consent_by)
    .bind(a.consent_recording)
    .bind(a.arrived_at.map(Ts))
    .bind(a.admitted_at.map(Ts))
    .bind(a.reminded_at.map(Ts))
    .bind(a.note.as_deref())
    .bind(a.cancel_reason.as_deref())
    .bind(Ts(now))
    .bind(a.version)
    .execute(c)
    .await?
    .rows_affected())
        == 1)
}

pub(crate) async fn add_participant(tx: &mut Tx, appointment_id: i64, user_id: i64, now: OffsetDateTime) -> Result<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO th_participants (appointment_id, user_id, added_at) VALUES ($1, $2, $3) \
         ON CONFLICT (appointment_id, user_id) DO NOTHING",
    )
    .bind(appointment_id)
    .bind(user_id)
    .bind(Ts(now))
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

impl Store {
    pub async fn th_schedules(&self) -> Result<Vec<ScheduleRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(schedule_select!(), " ORDER BY h.id")).fetch_all(p).await?))
    }

    pub async fn th_schedule(&self, id: i64) -> Result<Option<ScheduleRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(schedule_select!(), " WHERE h.id = $1"))
            .bind(id)
            .fetch_optional(p)
            .await?))
    }

    /// Doctors with a schedule and an enabled account, with their free slots from `now` on.
    pub async fn th_doctors(&self, now: OffsetDateTime) -> Result<Vec<DoctorRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT u.id, u.display_name AS name, h.id AS schedule_id, \
             (SELECT COUNT(*) FROM th_slots s WHERE s.schedule_id = h.id AND s.status = 'free' AND s.end_at > $1) \
             AS free_slots FROM th_schedules h JOIN users u ON u.id = h.doctor_id WHERE NOT u.disabled \
             ORDER BY u.display_name, u.id",
        )
        .bind(Ts(now))
        .fetch_all(p)
        .await?))
    }

    pub async fn th_slot(&self, id: i64) -> Result<Option<SlotRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(slot_select!(), " WHERE s.id = $1"))
            .bind(id)
            .fetch_optional(p)
            .await?))
    }

    /// Slots, soonest first.
    pub async fn th_slots(&self, f: &SlotFilter<'_>) -> Result<Vec<SlotRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(
            slot_select!(),
            " WHERE ($1 IS NULL OR s.schedule_id = $1) AND ($2 IS NULL OR h.doctor_id = $2) \
              AND ($3 IS NULL OR s.start_at >= $3) AND ($4 IS NULL OR s.start_at < $4) \
              AND ($5 IS NULL OR s.status = $5) ORDER BY s.start_at, s.id LIMIT $6"
        ))
        .bind(f.schedule_id)
        .bind(f.doctor_id)
        .bind(f.from.map(Ts))
        .bind(f.to.map(Ts))
        .bind(f.status)
        .bind(f.limit)
        .fetch_all(p)
        .await?))
    }

    pub async fn th_appointment(&self, id: i64) -> Result<Option<AppointmentRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(appointment_select!(), " WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(p)
            .await?))
    }

    /// Appointments, soonest first.
    pub async fn th_appointments(&self, f: &AppointmentFilter<'_>) -> Result<Vec<AppointmentRow>> {
        Ok(on_pool!(self, p => sqlx::query_as(concat!(
            appointment_select!(),
            " WHERE ($1 IS NULL OR a.doctor_id = $1 OR a.id IN \
              (SELECT appointment_id FROM th_participants WHERE user_id = $1)) \
              AND ($2 IS NULL OR a.clinic_unit_id = $2) AND ($3 IS NULL OR a.start_at >= $3) \
              AND ($4 IS NULL OR a.start_at < $4) AND ($5 IS NULL OR a.status = $5) \
              ORDER BY a.start_at, a.id LIMIT $6"
        ))
        .bind(f.doctor_id)
        .bind(f.clinic_unit_id)
        .bind(f.from.map(Ts))
        .bind(f.to.map(Ts))
        .bind(f.status)
        .bind(f.limit)
        .fetch_all(p)
        .await?))
    }

    /// The people the doctor asked into the call: (account id, name).
    pub async fn th_participants(&self, appointment_id: i64) -> Result<Vec<(i64, String)>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT u.id, u.display_name FROM th_participants t JOIN users u ON u.id = t.user_id \
             WHERE t.appointment_id = $1 ORDER BY t.added_at, u.id",
        )
        .bind(appointment_id)
        .fetch_all(p)
        .await?))
    }

    /// Booked appointments starting after `now` and before `until` that have had no reminder.
    pub async fn th_due_reminders(&self, now: OffsetDateTime, until: OffsetDateTime) -> Result<Vec<i64>> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT id FROM th_appointments WHERE status = 'booked' AND reminded_at IS NULL \
             AND start_at > $1 AND start_at <= $2 ORDER BY start_at LIMIT 500",
        )
        .bind(Ts(now))
        .bind(Ts(until))
        .fetch_all(p)
        .await?))
    }
}
