//! Where meetings meet the conference rooms: the core mints join tokens with the signaling key,
//! and the signaling service's room events become the core's attendance record. Neither side
//! knows the other; this wiring does.

use std::sync::Arc;

use q10_core::meeting::{RoomEvent, RoomGrant, RoomTokens};
use q10_core::store::Store;
use q10_signaling::rooms::RoomObserver;
use q10_signaling::{JoinTokens, NewJoinToken};
use q10_signaling_proto::{ParticipantInfo, ParticipantRole};
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// Mints meeting join tokens with the signaling service's key.
pub struct MeetingTokens(pub JoinTokens);

impl RoomTokens for MeetingTokens {
    fn mint(&self, grant: &RoomGrant, now: OffsetDateTime) -> anyhow::Result<String> {
        let request = NewJoinToken {
            room: grant.room.clone(),
            identity: grant.identity.clone(),
            name: grant.name.clone(),
            role: if grant.host { ParticipantRole::Host } else { ParticipantRole::Speaker },
            unit: grant.unit.clone(),
            ttl: grant.ttl,
        };
        Ok(self.0.mint(&request, now)?)
    }
}

/// Hands room events to a task that records them, without blocking the rooms.
pub struct AttendanceFeed(mpsc::UnboundedSender<RoomEvent>);

impl RoomObserver for AttendanceFeed {
    fn joined(&self, room: &str, p: &ParticipantInfo) {
        let _ = self.0.send(RoomEvent::Joined {
            room: room.to_string(),
            identity: p.identity.clone(),
            name: p.name.clone(),
            unit: p.unit.clone(),
            at: OffsetDateTime::now_utc(),
        });
    }

    fn left(&self, room: &str, p: &ParticipantInfo) {
        let _ = self.0.send(RoomEvent::Left {
            room: room.to_string(),
            identity: p.identity.clone(),
            at: OffsetDateTime::now_utc(),
        });
    }
}

/// Starts recording attendance into `store`. Stays still open from a previous run are closed
/// first: the rooms did not survive the restart.
pub async fn attendance_feed(store: Store) -> anyhow::Result<Arc<dyn RoomObserver>> {
    let closed = store.attendance_close_all(OffsetDateTime::now_utc()).await?;
    if closed > 0 {
        tracing::info!(closed, "closed attendance left open by the previous run");
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let Err(e) = q10_core::meeting::record(&store, &event).await {
                tracing::error!(error = %e, "cannot record attendance");
            }
        }
    });
    Ok(Arc::new(AttendanceFeed(tx)))
}
