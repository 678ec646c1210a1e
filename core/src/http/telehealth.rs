//! Telehealth over the API: doctors' slots, appointments and their actions, and joining the call.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use q10_core_api::{
    AddParticipant, Appointment, AppointmentStatus, AppointmentSummary, CallJoin, CancelRequest, ConsentRequest,
    Doctor, NewAppointment, NewSlots, PublishedSlots, RescheduleRequest, Slot, SlotStatus, VisitNote,
};
use serde::Deserialize;
use time::OffsetDateTime;

use super::AppState;
use super::access::{Access, Caller, Routes, Source};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::error::{Error, Result};
use crate::store::telehealth::{AppointmentFilter, SlotFilter};
use crate::telehealth::{self, CLINICS, DOCTORS, Op, STAFF, Side};

pub(super) fn routes(r: Routes) -> Routes {
    const A: &str = "/api/v1/telehealth/appointments/{id}";
    r.add(Method::GET, "/api/v1/telehealth/doctors", Access::Roles(STAFF), get(doctors))
        .add(Method::GET, "/api/v1/telehealth/slots", Access::Roles(STAFF), get(slots))
        .add(Method::POST, "/api/v1/telehealth/slots", Access::Roles(DOCTORS), post(publish))
        .add(Method::POST, "/api/v1/telehealth/slots/{id}/block", Access::Roles(DOCTORS), post(block))
        .add(Method::POST, "/api/v1/telehealth/slots/{id}/unblock", Access::Roles(DOCTORS), post(unblock))
        .add(Method::GET, "/api/v1/telehealth/appointments", Access::Roles(STAFF), get(appointments))
        .add(Method::POST, "/api/v1/telehealth/appointments", Access::Roles(CLINICS), post(book))
        .add(Method::GET, A, Access::Roles(STAFF), get(one))
        .add(Method::POST, "/api/v1/telehealth/appointments/{id}/reschedule", Access::Roles(STAFF), post(reschedule))
        .add(Method::POST, "/api/v1/telehealth/appointments/{id}/cancel", Access::Roles(STAFF), post(cancel))
        .add(Method::POST, "/api/v1/telehealth/appointments/{id}/consent", Access::Roles(CLINICS), post(consent))
        .add(Method::POST, "/api/v1/telehealth/appointments/{id}/arrive", Access::Roles(CLINICS), post(arrive))
        .add(Method::POST, "/api/v1/telehealth/appointments/{id}/admit", Access::Roles(DOCTORS), post(admit))
        .add(
            Method::POST,
            "/api/v1/telehealth/appointments/{id}/participants",
            Access::Roles(DOCTORS),
            post(participant),
        )
        .add(Method::POST, "/api/v1/telehealth/appointments/{id}/note", Access::Roles(DOCTORS), post(note))
        .add(Method::POST, "/api/v1/telehealth/appointments/{id}/noshow", Access::Roles(DOCTORS), post(noshow))
        .add(Method::POST, "/api/v1/telehealth/appointments/{id}/join", Access::Roles(STAFF), post(join))
}

/// The doctors who publish slots, with how many are free from now on.
#[utoipa::path(get, path = "/api/v1/telehealth/doctors", tag = "telehealth", responses((status = 200, body = Vec<Doctor>)))]
pub(super) async fn doctors(State(state): State<AppState>) -> Result<Json<Vec<Doctor>>> {
    let rows = state.store.th_doctors(state.now()).await?;
    Ok(Json(
        rows.into_iter()
            .map(|d| Doctor { id: d.id, name: d.name, schedule_id: d.schedule_id, free_slots: d.free_slots })
            .collect(),
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct SlotQuery {
    /// The doctor's account id.
    doctor: Option<i64>,
    /// Slots starting at or after (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    from: Option<OffsetDateTime>,
    /// Slots starting before (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    to: Option<OffsetDateTime>,
    status: Option<SlotStatus>,
}

/// Slots, soonest first (at most 500).
#[utoipa::path(get, path = "/api/v1/telehealth/slots", tag = "telehealth", params(SlotQuery),
    responses((status = 200, body = Vec<Slot>), (status = 400, body = q10_core_api::Problem)))]
pub(super) async fn slots(State(state): State<AppState>, ApiQuery(q): ApiQuery<SlotQuery>) -> Result<Json<Vec<Slot>>> {
    let f = SlotFilter {
        doctor_id: q.doctor,
        from: q.from,
        to: q.to,
        status: q.status.map(SlotStatus::as_str),
        limit: 500,
        ..SlotFilter::default()
    };
    let rows = state.store.th_slots(&f).await?;
    Ok(Json(rows.into_iter().map(telehealth::slot_view).collect::<Result<_>>()?))
}

/// The doctor publishes availability: a span cut into slots.
#[utoipa::path(post, path = "/api/v1/telehealth/slots", tag = "telehealth", request_body = NewSlots,
    responses((status = 201, body = PublishedSlots), (status = 400, body = q10_core_api::Problem)))]
