//! Queue tickets for a ward office's desks (`docs/kiosk.md`, "Queue tickets"). A person takes a
//! ticket at a kiosk or on the web: the day's next number at the office, with how many wait before
//! it and about how long that takes; the office's staff call the next person to their desk.

use q10_core_api::{QueueService, QueueState, Role, Serving, Ticket};
use time::{Date, OffsetDateTime};

use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::complaint::stats::local_day;
use crate::error::{Error, Result};
use crate::feed::LiveEvent;
use crate::http::AppState;
use crate::store::jurisdictions::JurisdictionRow;
use crate::store::queue::{self as rows, TicketRow};

/// Who calls people to a desk: the office's staff.
pub const STAFF: &[Role] = &[
    Role::Admin,
    Role::DistrictOfficial,
    Role::WardOfficial,
    Role::RegistryClerk,
    Role::Cashier,
    Role::ComplaintHandler,
];

/// Minutes a person is expected to take until the office has called some today.
const DEFAULT_MINUTES: f64 = 5.0;
/// Tickets an office gives out in a day at most (a sanity bound against a flood).
const MAX_A_DAY: i64 = 2_000;

/// The office a ticket is for: the one named, or that of the ward the point lies in.
async fn office(state: &AppState, unit_code: Option<&str>, at: Option<[f64; 2]>, day: Date) -> Result<JurisdictionRow> {
    let code = match (unit_code, at) {
        (Some(code), None) => code.to_string(),
        (None, Some([lon, lat])) => {
            if !(lon.is_finite() && lat.is_finite() && (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat))
            {
                return Err(Error::invalid("at", "longitude and latitude in degrees"));
            }
            let ward = state.wards.ward_at(&state.store, day, lat, lon).await?;
            ward.ok_or_else(|| Error::invalid("at", "no ward of the district lies there"))?.code
        }
        _ => return Err(Error::invalid("unit_code", "name the office (unit_code) or a place (at), not both")),
    };
    match state.store.jurisdiction_at(&code, day).await? {
        Some(j) if j.kind == "ward" => Ok(j),
        _ => Err(Error::invalid("unit_code", "not a ward of the district")),
    }
}

/// Minutes between people called today (the mean gap between calls), or the default.
fn pace(tickets: &[TicketRow]) -> f64 {
    let mut called: Vec<OffsetDateTime> = tickets.iter().filter_map(|t| t.called_at).collect();
    called.sort();
    if called.len() < 2 {
        return DEFAULT_MINUTES;
    }
    // Calls from every desk together: with more desks open, people are called more often.
    let span = (called[called.len() - 1] - called[0]).as_seconds_f64() / 60.0;
    (span / (called.len() - 1) as f64).max(0.5)
}

/// Takes a ticket. `source` is `kiosk` or `web`.
pub async fn take(
    state: &AppState,
    service: QueueService,
    unit_code: Option<&str>,
    at: Option<[f64; 2]>,
    source: &'static str,
    now: OffsetDateTime,
) -> Result<Ticket> {
    let day = local_day(now);
    let unit = office(state, unit_code, at, day).await?;
    for _ in 0..8 {
        let mut tx = state.store.begin().await?;
        let number = match rows::insert(&mut tx, unit.id, day, service.as_str(), source, now).await {
            Ok(n) => n,
            // Another ticket took the number first: try again with the next.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => continue,
            Err(e) => return Err(e.into()),
        };
        if number > MAX_A_DAY {
            return Err(Error::Conflict("the office gives out no more tickets today".into()));
        }
        let event = Event::new(Actor::system(), "queue.ticket", "queue_ticket", number)
            .source(source)
            .detail(serde_json::json!({ "unit": unit.code, "service": service.as_str() }));
        audit::append(&mut tx, &state.secrets.audit, event, now).await?;
        tx.commit().await?;
        let tickets = state.store.queue_day(unit.id, day).await?;
        let ahead = tickets.iter().filter(|t| t.status == "waiting" && t.number < number).count() as i64;
        let wait_minutes = (ahead as f64 * pace(&tickets)).round() as i64;
        state.feed.publish(live("queue.ticket", &unit, number, now));
        return Ok(Ticket {
            number,
            unit_code: unit.code.clone(),
            unit_name: unit.name_vi.clone(),
            service,
            ahead,
            wait_minutes,
            day,
            created_at: now,
        });
    }
    Err(Error::Unavailable("too many tickets at once; try again".into()))
}

/// The office `code`, if `who` is on its staff.
async fn staffed(state: &AppState, who: &Principal, code: &str, day: Date) -> Result<JurisdictionRow> {
    match state.store.jurisdiction_at(code, day).await? {
        Some(j) if j.kind == "ward" && who.may_act_on(&state.store, STAFF, j.id).await? => Ok(j),
        _ => Err(Error::NotFound("office")),
    }
}

/// The office's queue today.
pub async fn today(state: &AppState, who: &Principal, code: &str, now: OffsetDateTime) -> Result<QueueState> {
    let day = local_day(now);
    let unit = staffed(state, who, code, day).await?;
    let tickets = state.store.queue_day(unit.id, day).await?;
    let mut serving: Vec<Serving> = tickets
        .iter()
        .filter(|t| t.status == "called")
        .filter_map(|t| {
            Some(Serving {
                desk: t.desk.clone()?,
                number: t.number,
                service: QueueService::parse(&t.service)?,
                called_at: t.called_at?,
            })
        })
        .collect();
    serving.sort_by(|a, b| a.desk.cmp(&b.desk));
    Ok(QueueState {
        unit_code: unit.code,
        unit_name: unit.name_vi,
        day,
        waiting: tickets.iter().filter(|t| t.status == "waiting").count() as i64,
        taken: tickets.len() as i64,
        minutes_per_person: pace(&tickets),
        serving,
    })
}

/// A desk calls the next person: the desk's last ticket is served, the first waiting one called.
pub async fn call_next(
    state: &AppState,
    who: &Principal,
    code: &str,
    desk: &str,
    source: &str,
    now: OffsetDateTime,
) -> Result<Serving> {
    let desk = desk.trim();
    if desk.is_empty() || desk.chars().count() > 20 || desk.chars().any(char::is_control) {
        return Err(Error::invalid("desk", "1 to 20 printable characters"));
    }
    let day = local_day(now);
    let unit = staffed(state, who, code, day).await?;
    let mut tx = state.store.begin().await?;
    let Some(t) = rows::call_next(&mut tx, unit.id, day, desk, who.user_id, now).await? else {
        return Err(Error::Conflict("nobody is waiting".into()));
    };
    let event = Event::new(who.actor(), "queue.call", "queue_ticket", t.id)
        .source(source)
        .detail(serde_json::json!({ "unit": unit.code, "number": t.number, "desk": desk }));
    audit::append(&mut tx, &state.secrets.audit, event, now).await?;
    tx.commit().await?;
    state.feed.publish(live("queue.called", &unit, t.number, now));
    Ok(Serving {
        desk: desk.to_string(),
        number: t.number,
        service: QueueService::parse(&t.service).unwrap_or(QueueService::Other),
        called_at: t.called_at.unwrap_or(now),
    })
}

fn live(kind: &'static str, unit: &JurisdictionRow, number: i64, now: OffsetDateTime) -> LiveEvent {
    LiveEvent { kind, id: number, status: String::new(), category: None, ward: Some(unit.code.clone()), at: now }
}
