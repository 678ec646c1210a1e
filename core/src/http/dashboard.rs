//! The command dashboard's data: the scorecard per ward and period, complaints as a GeoJSON
//! layer, and the live feed of changes (Server-Sent Events).

use std::convert::Infallible;
use std::time::Duration as StdDuration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, Method, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{Stream, StreamExt};
use q10_core_api::{CategoryCount, ComplaintKpis, Kpis, Role, Traffic, TrafficHour, Trend, TrendDay};
use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};
use tokio_stream::wrappers::BroadcastStream;

use super::AppState;
use super::access::{Access, Caller, Routes};
use super::extract::ApiQuery;
use crate::auth::Principal;
use crate::complaint::{self, stats};
use crate::error::{Error, Result};
use crate::store::complaints::RollupSums;
use crate::store::jurisdictions::JurisdictionRow;

/// Who reads the scorecard.
const LEADERS: &[Role] = &[Role::DistrictOfficial, Role::WardOfficial, Role::Operator];
/// Who hears the live feed: leaders, complaint staff and administrators.
const LISTENERS: &[Role] =
    &[Role::Admin, Role::DistrictOfficial, Role::WardOfficial, Role::Operator, Role::ComplaintHandler];

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/api/v1/dashboard/kpis", Access::Roles(LEADERS), get(kpis))
        .add(Method::GET, "/api/v1/dashboard/scorecards", Access::Roles(LEADERS), get(scorecards))
        .add(Method::GET, "/api/v1/dashboard/scorecards.csv", Access::Roles(LEADERS), get(scorecards_csv))
        .add(Method::GET, "/api/v1/dashboard/trend", Access::Roles(LEADERS), get(trend))
        .add(Method::GET, "/api/v1/dashboard/traffic", Access::Roles(LEADERS), get(traffic))
        .add(
            Method::GET,
            "/api/v1/dashboard/complaints.geojson",
            Access::Roles(complaint::STAFF),
            get(complaints_geojson),
        )
        .add(Method::GET, "/api/v1/events", Access::Roles(LISTENERS), get(events))
}

time::serde::format_description!(day, Date, "[year]-[month]-[day]");

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct KpiQuery {
    /// A ward's code, or the district's (default: the unit of the caller's grant).
    unit: Option<String>,
    /// First day (YYYY-MM-DD, Vietnam time); default: 29 days before `to`.
    #[serde(default, with = "day::option")]
    #[param(value_type = Option<String>)]
    from: Option<Date>,
    /// Last day, inclusive; default: today.
    #[serde(default, with = "day::option")]
    #[param(value_type = Option<String>)]
    to: Option<Date>,
}

/// The unit asked about, checked against the caller's grants. `None` ward: the whole district.
async fn unit_for(
    state: &AppState,
    who: &Principal,
    code: Option<&str>,
    roles: &[Role],
) -> Result<(JurisdictionRow, Option<i64>)> {
    let today = stats::local_day(state.now());
    let unit = match code {
        Some(code) => state
            .store
            .jurisdiction_at(code, today)
            .await?
            .ok_or_else(|| Error::invalid("unit", format!("no administrative unit has the code '{code}'")))?,
        // By default, the unit the caller's grant is for.
        None => {
            let grant = who
                .grants
                .iter()
                .find(|g| g.role.parse::<Role>().is_ok_and(|r| roles.contains(&r)))
                .ok_or_else(|| Error::Forbidden("no grant covers a unit with figures".into()))?;
            state
                .store
                .jurisdiction_at(&grant.jurisdiction_code, today)
                .await?
                .ok_or_else(|| Error::invalid("unit", "your grant's unit no longer exists; name one"))?
        }
    };
    if !who.may_act_on(&state.store, roles, unit.id).await? {
        return Err(Error::Forbidden(format!("unit {} is outside your jurisdiction", unit.code)));
    }
    let ward = match unit.kind.as_str() {
        "ward" => Some(unit.id),
        "district" => None,
        _ => return Err(Error::invalid("unit", "figures are kept for wards and the district")),
    };
    Ok((unit, ward))
}