pub(super) async fn publish(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiJson(span): ApiJson<NewSlots>,
) -> Result<(StatusCode, Json<PublishedSlots>)> {
    Ok((StatusCode::CREATED, Json(telehealth::publish(&state, &who, &span, &source, state.now()).await?)))
}

/// The doctor blocks one of their free slots.
#[utoipa::path(post, path = "/api/v1/telehealth/slots/{id}/block", tag = "telehealth", params(("id" = i64, Path)),
    responses((status = 200, body = Slot), (status = 404, body = q10_core_api::Problem),
        (status = 409, body = q10_core_api::Problem)))]
pub(super) async fn block(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Slot>> {
    Ok(Json(telehealth::block(&state, &who, id, true, &source, state.now()).await?))
}

/// The doctor frees a slot they blocked.
#[utoipa::path(post, path = "/api/v1/telehealth/slots/{id}/unblock", tag = "telehealth", params(("id" = i64, Path)),
    responses((status = 200, body = Slot), (status = 404, body = q10_core_api::Problem),
        (status = 409, body = q10_core_api::Problem)))]
pub(super) async fn unblock(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Slot>> {
    Ok(Json(telehealth::block(&state, &who, id, false, &source, state.now()).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct AppointmentQuery {
    /// Appointments starting at or after (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    from: Option<OffsetDateTime>,
    /// Appointments starting before (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    to: Option<OffsetDateTime>,
    status: Option<AppointmentStatus>,
}

/// The caller's appointments: a doctor's own (and calls they were asked into), or those of the
/// clinic staff's ward. Patients by name and year only.
#[utoipa::path(get, path = "/api/v1/telehealth/appointments", tag = "telehealth", params(AppointmentQuery),
    responses((status = 200, body = Vec<AppointmentSummary>), (status = 400, body = q10_core_api::Problem)))]
pub(super) async fn appointments(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<AppointmentQuery>,
) -> Result<Json<Vec<AppointmentSummary>>> {
    let base = AppointmentFilter {
        from: q.from,
        to: q.to,
        status: q.status.map(AppointmentStatus::as_str),
        limit: 500,
        ..AppointmentFilter::default()
    };
    let mut rows = Vec::new();
    if who.has_any_role(DOCTORS) {
        rows.extend(
            state.store.th_appointments(&AppointmentFilter { doctor_id: Some(who.user_id), ..base.clone() }).await?,
        );
    }
    for g in who.grants.iter().filter(|g| CLINICS.iter().any(|r| r.as_str() == g.role)) {
        let f = AppointmentFilter { clinic_unit_id: Some(g.jurisdiction_id), ..base.clone() };
        rows.extend(state.store.th_appointments(&f).await?);
    }
    rows.sort_by_key(|a| (a.start_at, a.id));
    rows.dedup_by_key(|a| a.id);
    let key = &state.secrets.data_encryption;
    Ok(Json(rows.into_iter().map(|a| telehealth::summary(key, a)).collect::<Result<_>>()?))
}

/// A clinic books a free slot for a patient.
#[utoipa::path(post, path = "/api/v1/telehealth/appointments", tag = "telehealth", request_body = NewAppointment,
    responses((status = 201, body = Appointment), (status = 400, body = q10_core_api::Problem),
        (status = 409, body = q10_core_api::Problem, description = "the slot is not free")))]
pub(super) async fn book(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiJson(new): ApiJson<NewAppointment>,
) -> Result<(StatusCode, Json<Appointment>)> {
    let a = telehealth::book(&state, &who, &new, &source, state.now()).await?;
    Ok((StatusCode::CREATED, Json(telehealth::view(&state, &who, a, &source).await?)))
}

/// An appointment in full; the read is audited.
#[utoipa::path(get, path = "/api/v1/telehealth/appointments/{id}", tag = "telehealth", params(("id" = i64, Path)),
    responses((status = 200, body = Appointment), (status = 404, body = q10_core_api::Problem)))]
