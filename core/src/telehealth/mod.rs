//! Telehealth (`docs/telehealth.md`): doctors publish slots, ward clinics book them for patients,
//! and at the appointment time the clinic waits until the doctor admits it to the call. Every
//! change is one transaction with its audit row; the patient's details and the visit note are
//! sealed at rest. The media are the SFU's: the core only mints join tokens through
//! [`crate::meeting::RoomTokens`].

pub mod fhir;
mod rules;

use q10_core_api::{
    Appointment, AppointmentStatus as S, AppointmentSummary, CallJoin, CallParticipant, Consent, NewAppointment,
    NewSlots, Patient, PublishedSlots, Role, Slot, SlotStatus,
};
use secrecy::SecretSlice;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

pub use rules::{JOIN_EARLY, JOIN_LATE};

use crate::audit::{self, Actor, AuditKey, Event};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::meeting::RoomGrant;
use crate::store::Store;
use crate::store::telehealth::{self as rows, AppointmentRow, NewAppointmentRow, SlotRow};

/// City doctors: publish slots, admit, write the visit note.
pub const DOCTORS: &[Role] = &[Role::Doctor];
/// Ward health stations' staff: book for patients, consent, wait.
pub const CLINICS: &[Role] = &[Role::ClinicStaff];
/// Everyone who takes part in telehealth.
pub const STAFF: &[Role] = &[Role::Doctor, Role::ClinicStaff];

const PATIENT_CONTEXT: &str = "telehealth.patient";
const NOTE_CONTEXT: &str = "telehealth.note";

/// What the clinic told about the patient: sealed together at rest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatientData {
    pub patient: Patient,
    pub reason: String,
}

pub fn seal_patient(key: &SecretSlice<u8>, p: &PatientData) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(p).map_err(|e| Error::Internal(e.into()))?;
    crate::crypto::seal(key, PATIENT_CONTEXT, &json)
}

pub fn open_patient(key: &SecretSlice<u8>, sealed: &[u8]) -> Result<PatientData> {
    let json = crate::crypto::open(key, PATIENT_CONTEXT, sealed)?;
    serde_json::from_slice(&json).map_err(|e| Error::Internal(e.into()))
}

fn open_note(key: &SecretSlice<u8>, sealed: Option<&[u8]>) -> Result<Option<String>> {
    sealed
        .map(|s| {
            let plain = crate::crypto::open(key, NOTE_CONTEXT, s)?;
            String::from_utf8(plain).map_err(|e| Error::Internal(e.into()))
        })
        .transpose()
}

/// How the caller stands to an appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The appointment's doctor.
    Doctor,
    /// Someone the doctor asked into the call.
    Participant,
    /// Staff of the booking clinic's ward.
    Clinic,
}

/// What is done to an appointment.
#[derive(Debug, Clone)]
pub enum Op {
    Reschedule { slot_id: i64 },
    Cancel { reason: String },
    Consent { recording: bool },
    Arrive,
    Admit,
    AddParticipant { username: String },
    Note { note: String },
    Noshow,
}

impl Op {
    /// The audit log's name of the action.
    fn action(&self) -> &'static str {
        match self {
            Op::Reschedule { .. } => "telehealth.appointment.reschedule",
            Op::Cancel { .. } => "telehealth.appointment.cancel",
            Op::Consent { .. } => "telehealth.appointment.consent",
            Op::Arrive => "telehealth.appointment.arrive",
            Op::Admit => "telehealth.appointment.admit",
            Op::AddParticipant { .. } => "telehealth.appointment.add_participant",
            Op::Note { .. } => "telehealth.appointment.note",
            Op::Noshow => "telehealth.appointment.noshow",
        }
    }
}

pub fn slot_view(s: SlotRow) -> Result<Slot> {
    Ok(Slot {
        id: s.id,
        schedule_id: s.schedule_id,
        doctor_id: s.doctor_id,
        doctor_name: s.doctor_name,
        start: s.start_at,
        end: s.end_at,
        status: SlotStatus::parse(&s.status).ok_or_else(|| Error::Internal(anyhow::anyhow!("slot status")))?,
    })
}

fn status_of(a: &AppointmentRow) -> Result<S> {
    S::parse(&a.status).ok_or_else(|| Error::Internal(anyhow::anyhow!("appointment status {}", a.status)))
}