fn pct(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// The period asked about: `to` defaults to today, `from` to 29 days before it.
fn period(state: &AppState, q: &KpiQuery) -> Result<(Date, Date)> {
    let to = q.to.unwrap_or(stats::local_day(state.now()));
    let from = q.from.unwrap_or(to - Duration::days(29));
    if from > to {
        return Err(Error::invalid("from", "from is after to"));
    }
    if to - from > Duration::days(3 * 366) {
        return Err(Error::invalid("from", "a period is at most three years"));
    }
    Ok((from, to))
}

/// The scorecard of a ward or the district over a period (Decision 766/QĐ-TTg's indicators that
/// this system keeps): complaints received, resolved, on time, overdue, median time to resolve,
/// satisfaction; dossiers returned on time and applied for online; payments made cashless.
#[utoipa::path(get, path = "/api/v1/dashboard/kpis", tag = "dashboard", params(KpiQuery),
    responses((status = 200, body = Kpis), (status = 400, body = q10_core_api::Problem), (status = 403, body = q10_core_api::Problem)))]
pub(super) async fn kpis(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> Result<Json<Kpis>> {
    let (from, to) = period(&state, &q)?;
    let (unit, ward) = unit_for(&state, &who, q.unit.as_deref(), LEADERS).await?;
    Ok(Json(scorecard(&state, &unit, ward, from, to).await?))
}

/// The scorecards of a unit and, for the district, of each of its wards: the district first,
/// then the wards by code.
#[utoipa::path(get, path = "/api/v1/dashboard/scorecards", tag = "dashboard", params(KpiQuery),
    responses((status = 200, body = Vec<Kpis>), (status = 400, body = q10_core_api::Problem), (status = 403, body = q10_core_api::Problem)))]
pub(super) async fn scorecards(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> Result<Json<Vec<Kpis>>> {
    Ok(Json(scorecards_of(&state, &who, &q).await?))
}

/// The same scorecards as a CSV file (UTF-8 with a byte-order mark, for spreadsheets), one row
/// per unit; empty cells where a share has nothing to count.
#[utoipa::path(get, path = "/api/v1/dashboard/scorecards.csv", tag = "dashboard", params(KpiQuery),
    responses((status = 200, content_type = "text/csv"), (status = 400, body = q10_core_api::Problem), (status = 403, body = q10_core_api::Problem)))]
pub(super) async fn scorecards_csv(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> Result<Response> {
    let cards = scorecards_of(&state, &who, &q).await?;
    let mut w = csv::Writer::from_writer(b"\xef\xbb\xbf".to_vec());
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let write = |w: &mut csv::Writer<Vec<u8>>, row: &[String]| w.write_record(row).map_err(anyhow::Error::from);
    write(&mut w, &CSV_COLUMNS.iter().map(|c| c.to_string()).collect::<Vec<_>>())?;
    for k in &cards {
        let c = &k.complaints;
        write(
            &mut w,
            &[
                k.unit.clone(),
                k.unit_name.clone(),
                k.from.to_string(),
                k.to.to_string(),
                c.received.to_string(),
                c.resolved.to_string(),
                opt(c.on_time_pct),
                c.open_now.to_string(),
                c.overdue_now.to_string(),
                opt(c.median_hours_to_resolve),
                opt(c.satisfaction),
                c.ratings.to_string(),
                k.dossiers_received.to_string(),
                k.dossiers_returned.to_string(),
                opt(k.dossiers_on_time_pct),
                opt(k.dossiers_online_pct),
                k.payments.to_string(),
                opt(k.cashless_pct),
                k.alerts_open.to_string(),
            ],
        )?;
    }
    let body = w.into_inner().map_err(|e| anyhow::anyhow!("writing the CSV: {e}"))?;
    let (first, last) = cards.first().map(|k| (k.from, k.to)).ok_or_else(|| anyhow::anyhow!("no scorecard"))?;
    let name = format!("attachment; filename=\"scorecards-{}-{first}-{last}.csv\"", cards[0].unit);
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&name).map_err(anyhow::Error::from)?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(r)
}

