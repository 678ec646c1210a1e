//! Where meetings meet the conference rooms: the core mints join tokens with the signaling key,
//! and the signaling service's room events become the core's attendance record. Neither side
//! knows the other; this wiring does. In one process the events go straight to the store; in a
//! cluster they travel over a NATS JetStream stream, so none is lost while the core restarts.

use std::sync::Arc;

use anyhow::Context;

use futures_util::StreamExt;
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
            role: if grant.host {
                ParticipantRole::Host
            } else if grant.listen_only {
                ParticipantRole::Listener
            } else {
                ParticipantRole::Speaker
            },
            unit: grant.unit.clone(),
            ttl: grant.ttl,
            no_record: !grant.record,
        };
        Ok(self.0.mint(&request, now)?)
    }
}

/// Hands room events to a task that records or sends them, without blocking the rooms.
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

/// The JetStream stream and subject room events travel on between roles.
const STREAM: &str = "Q10_ROOM_EVENTS";
const SUBJECT: &str = "q10.rooms.events";
/// The core's durable consumer of room events.
const CONSUMER: &str = "core-attendance";

async fn room_events(url: &str) -> anyhow::Result<async_nats::jetstream::stream::Stream> {
    let client = async_nats::connect(url).await.with_context(|| format!("cannot reach NATS at {url}"))?;
    let js = async_nats::jetstream::new(client);
    let config = async_nats::jetstream::stream::Config {
        name: STREAM.into(),
        subjects: vec![SUBJECT.into()],
        max_age: std::time::Duration::from_secs(7 * 24 * 3600),
        ..Default::default()
    };
    js.get_or_create_stream(config).await.map_err(|e| anyhow::anyhow!("cannot open the NATS stream {STREAM}: {e}"))
}

/// A signaling role without the core: sends room events to the core over NATS.
pub async fn attendance_over_nats(url: &str) -> anyhow::Result<Arc<dyn RoomObserver>> {
    room_events(url).await?;
    let client = async_nats::connect(url).await?;
    let js = async_nats::jetstream::new(client);
    let (tx, mut rx) = mpsc::unbounded_channel::<RoomEvent>();
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let body = serde_json::to_vec(&event).expect("room events serialize");
            // Waits for the stream to acknowledge, so an event is stored before the next is sent.
            let sent = match js.publish(SUBJECT, body.into()).await {
                Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = sent {
                tracing::error!(error = %e, "cannot send a room event over NATS");
            }
        }
    });
    Ok(Arc::new(AttendanceFeed(tx)))
}

/// A core role without signaling: records the room events the signaling roles send over NATS.
pub async fn record_attendance_from_nats(url: &str, store: Store) -> anyhow::Result<()> {
    let stream = room_events(url).await?;
    let consumer = stream
        .get_or_create_consumer(
            CONSUMER,
            async_nats::jetstream::consumer::pull::Config {
                durable_name: Some(CONSUMER.into()),
                ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the NATS consumer {CONSUMER}: {e}"))?;
    let mut messages = consumer.messages().await.map_err(|e| anyhow::anyhow!("cannot read room events: {e}"))?;
    tokio::spawn(async move {
        while let Some(message) = messages.next().await {
            let Ok(message) = message else { continue };
            match serde_json::from_slice::<RoomEvent>(&message.payload) {
                Ok(event) => {
                    if let Err(e) = q10_core::meeting::record(&store, &event).await {
                        // Not acknowledged: the stream delivers it again.
                        tracing::error!(error = %e, "cannot record attendance");
                        continue;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "a room event that cannot be read was dropped"),
            }
            let _ = message.ack().await;
        }
    });
    Ok(())
}