/// Publishes the doctor's availability: `span` cut into slots.
pub async fn publish(
    state: &AppState,
    who: &Principal,
    span: &NewSlots,
    source: &str,
    now: OffsetDateTime,
) -> Result<PublishedSlots> {
    let cuts = rules::cut(span, now)?;
    let (ids, skipped) =
        publish_cuts(&state.store, &state.secrets.audit, who.actor(), who.user_id, &cuts, source, now).await?;
    let mut created = Vec::with_capacity(ids.len());
    for id in ids {
        created.push(slot_view(state.store.th_slot(id).await?.ok_or(Error::NotFound("slot"))?)?);
    }
    Ok(PublishedSlots { created, skipped })
}

/// Adds the slots `cuts` to the doctor's schedule in one transaction, skipping those that have
/// ended or overlap one the doctor has; the new slots' ids and how many were skipped.
async fn publish_cuts(
    store: &Store,
    key: &AuditKey,
    actor: Actor,
    doctor_id: i64,
    cuts: &[(OffsetDateTime, OffsetDateTime)],
    source: &str,
    now: OffsetDateTime,
) -> Result<(Vec<i64>, i64)> {
    let (Some(first), Some(last)) = (cuts.iter().map(|c| c.0).min(), cuts.iter().map(|c| c.1).max()) else {
        return Ok((Vec::new(), 0));
    };
    let mut tx = store.begin().await?;
    let schedule = rows::schedule_of(&mut tx, doctor_id, now).await?;
    let taken = rows::slot_spans(&mut tx, schedule, first, last).await?;
    let mut ids = Vec::new();
    let mut skipped = 0;
    for &(start, end) in cuts {
        if end <= now || taken.iter().any(|(s, e)| *s < end && start < *e) {
            skipped += 1;
            continue;
        }
        ids.push(rows::insert_slot(&mut tx, schedule, start, end, now).await?);
    }
    let event = Event::new(actor, "telehealth.slots.publish", "th_schedule", schedule)
        .detail(serde_json::json!({ "created": ids.len(), "skipped": skipped }))
        .source(source);
    audit::append(&mut tx, key, event, now).await?;
    tx.commit().await?;
    Ok((ids, skipped))
}

/// The demo doctor's week: slots of 15 minutes for the next three hours, so that a call can be
/// tried at once, then 30-minute slots in office hours (Vietnam's time) on the next 14 working
/// days. Does nothing if the doctor has slots already.
pub async fn demo_slots(store: &Store, key: &AuditKey, doctor_id: i64, now: OffsetDateTime) -> Result<usize> {
    let existing =
        store.th_slots(&rows::SlotFilter { doctor_id: Some(doctor_id), limit: 1, ..Default::default() }).await?;
    if !existing.is_empty() {
        return Ok(0);
    }
    let vn = time::UtcOffset::from_hms(7, 0, 0).expect("UTC+7");
    let quarter = now.replace_second(0).unwrap_or(now).replace_nanosecond(0).unwrap_or(now);
    let quarter = quarter - Duration::minutes(i64::from(quarter.minute() % 15));
    let mut cuts: Vec<_> =
        (0..12).map(|i| (quarter + Duration::minutes(15 * i), quarter + Duration::minutes(15 * (i + 1)))).collect();
    let today = now.to_offset(vn).date();
    let mut day = today;
    let mut days = 0;
    while days < 14 {
        day = day.next_day().expect("a next day");
        if matches!(day.weekday(), time::Weekday::Saturday | time::Weekday::Sunday) {
            continue;
        }
        days += 1;
        for (from, to) in [((8, 0), (11, 30)), ((13, 30), (16, 30))] {
            let mut t = day.with_hms(from.0, from.1, 0).expect("a time").assume_offset(vn);
            let end = day.with_hms(to.0, to.1, 0).expect("a time").assume_offset(vn);
            while t < end {
                if t >= quarter + Duration::hours(3) {
                    cuts.push((t, t + Duration::minutes(30)));
                }
                t += Duration::minutes(30);
            }
        }
    }
    let (ids, _) = publish_cuts(store, key, Actor::system(), doctor_id, &cuts, "demo", now).await?;
    Ok(ids.len())
}