/// The CSV's header row, in the order of the fields written.
const CSV_COLUMNS: [&str; 19] = [
    "unit",
    "unit_name",
    "from",
    "to",
    "complaints_received",
    "complaints_resolved",
    "complaints_on_time_pct",
    "complaints_open_now",
    "complaints_overdue_now",
    "median_hours_to_resolve",
    "satisfaction",
    "ratings",
    "dossiers_received",
    "dossiers_returned",
    "dossiers_on_time_pct",
    "dossiers_online_pct",
    "payments",
    "cashless_pct",
    "alerts_open",
];

async fn scorecards_of(state: &AppState, who: &Principal, q: &KpiQuery) -> Result<Vec<Kpis>> {
    let (from, to) = period(state, q)?;
    let (unit, ward) = unit_for(state, who, q.unit.as_deref(), LEADERS).await?;
    let mut cards = vec![scorecard(state, &unit, ward, from, to).await?];
    if ward.is_none() {
        let today = stats::local_day(state.now());
        for w in state.store.jurisdictions_at(today, Some("ward")).await? {
            if state.store.jurisdiction_covers(unit.id, w.id).await? {
                cards.push(scorecard(state, &w, Some(w.id), from, to).await?);
            }
        }
    }
    Ok(cards)
}

/// Complaints received and resolved per day over a period, for the trend chart; every day of the
/// period is present.
#[utoipa::path(get, path = "/api/v1/dashboard/trend", tag = "dashboard", params(KpiQuery),
    responses((status = 200, body = Trend), (status = 400, body = q10_core_api::Problem), (status = 403, body = q10_core_api::Problem)))]