pub(super) async fn one(
    State(state): State<AppState>,
    Caller(who): Caller,
    Source(source): Source,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Appointment>> {
    let (a, side) = telehealth::visible(&state, &who, id).await?;
    let mut view = telehealth::view(&state, &who, a, &source).await?;
    if side == Side::Clinic {
        // The visit note is the doctor's record; the clinic sees the appointment fulfilled.
        view.note = None;
    }
    Ok(Json(view))
}

async fn act(
    state: &AppState,
    who: &crate::auth::Principal,
    id: i64,
    op: Op,
    source: &str,
) -> Result<Json<Appointment>> {
    let a = telehealth::apply(state, who, id, None, op, source, state.now()).await?;
    Ok(Json(telehealth::view(state, who, a, source).await?))
}

macro_rules! action {
    ($(#[$doc:meta])* $name:ident, $path:literal, $body:ty, |$req:ident| $op:expr) => {
        $(#[$doc])*
        #[utoipa::path(post, path = $path, tag = "telehealth", params(("id" = i64, Path)), request_body = $body,
            responses((status = 200, body = Appointment), (status = 400, body = q10_core_api::Problem),
                (status = 404, body = q10_core_api::Problem),
                (status = 409, body = q10_core_api::Problem, description = "not in this status or not now")))]
        pub(super) async fn $name(
            State(state): State<AppState>,
            Caller(who): Caller,
            Source(source): Source,
            ApiPath(id): ApiPath<i64>,
            ApiJson($req): ApiJson<$body>,
        ) -> Result<Json<Appointment>> {
            act(&state, &who, id, $op, &source).await
        }
    };
    ($(#[$doc:meta])* $name:ident, $path:literal, $op:expr) => {
        $(#[$doc])*
        #[utoipa::path(post, path = $path, tag = "telehealth", params(("id" = i64, Path)),
            responses((status = 200, body = Appointment), (status = 404, body = q10_core_api::Problem),
                (status = 409, body = q10_core_api::Problem, description = "not in this status or not now")))]
        pub(super) async fn $name(
            State(state): State<AppState>,
            Caller(who): Caller,
            Source(source): Source,
            ApiPath(id): ApiPath<i64>,
        ) -> Result<Json<Appointment>> {
            act(&state, &who, id, $op, &source).await
        }
    };
}

action!(
    /// Moves a booked appointment to another free slot.
    reschedule, "/api/v1/telehealth/appointments/{id}/reschedule", RescheduleRequest,
    |req| Op::Reschedule { slot_id: req.slot_id }
);
action!(
    /// Cancels the appointment; its slot is free again.
    cancel, "/api/v1/telehealth/appointments/{id}/cancel", CancelRequest, |req| Op::Cancel { reason: req.reason }
);
action!(
    /// Records the patient's consent to the call, and whether to recording.
    consent, "/api/v1/telehealth/appointments/{id}/consent", ConsentRequest,
    |req| {
        if !req.call {
            return Err(Error::invalid("call", "without consent to the call there is no call; cancel instead"));
        }
        Op::Consent { recording: req.recording }
    }
);
action!(
    /// The clinic enters the waiting room.
    arrive, "/api/v1/telehealth/appointments/{id}/arrive", Op::Arrive
);
action!(
    /// The doctor admits the waiting clinic to the call.
    admit, "/api/v1/telehealth/appointments/{id}/admit", Op::Admit
);
action!(
    /// The doctor asks a second doctor or an interpreter into the call.
    participant, "/api/v1/telehealth/appointments/{id}/participants", AddParticipant,
    |req| Op::AddParticipant { username: req.username }
);
action!(
    /// The doctor's visit note; the appointment is fulfilled.
    note, "/api/v1/telehealth/appointments/{id}/note", VisitNote, |req| Op::Note { note: req.note }
);
action!(
    /// The patient did not come.
    noshow, "/api/v1/telehealth/appointments/{id}/noshow", Op::Noshow
);

/// Joins the call: a join token for the doctor at once, for the clinic once admitted (until
/// then `admitted` is false and there is no token: ask again).
#[utoipa::path(post, path = "/api/v1/telehealth/appointments/{id}/join", tag = "telehealth", params(("id" = i64, Path)),
    responses((status = 200, body = CallJoin), (status = 404, body = q10_core_api::Problem),
        (status = 409, body = q10_core_api::Problem, description = "not now, or not in the waiting room"),
        (status = 503, body = q10_core_api::Problem, description = "calls are not running")))]
pub(super) async fn join(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CallJoin>> {
    Ok(Json(telehealth::join(&state, &who, id, state.now()).await?))
}