/// The doctor blocks a free slot of theirs, or frees a blocked one.
pub async fn block(
    state: &AppState,
    who: &Principal,
    slot_id: i64,
    blocked: bool,
    source: &str,
    now: OffsetDateTime,
) -> Result<Slot> {
    let slot =
        state.store.th_slot(slot_id).await?.filter(|s| s.doctor_id == who.user_id).ok_or(Error::NotFound("slot"))?;
    let (from, to) = if blocked { ("free", "busy-unavailable") } else { ("busy-unavailable", "free") };
    let mut tx = state.store.begin().await?;
    if !rows::set_slot_status(&mut tx, slot.id, from, to).await? {
        return Err(Error::Conflict(format!("the slot is not {from}")));
    }
    let action = if blocked { "telehealth.slot.block" } else { "telehealth.slot.unblock" };
    audit::append(
        &mut tx,
        &state.secrets.audit,
        Event::new(who.actor(), action, "th_slot", slot.id).source(source),
        now,
    )
    .await?;
    tx.commit().await?;
    slot_view(state.store.th_slot(slot.id).await?.ok_or(Error::NotFound("slot"))?)
}

/// The ward whose clinic the caller works for.
fn clinic_unit(who: &Principal) -> Result<i64> {
    who.grants
        .iter()
        .find(|g| g.role == Role::ClinicStaff.as_str())
        .map(|g| g.jurisdiction_id)
        .ok_or_else(|| Error::Forbidden("booking is for ward clinics' staff".into()))
}

/// A clinic books a free slot for a patient.
pub async fn book(
    state: &AppState,
    who: &Principal,
    new: &NewAppointment,
    source: &str,
    now: OffsetDateTime,
) -> Result<AppointmentRow> {
    let unit = clinic_unit(who)?;
    let data = rules::check_patient(&new.patient, &new.reason, now)?;
    let slot = state.store.th_slot(new.slot_id).await?.ok_or(Error::invalid("slot_id", "no such slot"))?;
    if slot.end_at <= now {
        return Err(Error::Conflict("the slot has ended".into()));
    }
    let sealed = seal_patient(&state.secrets.data_encryption, &data)?;
    let room = {
        use rand::Rng;
        format!("th-{}", hex::encode(rand::rng().random::<[u8; 12]>()))
    };
    let mut tx = state.store.begin().await?;
    if !rows::set_slot_status(&mut tx, slot.id, "free", "busy").await? {
        return Err(Error::Conflict("the slot is not free".into()));
    }
    let row =
        NewAppointmentRow { slot: &slot, clinic_unit_id: unit, booked_by: who.user_id, room: &room, patient: &sealed };
    let id = rows::insert_appointment(&mut tx, &row, now).await?;
    let event = Event::new(who.actor(), "telehealth.appointment.book", "th_appointment", id)
        .detail(serde_json::json!({ "slot": slot.id, "doctor": slot.doctor_id }))
        .source(source);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    state.store.th_appointment(id).await?.ok_or(Error::NotFound("appointment"))
}

/// How `who` stands to the appointment; not found when they may not see it.
pub async fn side(state: &AppState, who: &Principal, a: &AppointmentRow) -> Result<Side> {
    if a.doctor_id == who.user_id && who.has_any_role(DOCTORS) {
        return Ok(Side::Doctor);
    }
    if who.may_act_on(&state.store, CLINICS, a.clinic_unit_id).await? {
        return Ok(Side::Clinic);
    }
    if state.store.th_participants(a.id).await?.iter().any(|(id, _)| *id == who.user_id) {
        return Ok(Side::Participant);
    }
    Err(Error::NotFound("appointment"))
}

/// The appointment and how the caller stands to it.
pub async fn visible(state: &AppState, who: &Principal, id: i64) -> Result<(AppointmentRow, Side)> {
    let a = state.store.th_appointment(id).await?.ok_or(Error::NotFound("appointment"))?;
    let side = side(state, who, &a).await?;
    Ok((a, side))
}