pub(super) async fn trend(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> Result<Json<Trend>> {
    let (from, to) = period(&state, &q)?;
    let (unit, ward) = unit_for(&state, &who, q.unit.as_deref(), LEADERS).await?;
    let rows = state.store.complaint_days(from, to, ward).await?;
    let mut rows = rows.into_iter().peekable();
    let mut days = Vec::new();
    let mut day = from;
    while day <= to {
        let row = rows.next_if(|r| r.day == day);
        days.push(TrendDay {
            day,
            received: row.as_ref().map_or(0, |r| r.received),
            resolved: row.as_ref().map_or(0, |r| r.resolved),
            resolved_on_time: row.as_ref().map_or(0, |r| r.resolved_on_time),
        });
        day = day.next_day().ok_or_else(|| Error::invalid("to", "the period runs past the calendar"))?;
    }
    Ok(Json(Trend { unit: unit.code, from, to, days }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct TrafficQuery {
    /// A ward's code, or the district's (default: the unit of the caller's grant).
    unit: Option<String>,
    /// How many hours back, 1 to 168 (24 unless given).
    hours: Option<i64>,
}

/// People and vehicles counted by the unit's cameras, hour by hour and kind by kind.
#[utoipa::path(get, path = "/api/v1/dashboard/traffic", tag = "dashboard", params(TrafficQuery),
    responses((status = 200, body = Traffic), (status = 400, body = q10_core_api::Problem), (status = 403, body = q10_core_api::Problem)))]
pub(super) async fn traffic(
    State(state): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<TrafficQuery>,
) -> Result<Json<Traffic>> {
    let hours = q.hours.unwrap_or(24);
    if !(1..=168).contains(&hours) {
        return Err(Error::invalid("hours", "from 1 to 168"));
    }
    let (unit, ward) = unit_for(&state, &who, q.unit.as_deref(), LEADERS).await?;
    let now = state.now();
    let since = now
        .replace_minute(0)
        .and_then(|t| t.replace_second(0))
        .and_then(|t| t.replace_nanosecond(0))
        .map_err(|e| Error::Internal(e.into()))?
        - Duration::hours(hours - 1);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let mut out = Vec::new();
    for r in state.store.camera_hours(since, ward).await? {
        let hour = time::PrimitiveDateTime::parse(&format!("{}:00:00Z", r.hour), &f)
            .map_err(|e| Error::Internal(e.into()))?
            .assume_utc();
        out.push(TrafficHour { hour, kind: r.kind, counted: r.appeared, peak: r.peak });
    }
    Ok(Json(Traffic { unit: unit.code, hours: out }))
}

/// One unit's scorecard; `ward` is `None` for the whole district.
async fn scorecard(state: &AppState, unit: &JurisdictionRow, ward: Option<i64>, from: Date, to: Date) -> Result<Kpis> {
    let now = state.now();
    // Whole months from the month rows, the days at either end from the day rows.
    let (months, days) = stats::split_period(from, to);
    let mut parts = Vec::new();
    if let Some((a, b)) = months {
        parts.push(("month", a, b));
    }
    parts.extend(days.into_iter().map(|(a, b)| ("day", a, b)));
    let mut by_category: std::collections::BTreeMap<String, RollupSums> = Default::default();
    let mut hist = stats::Hist::new();
    for (grain, a, b) in parts {
        for s in state.store.complaint_rollup_sums(grain, a, b, ward).await? {
            let t = by_category
                .entry(s.category_code.clone())
                .or_insert(RollupSums { category_code: s.category_code.clone(), ..Default::default() });
            t.received += s.received;
            t.resolved += s.resolved;
            t.resolved_on_time += s.resolved_on_time;
            t.rating_sum += s.rating_sum;
            t.rating_count += s.rating_count;
        }
        for row in state.store.complaint_resolve_hist(grain, a, b, ward).await? {
            for (bucket, n) in stats::parse_hist(&row) {
                *hist.entry(bucket).or_default() += n;
            }
        }
    }
    let sums: Vec<RollupSums> = by_category.into_values().collect();
    let (open_now, overdue_now) = state.store.complaints_open_now(now, ward).await?;
    let total = |f: fn(&RollupSums) -> i64| sums.iter().map(f).sum::<i64>();
    let (received, resolved, on_time) = (total(|s| s.received), total(|s| s.resolved), total(|s| s.resolved_on_time));
    let (rating_sum, ratings) = (total(|s| s.rating_sum), total(|s| s.rating_count));
    let complaints = ComplaintKpis {
        received,
        resolved,
        on_time_pct: pct(on_time, resolved),
        overdue_now,
        open_now,
        median_hours_to_resolve: stats::median_hours(&hist).map(|h| (h * 10.0).round() / 10.0),
        satisfaction: (ratings > 0).then(|| (rating_sum as f64 / ratings as f64 * 100.0).round() / 100.0),
        ratings,
        by_category: sums
            .iter()
            .filter(|s| s.received != 0 || s.resolved != 0)
            .map(|s| CategoryCount { category: s.category_code.clone(), received: s.received, resolved: s.resolved })
            .collect(),
    };
    // Dossiers and payments by instants: from the start of `from` to the end of `to`, local time.
    let start = crate::dossier::calendar::start_of(from);
    let end = crate::dossier::calendar::start_of(to + Duration::days(1));
    let dossiers = state.store.dossier_counts(ward, start, end).await?;
    let paid = state.store.paid_counts(ward, start, end).await?;
    Ok(Kpis {
        unit: unit.code.clone(),
        unit_name: unit.name_vi.clone(),
        from,
        to,
        complaints,
        dossiers_on_time_pct: pct(dossiers.on_time, dossiers.returned),
        dossiers_online_pct: pct(dossiers.online, dossiers.received),
        cashless_pct: pct(paid.cashless, paid.paid),
        dossiers_received: dossiers.received,
        dossiers_returned: dossiers.returned,
        payments: paid.paid,
        alerts_open: state.store.open_alert_count(ward).await?,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct MapQuery {
    status: Option<String>,
    category: Option<String>,
    /// Filed at or after (RFC 3339); default: 30 days ago.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    since: Option<OffsetDateTime>,
    /// Filed before (RFC 3339); default: now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    until: Option<OffsetDateTime>,
    /// At most this many, newest first (1 to 10,000; default 2,000).
    limit: Option<i64>,
}

/// Complaints as a GeoJSON FeatureCollection of points, for the map: status, category, ward,
/// overdue flag; no personal data.
#[utoipa::path(get, path = "/api/v1/dashboard/complaints.geojson", tag = "dashboard", params(MapQuery),
    responses((status = 200, content_type = "application/geo+json"), (status = 400, body = q10_core_api::Problem)))]
pub(super) async fn complaints_geojson(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<MapQuery>,
) -> Result<([(axum::http::HeaderName, &'static str); 1], Json<serde_json::Value>)> {
    let now = state.now();
    let until = q.until.unwrap_or(now + Duration::seconds(1));
    let since = q.since.unwrap_or(until - Duration::days(30));
    let limit = q.limit.unwrap_or(2000);
    if !(1..=10_000).contains(&limit) {
        return Err(Error::invalid("limit", "limit is 1 to 10,000"));
    }
    if let Some(s) = &q.status
        && q10_core_api::ComplaintStatus::parse(s).is_none()
    {
        return Err(Error::invalid("status", format!("there is no status '{s}'")));
    }
    let rows = state.store.complaints_for_map(since, until, q.status.as_deref(), q.category.as_deref(), limit).await?;
    let features: Vec<serde_json::Value> = rows
        .iter()
        .map(|c| {
            serde_json::json!({
                "type": "Feature",
                "id": c.id,
                "geometry": { "type": "Point", "coordinates": [c.lon, c.lat] },
                "properties": {
                    "id": c.id,
                    "status": c.status,
                    "category": c.category_code,
                    "ward": c.ward_code,
                    "overdue": c.is_open && c.due_at < now,
                    "submitted_at": c.submitted_at.format(&time::format_description::well_known::Rfc3339).ok(),
                },
            })
        })
        .collect();
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/geo+json")],
        Json(serde_json::json!({ "type": "FeatureCollection", "features": features })),
    ))
}

/// Live changes as Server-Sent Events (`complaint.created`, `complaint.changed`, `alert.raised`,
/// `alert.changed`, `camera.counts`, `kiosk.online`, `kiosk.changed`, `kiosk.screenshot`,
/// `kiosk_call.ringing`, `kiosk_call.answered`, `kiosk_call.ended`), for the caller's wards. A comment line every 15 s keeps proxies from closing the stream.
#[utoipa::path(get, path = "/api/v1/events", tag = "dashboard", responses((status = 200, content_type = "text/event-stream")))]
pub(super) async fn events(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    let today = stats::local_day(state.now());
    let wards = state.store.jurisdictions_at(today, Some("ward")).await?;
    let mut mine = Vec::new();
    for w in &wards {
        if who.may_act_on(&state.store, LISTENERS, w.id).await? {
            mine.push(w.code.clone());
        }
    }
    let everything = mine.len() == wards.len();
    let stream = BroadcastStream::new(state.feed.subscribe()).filter_map(move |e| {
        let keep = match &e {
            Ok(e) => everything || e.ward.as_ref().is_some_and(|w| mine.contains(w)),
            Err(_) => true,
        };
        let out = match e {
            Ok(e) if keep => Event::default().event(e.kind).json_data(&e).ok(),
            Ok(_) => None,
            // The listener fell behind and missed events: tell it to reload.
            Err(_) => Some(Event::default().event("lagged").data("reload")),
        };
        std::future::ready(out.map(Ok))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(StdDuration::from_secs(15))))
}
