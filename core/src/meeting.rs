//! Meetings: district-to-ward conferences. The core keeps what a meeting is (title, time, invited
//! units), its documents and its attendance; it admits officials by minting join tokens through
//! [`RoomTokens`], which the deployment provides. The media and the rooms are not the core's.

use std::sync::Arc;

use q10_core_api::{Attendance, AttendanceEntry, Meeting, MeetingUnit, Role, RollCall};
use time::{Duration, OffsetDateTime};

use crate::Result;
use crate::auth::Principal;
use crate::store::Store;
use crate::store::meetings::{AttendanceRow, MeetingRow, MeetingUnitRow};

/// Roles that may create and host meetings (operators call wards from the monitoring console).
pub const HOSTS: &[Role] = &[Role::Admin, Role::DistrictOfficial, Role::WardOfficial, Role::Operator];

/// Roles that may be invited: every staff role (not kiosks).
pub const ATTENDEES: &[Role] = &[
    Role::Admin,
    Role::DistrictOfficial,
    Role::WardOfficial,
    Role::RegistryClerk,
    Role::ComplaintHandler,
    Role::Operator,
    Role::Doctor,
    Role::ClinicStaff,
    Role::Cashier,
];

/// How long a join token minted for a meeting is valid.
pub const JOIN_TTL: Duration = Duration::hours(8);

/// What a join token should admit.
#[derive(Debug, Clone)]
pub struct RoomGrant {
    pub room: String,
    pub identity: String,
    pub name: String,
    pub host: bool,
    pub unit: Option<String>,
    pub ttl: Duration,
    /// Whether the holder may record the room.
    pub record: bool,
    /// Whether the holder may only watch and listen (a camera's viewer).
    pub listen_only: bool,
}

/// Mints room join tokens; provided by the deployment, which knows the signaling key.
pub trait RoomTokens: Send + Sync {
    fn mint(&self, grant: &RoomGrant, now: OffsetDateTime) -> anyhow::Result<String>;
}

/// Shared handle on a token minter.
pub type SharedRoomTokens = Arc<dyn RoomTokens>;

/// Officials invited with every unit under them.
const OFFICIALS: &[Role] = &[Role::DistrictOfficial, Role::WardOfficial];

