//! The live feed: what changed, pushed to the console and dashboard as it happens (served as
//! Server-Sent Events). In-process: every subscriber of this node hears every change made on it.

use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::broadcast;

/// One change, as the feed carries it. No personal data.
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    /// `complaint.created`, `complaint.changed`, …
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: i64,
    pub status: String,
    pub category: Option<String>,
    pub ward: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The sending side of the feed; cheap to clone.
#[derive(Debug, Clone)]
pub struct Feed(broadcast::Sender<LiveEvent>);

impl Default for Feed {
    fn default() -> Self {
        Feed(broadcast::channel(1024).0)
    }
}

impl Feed {
    /// Publishes an event; with nobody listening it is dropped.
    pub fn publish(&self, e: LiveEvent) {
        let _ = self.0.send(e);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.0.subscribe()
    }
}
