//! The command dashboard's figures.

use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

/// The scorecard of one ward (or the whole district) over a period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Kpis {
    /// Ward code, or the district's when all wards are counted.
    pub unit: String,
    /// The unit's name in Vietnamese.
    pub unit_name: String,
    #[serde(with = "crate::iso_date")]
    pub from: Date,
    /// Last day counted (inclusive).
    #[serde(with = "crate::iso_date")]
    pub to: Date,
    pub complaints: ComplaintKpis,
    /// Of the dossiers returned in the period, those returned by their appointment, in per cent.
    pub dossiers_on_time_pct: Option<f64>,
    /// Of the dossiers received in the period, those applied for online or at a kiosk, in per cent.
    pub dossiers_online_pct: Option<f64>,
    /// Of the payments made in the period, those not in cash, in per cent.
    pub cashless_pct: Option<f64>,
    pub dossiers_received: i64,
    pub dossiers_returned: i64,
    /// Payments made in the period.
    pub payments: i64,
    /// Monitoring alerts not yet resolved, now.
    pub alerts_open: i64,
}

/// Complaints per day over a period: what the dashboard's trend chart draws.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Trend {
    /// Ward code, or the district's.
    pub unit: String,
    #[serde(with = "crate::iso_date")]
    pub from: Date,
    #[serde(with = "crate::iso_date")]
    pub to: Date,
    /// One entry per day of the period, oldest first, days without complaints included.
    pub days: Vec<TrendDay>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrendDay {
    /// The day (Vietnam time).
    #[serde(with = "crate::iso_date")]
    pub day: Date,
    /// Complaints filed that day.
    pub received: i64,
    /// Complaints resolved that day.
    pub resolved: i64,
    /// Of those, resolved within their SLA.
    pub resolved_on_time: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ComplaintKpis {
    /// Filed in the period.
    pub received: i64,
    /// Fixed, closed or set aside in the period.
    pub resolved: i64,
    /// Of those, resolved within their SLA, in per cent.
    pub on_time_pct: Option<f64>,
    /// Open now and past their SLA.
    pub overdue_now: i64,
    /// Open now.
    pub open_now: i64,
    /// Median hours from filing to resolution, over those resolved in the period (to the hour).
    pub median_hours_to_resolve: Option<f64>,
    /// Average satisfaction (1–5) of ratings given in the period.
    pub satisfaction: Option<f64>,
    pub ratings: i64,
    /// Received per category.
    pub by_category: Vec<CategoryCount>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CategoryCount {
    pub category: String,
    pub received: i64,
    pub resolved: i64,
}

/// People and vehicles counted by a unit's cameras, hour by hour: what the dashboard's traffic
/// chart draws.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Traffic {
    /// Ward code, or the district's.
    pub unit: String,
    /// Hours with counts, oldest first; each kind seen in the hour once.
    pub hours: Vec<TrafficHour>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrafficHour {
    /// The hour's start.
    #[serde(with = "time::serde::rfc3339")]
    pub hour: time::OffsetDateTime,
    /// `person`, `bicycle`, `car`, `motorcycle`, `bus` or `truck`.
    pub kind: String,
    /// Objects that came into view of the unit's cameras in the hour, each counted once per camera.
    pub counted: i64,
    /// The most in view of one camera at once.
    pub peak: i64,
}