/// Whether `who` may see and join the meeting: its host, an administrator, an official of an
/// invited unit or of a unit above one, or any staff member of an invited unit itself.
pub async fn may_attend(store: &Store, who: &Principal, m: &MeetingRow, units: &[MeetingUnitRow]) -> Result<bool> {
    if m.created_by == who.user_id || who.has_any_role(&[Role::Admin]) {
        return Ok(true);
    }
    let staff_of_unit = |u: &MeetingUnitRow| {
        who.grants.iter().any(|g| {
            g.jurisdiction_id == u.jurisdiction_id && g.role.parse().is_ok_and(|r: Role| ATTENDEES.contains(&r))
        })
    };
    for u in units {
        if staff_of_unit(u) || who.may_act_on(store, OFFICIALS, u.jurisdiction_id).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The unit `who` attends for: an invited unit it holds a role on itself (the most specific such
/// grant), or else the unit of its first grant that covers an invited one.
pub async fn attending_unit(store: &Store, who: &Principal, units: &[MeetingUnitRow]) -> Result<Option<String>> {
    if let Some(u) = units.iter().find(|u| who.grants.iter().any(|g| g.jurisdiction_id == u.jurisdiction_id)) {
        return Ok(Some(u.code.clone()));
    }
    for g in &who.grants {
        for u in units {
            if store.jurisdiction_covers(g.jurisdiction_id, u.jurisdiction_id).await? {
                return Ok(Some(g.jurisdiction_code.clone()));
            }
        }
    }
    Ok(None)
}

pub fn to_api(m: &MeetingRow, units: &[MeetingUnitRow], caller: i64) -> Meeting {
    Meeting {
        id: m.id,
        title: m.title.clone(),
        room: m.room.clone(),
        starts_at: m.starts_at,
        host_name: m.host_name.clone(),
        wards: units
            .iter()
            .filter(|u| u.meeting_id == m.id)
            .map(|u| MeetingUnit { code: u.code.clone(), name_vi: u.name_vi.clone(), name_en: u.name_en.clone() })
            .collect(),
        host: m.created_by == caller,
        created_at: m.created_at,
    }
}

/// The attendance report: every stay, and the roll call of the invited units.
pub fn attendance(m: &MeetingRow, units: &[MeetingUnitRow], rows: &[AttendanceRow], now: OffsetDateTime) -> Attendance {
    let entries: Vec<AttendanceEntry> = rows
        .iter()
        .map(|r| AttendanceEntry {
            identity: r.identity.clone(),
            name: r.name.clone(),
            unit: r.unit.clone(),
            joined_at: r.joined_at,
            left_at: r.left_at,
            seconds: (r.left_at.unwrap_or(now) - r.joined_at).whole_seconds().max(0),
        })
        .collect();
    let roll_call = units
        .iter()
        .map(|u| {
            let mine = || rows.iter().filter(|r| r.unit.as_deref() == Some(u.code.as_str()));
            RollCall {
                code: u.code.clone(),
                name_vi: u.name_vi.clone(),
                name_en: u.name_en.clone(),
                attended: mine().next().is_some(),
                present: mine().any(|r| r.left_at.is_none()),
            }
        })
        .collect();
    Attendance { meeting_id: m.id, title: m.title.clone(), roll_call, entries }
}

/// The attendance report as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the
/// Vietnamese names right).
pub fn attendance_csv(a: &Attendance) -> String {
    fn field(s: &str) -> String {
        // Quote everything; a leading formula character is defused so a spreadsheet shows it as text.
        let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
        format!("\"{}\"", s.replace('"', "\"\""))
    }
    let fmt = |t: OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let mut out = String::from("\u{feff}name,identity,unit,joined_at,left_at,seconds\r\n");
    for e in &a.entries {
        out.push_str(&format!(
            "{},{},{},{},{},{}\r\n",
            field(&e.name),
            field(&e.identity),
            field(e.unit.as_deref().unwrap_or("")),
            fmt(e.joined_at),
            e.left_at.map(fmt).unwrap_or_default(),
            e.seconds
        ));
    }
    out
}

/// A room event reported by the signaling service (in a cluster, as JSON over NATS).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RoomEvent {
    Joined {
        room: String,
        identity: String,
        name: String,
        unit: Option<String>,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    Left {
        room: String,
        identity: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

/// Writes room events of meeting rooms to the attendance record; rooms that are not meetings
/// (ad-hoc rooms with hand-made tokens) are ignored.
pub async fn record(store: &Store, event: &RoomEvent) -> Result<()> {
    match event {
        RoomEvent::Joined { room, identity, name, unit, at } => {
            if let Some(m) = store.meeting_by_room(room).await? {
                store.attendance_left(m.id, identity, *at).await?;
                store.attendance_joined(m.id, identity, name, unit.as_deref(), *at).await?;
            }
        }
        RoomEvent::Left { room, identity, at } => {
            if let Some(m) = store.meeting_by_room(room).await? {
                store.attendance_left(m.id, identity, *at).await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_790_000_000 + s).unwrap()
    }

    #[test]
    fn roll_call_and_durations_follow_the_stays() {
        let m = MeetingRow {
            id: 7,
            title: "Giao ban".into(),
            room: "m-7".into(),
            starts_at: at(0),
            created_by: 1,
            host_name: "Host".into(),
            created_at: at(0),
        };
        let unit = |id, code: &str| MeetingUnitRow {
            meeting_id: 7,
            jurisdiction_id: id,
            code: code.into(),
            name_vi: code.into(),
            name_en: code.into(),
        };
        let units = [unit(1, "27211"), unit(2, "27214"), unit(3, "27217")];
        let stay = |who: &str, unit: &str, from, to: Option<i64>| AttendanceRow {
            identity: who.into(),
            name: who.into(),
            unit: Some(unit.into()),
            joined_at: at(from),
            left_at: to.map(at),
        };
        let rows = [stay("a", "27211", 0, Some(600)), stay("b", "27214", 60, None)];
        let report = attendance(&m, &units, &rows, at(120));
        assert_eq!(report.entries[0].seconds, 600);
        assert_eq!(report.entries[1].seconds, 60);
        let calls: Vec<_> = report.roll_call.iter().map(|r| (r.code.as_str(), r.attended, r.present)).collect();
        assert_eq!(calls, [("27211", true, false), ("27214", true, true), ("27217", false, false)]);
        let csv = attendance_csv(&report);
        assert!(csv.starts_with("\u{feff}name,identity,unit,joined_at,left_at,seconds\r\n"));
        assert!(csv.contains("\"a\",\"a\",\"27211\","), "{csv}");
        assert_eq!(csv.lines().count(), 3);
    }

    #[test]
    fn csv_defuses_formulas_and_quotes() {
        let a = Attendance {
            meeting_id: 1,
            title: "t".into(),
            roll_call: vec![],
            entries: vec![AttendanceEntry {
                identity: "u1".into(),
                name: "=HYPERLINK(\"x\")".into(),
                unit: None,
                joined_at: at(0),
                left_at: None,
                seconds: 0,
            }],
        };
        assert!(attendance_csv(&a).contains("\"'=HYPERLINK(\"\"x\"\")\""));
    }
}