/// Does `op` to the appointment as `who`. With `version`, refuses (409) if the appointment
/// changed since that version was read.
pub async fn apply(
    state: &AppState,
    who: &Principal,
    id: i64,
    version: Option<i64>,
    op: Op,
    source: &str,
    now: OffsetDateTime,
) -> Result<AppointmentRow> {
    let (mut a, side) = visible(state, who, id).await?;
    if version.is_some_and(|v| v != a.version) {
        return Err(Error::Conflict("the appointment changed since it was read".into()));
    }
    let status = status_of(&a)?;
    rules::allowed(&op, side, status, &a, now).map_err(Error::Conflict)?;
    let mut detail = serde_json::json!({});
    let mut new_slot = None;
    let mut participant = None;
    let old_slot = a.slot_id;
    match &op {
        Op::Reschedule { slot_id } => {
            let s = state.store.th_slot(*slot_id).await?.ok_or(Error::invalid("slot_id", "no such slot"))?;
            if s.doctor_id != a.doctor_id && side != Side::Clinic {
                return Err(Error::invalid("slot_id", "a doctor moves an appointment within their own slots"));
            }
            if s.end_at <= now {
                return Err(Error::Conflict("the slot has ended".into()));
            }
            detail = serde_json::json!({ "from_slot": a.slot_id, "to_slot": s.id });
            a.slot_id = s.id;
            a.doctor_id = s.doctor_id;
            a.start_at = s.start_at;
            a.end_at = s.end_at;
            a.consent_at = None;
            a.consent_by = None;
            a.consent_recording = false;
            a.reminded_at = None;
            new_slot = Some(s);
        }
        Op::Cancel { reason } => {
            a.cancel_reason = Some(rules::text("reason", reason, 1, 500)?);
            a.status = S::Cancelled.as_str().into();
        }
        Op::Consent { recording } => {
            a.consent_at = Some(now);
            a.consent_by = Some(who.user_id);
            a.consent_recording = *recording;
            detail = serde_json::json!({ "recording": recording });
        }
        Op::Arrive => {
            a.arrived_at = Some(now);
            a.status = S::Arrived.as_str().into();
        }
        Op::Admit => a.admitted_at = Some(now),
        Op::AddParticipant { username } => {
            let (u, grants) = crate::account::colleague(&state.store, username).await?;
            if !grants.iter().any(|g| STAFF.iter().any(|r| r.as_str() == g.role)) {
                return Err(Error::invalid("username", "only doctors and clinic staff can be asked into a call"));
            }
            if u.id == a.doctor_id {
                return Err(Error::invalid("username", "the doctor is in the call already"));
            }
            detail = serde_json::json!({ "user": u.id });
            participant = Some(u.id);
        }
        Op::Note { note } => {
            let note = rules::text("note", note, 1, 5000)?;
            a.note = Some(crate::crypto::seal(&state.secrets.data_encryption, NOTE_CONTEXT, note.as_bytes())?);
            a.status = S::Fulfilled.as_str().into();
        }
        Op::Noshow => a.status = S::Noshow.as_str().into(),
    }
    let mut tx = state.store.begin().await?;
    if let Some(s) = &new_slot
        && !rows::set_slot_status(&mut tx, s.id, "free", "busy").await?
    {
        return Err(Error::Conflict("the slot is not free".into()));
    }
    let frees_slot = new_slot.is_some() || matches!(op, Op::Cancel { .. });
    if frees_slot {
        rows::set_slot_status(&mut tx, old_slot, "busy", "free").await?;
    }
    if !rows::save_appointment(&mut tx, &a, now).await? {
        return Err(Error::Conflict("the appointment changed meanwhile; try again".into()));
    }
    if let Some(user) = participant {
        rows::add_participant(&mut tx, a.id, user, now).await?;
    }
    let action = op.action();
    let event = Event::new(who.actor(), action, "th_appointment", a.id).detail(detail).source(source);
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    tracing::debug!(appointment = a.id, action, "telehealth appointment changed");
    state.store.th_appointment(a.id).await?.ok_or(Error::NotFound("appointment"))
}

/// The appointment in full, for someone who may see it; the read is audited.
pub async fn view(state: &AppState, who: &Principal, a: AppointmentRow, source: &str) -> Result<Appointment> {
    let key = &state.secrets.data_encryption;
    let data = open_patient(key, &a.patient)?;
    let note = open_note(key, a.note.as_deref())?;
    let participants = state.store.th_participants(a.id).await?;
    let mut tx = state.store.begin().await?;
    let event = Event::new(who.actor(), "telehealth.appointment.view", "th_appointment", a.id).source(source);
    audit::append(&mut tx, &state.secrets.audit, event, state.now()).await?;
    tx.commit().await?;
    Ok(Appointment {
        id: a.id,
        status: status_of(&a)?,
        slot_id: a.slot_id,
        start: a.start_at,
        end: a.end_at,
        doctor_id: a.doctor_id,
        doctor_name: a.doctor_name,
        clinic_unit: a.clinic_unit,
        clinic_name: a.clinic_name,
        booked_by: a.booked_by_name,
        patient: data.patient,
        reason: data.reason,
        consent: a.consent_at.map(|at| Consent {
            call: true,
            recording: a.consent_recording,
            by: a.consent_by_name.clone().unwrap_or_default(),
            at,
        }),
        arrived_at: a.arrived_at,
        admitted_at: a.admitted_at,
        reminded_at: a.reminded_at,
        note,
        cancel_reason: a.cancel_reason,
        participants: participants.into_iter().map(|(user_id, name)| CallParticipant { user_id, name }).collect(),
        version: a.version,
    })
}

