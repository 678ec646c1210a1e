//! How complaints are shown: to the public and the citizen, to staff, in the queue.

use q10_core_api::{
    ComplaintAction, ComplaintStatus, ComplaintUpdate, NearbyComplaint, PublicComplaint, QueueItem, StaffComplaint,
};
use time::OffsetDateTime;

use super::rules;
use crate::store::complaints::{ActionRow, ComplaintRow, NearbyRow};

fn status(s: &str) -> ComplaintStatus {
    ComplaintStatus::parse(s).unwrap_or(ComplaintStatus::Submitted)
}

fn action(s: &str) -> ComplaintAction {
    serde_json::from_value(serde_json::Value::String(s.to_string())).unwrap_or(ComplaintAction::Note)
}

pub fn photo_url(photo: &str) -> String {
    format!("/api/v1/complaint-photos/{photo}")
}

fn overdue(c: &ComplaintRow, now: OffsetDateTime) -> bool {
    c.is_open && c.due_at < now
}

fn update(a: &ActionRow, staff: bool) -> ComplaintUpdate {
    let named = staff || a.actor == "citizen" || a.actor == "system";
    let by = if named {
        a.actor.clone()
    } else if a.actor.starts_with("api:") {
        "citizen".into()
    } else {
        "staff".into()
    };
    ComplaintUpdate {
        id: a.id,
        action: action(&a.action),
        status: status(&a.status_after),
        note: a.note.clone(),
        by,
        public: a.public,
        at: a.at,
    }
}

/// The public view; `actions` may include internal ones, which are left out.
pub fn public_view(c: &ComplaintRow, actions: &[ActionRow], photos: &[String], now: OffsetDateTime) -> PublicComplaint {
    let st = status(&c.status);
    PublicComplaint {
        id: c.id,
        category: c.category_code.clone(),
        category_name_vi: c.category_name_vi.clone(),
        category_name_en: c.category_name_en.clone(),
        description: c.description.clone(),
        status: st,
        lat: c.lat,
        lon: c.lon,
        address: c.address.clone(),
        ward: c.ward_code.clone(),
        ward_name: c.ward_name.clone(),
        ward_name_en: c.ward_name_en.clone(),
        team: c.team.clone(),
        submitted_at: c.submitted_at,
        updated_at: c.updated_at,
        due_at: c.due_at,
        overdue: overdue(c, now),
        photos: photos.iter().map(|p| photo_url(p)).collect(),
        updates: actions.iter().filter(|a| a.public && a.complaint_id == c.id).map(|a| update(a, false)).collect(),
        duplicate_of: c.duplicate_of,
        rating: c.rating,
        can_reopen: rules::may_reopen(st, c.resolved_at, now),
        can_rate: st == ComplaintStatus::Closed && c.rating.is_none(),
    }
}

pub fn staff_view(c: &ComplaintRow, actions: &[ActionRow], photos: &[String], now: OffsetDateTime) -> StaffComplaint {
    let mut public = public_view(c, actions, photos, now);
    for u in &mut public.updates {
        if let Some(a) = actions.iter().find(|a| a.id == u.id) {
            u.by = a.actor.clone();
        }
    }
    StaffComplaint {
        public,
        source: c.source.clone(),
        handler: c.handler_name.clone(),
        handler_id: c.handler_id,
        has_contact: c.contact.is_some(),
        rating_comment: c.rating_comment.clone(),
        history: actions.iter().filter(|a| a.complaint_id == c.id).map(|a| update(a, true)).collect(),
    }
}

pub fn queue_item(c: &ComplaintRow, now: OffsetDateTime) -> QueueItem {
    QueueItem {
        id: c.id,
        category: c.category_code.clone(),
        description: c.description.clone(),
        status: status(&c.status),
        ward: c.ward_code.clone(),
        team: c.team.clone(),
        handler: c.handler_name.clone(),
        lat: c.lat,
        lon: c.lon,
        address: c.address.clone(),
        submitted_at: c.submitted_at,
        due_at: c.due_at,
        overdue: overdue(c, now),
        photos: c.photos,
    }
}

pub fn nearby_view(r: &NearbyRow, distance_m: f64) -> NearbyComplaint {
    NearbyComplaint {
        id: r.id,
        category: r.category_code.clone(),
        description: r.description.clone(),
        status: status(&r.status),
        distance_m: (distance_m * 10.0).round() / 10.0,
        submitted_at: r.submitted_at,
    }
}