/// An appointment in a list: the patient's name and year of birth only.
pub fn summary(key: &SecretSlice<u8>, a: AppointmentRow) -> Result<AppointmentSummary> {
    let data = open_patient(key, &a.patient)?;
    let status = status_of(&a)?;
    Ok(AppointmentSummary {
        id: a.id,
        status,
        slot_id: a.slot_id,
        start: a.start_at,
        end: a.end_at,
        doctor_id: a.doctor_id,
        doctor_name: a.doctor_name,
        clinic_unit: a.clinic_unit,
        clinic_name: a.clinic_name,
        patient_name: data.patient.name,
        patient_birth_year: data.patient.birth_year,
        waiting: status == S::Arrived && a.admitted_at.is_none(),
        admitted: a.admitted_at.is_some(),
    })
}

/// A join token for the call: at once for the doctor, and for the clinic and the participants
/// once the doctor has admitted the clinic.
pub async fn join(state: &AppState, who: &Principal, id: i64, now: OffsetDateTime) -> Result<CallJoin> {
    let (a, side) = visible(state, who, id).await?;
    rules::may_join(status_of(&a)?, side, &a, now).map_err(Error::Conflict)?;
    let waiting = CallJoin {
        admitted: false,
        room: None,
        token: None,
        identity: None,
        name: None,
        role: None,
        recording_allowed: a.consent_recording,
    };
    if side != Side::Doctor && a.admitted_at.is_none() {
        return Ok(waiting);
    }
    let Some(tokens) = &state.room_tokens else {
        return Err(Error::Unavailable("calls are not running in this deployment".into()));
    };
    let name = match side {
        Side::Clinic => format!("{} — {}", a.clinic_name, who.display_name),
        _ => who.display_name.clone(),
    };
    let grant = RoomGrant {
        room: a.room.clone(),
        identity: format!("user-{}", who.user_id),
        name,
        host: side == Side::Doctor,
        unit: None,
        ttl: (a.end_at + JOIN_LATE - now).max(Duration::minutes(5)),
        record: a.consent_recording,
        listen_only: false,
    };
    let token = tokens.mint(&grant, now)?;
    Ok(CallJoin {
        admitted: true,
        room: Some(grant.room),
        token: Some(token),
        identity: Some(grant.identity),
        name: Some(grant.name),
        role: Some(if grant.host { "host" } else { "speaker" }.into()),
        recording_allowed: a.consent_recording,
    })
}

/// A reminder to a patient of their appointment, sent through the notifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reminder {
    pub appointment_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    pub doctor_name: String,
    pub clinic_name: String,
}

/// How long before the start a reminder goes out.
pub const REMIND_BEFORE: Duration = Duration::hours(24);

/// Queues a reminder for every booked appointment starting within a day that has had none; how
/// many were queued.
pub async fn queue_reminders(state: &AppState, now: OffsetDateTime) -> Result<usize> {
    let due = state.store.th_due_reminders(now, now + REMIND_BEFORE).await?;
    let mut queued = 0;
    for id in due {
        let Some(mut a) = state.store.th_appointment(id).await? else { continue };
        a.reminded_at = Some(now);
        let reminder = Reminder {
            appointment_id: a.id,
            start: a.start_at,
            doctor_name: a.doctor_name.clone(),
            clinic_name: a.clinic_name.clone(),
        };
        let mut tx = state.store.begin().await?;
        if !rows::save_appointment(&mut tx, &a, now).await? {
            continue;
        }
        crate::outbox::enqueue_reminder(&mut tx, &format!("th-reminder-{}-{}", a.id, a.version), &reminder, now)
            .await?;
        let event = Event::new(Actor::system(), "telehealth.appointment.remind", "th_appointment", a.id);
        audit::append(&mut tx, &state.secrets.audit, event, now).await?;
        tx.commit().await?;
        queued += 1;
    }
    if queued > 0 {
        state.outbox_wake.notify_one();
    }
    Ok(queued)
}

/// Queues reminders every minute until the process ends.
pub async fn run_reminders(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = queue_reminders(&state, state.now()).await {
            tracing::warn!(error = %e, "telehealth reminders failed");
        }
    }
}
