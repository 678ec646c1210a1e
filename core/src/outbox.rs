//! Delivering events to other systems: the city's 1022 portal, webhook subscribers (signed per
//! Standard Webhooks 1.0) and the citizen notifier.
//!
//! A change writes its events into the `outbox` table in its own transaction, once per
//! destination configured at that moment. [`run`] delivers them: oldest first, retried with
//! exponential backoff (capped at an hour) until the receiver answers 2xx. Each event carries a
//! stable id (`webhook-id`), so a receiver that sees it twice — after a timeout, say — can drop
//! the repeat.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use q10_core_api::{ComplaintContact, NotifyChannel};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::outbox::OutboxRow;
use crate::store::{Store, Tx, outbox};

/// The destination name of citizen notifications.
pub const NOTIFY: &str = "notify";

/// Where events go.
#[derive(Clone)]
pub struct Destination {
    /// Unique name, kept with each queued event.
    pub name: String,
    pub url: String,
    /// Signing secret (the bytes of a `whsec_…` secret); unsigned without one.
    pub secret: Option<SecretSlice<u8>>,
    /// Event types sent here; empty: all.
    pub events: Vec<String>,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination").field("name", &self.name).field("url", &self.url).finish_non_exhaustive()
    }
}

impl Destination {
    pub fn wants(&self, event_type: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event_type)
    }
}

/// A message to a citizen about their complaint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notice {
    pub complaint_id: i64,
    pub status: String,
    pub note: String,
}

/// Sends notices to citizens (email, SMS). Implementations must not log the address.
#[async_trait::async_trait]
pub trait Notifier: Send + Sync {
    async fn send(&self, channel: NotifyChannel, contact: &ComplaintContact, notice: &Notice) -> Result<(), String>;

    /// Reminds a patient of a telehealth appointment by SMS to `phone`. By default it only
    /// records that it would, without the number.
    async fn remind(&self, phone: &str, reminder: &crate::telehealth::Reminder) -> Result<(), String> {
        let _ = phone;
        tracing::info!(appointment = reminder.appointment_id, "patient reminded of the appointment");
        Ok(())
    }
}

/// Writes that a notice would be sent, without the address: the default where no email or SMS
/// gateway is configured.
#[derive(Debug, Default)]
pub struct LogNotifier;

#[async_trait::async_trait]
impl Notifier for LogNotifier {
    async fn send(&self, channel: NotifyChannel, _: &ComplaintContact, notice: &Notice) -> Result<(), String> {
        tracing::info!(complaint = notice.complaint_id, status = %notice.status, ?channel, "citizen notified");
        Ok(())
    }
}

/// The configured destinations and notifier.
#[derive(Clone)]
pub struct Outbound {
    pub destinations: Vec<Destination>,
    pub notifier: Arc<dyn Notifier>,
}

impl Default for Outbound {
    fn default() -> Self {
        Outbound { destinations: Vec::new(), notifier: Arc::new(LogNotifier) }
    }
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound").field("destinations", &self.destinations).finish_non_exhaustive()
    }
}

/// An event as delivered: the Standard Webhooks payload shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutEvent {
    #[serde(skip)]
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    pub data: serde_json::Value,
}

/// Queues `event` for every destination that wants it, in the caller's transaction.
pub async fn enqueue(tx: &mut Tx, outbound: &Outbound, event: &OutEvent) -> Result<()> {
    let payload = serde_json::to_string(event).map_err(|e| Error::Internal(e.into()))?;
    for d in outbound.destinations.iter().filter(|d| d.wants(&event.kind)) {
        outbox::enqueue(tx, &d.name, &event.id, &event.kind, &payload, event.timestamp).await?;
    }
    Ok(())
}

/// Queues a notice to the citizen.
pub async fn enqueue_notice(tx: &mut Tx, event_id: &str, notice: &Notice, now: OffsetDateTime) -> Result<()> {
    let payload = serde_json::to_string(notice).map_err(|e| Error::Internal(e.into()))?;
    outbox::enqueue(tx, NOTIFY, event_id, "complaint.notice", &payload, now).await
}

/// The event type of a telehealth reminder in the outbox.
pub const REMINDER: &str = "telehealth.reminder";

/// Queues a reminder to a telehealth patient.
pub async fn enqueue_reminder(
    tx: &mut Tx,
    event_id: &str,
    reminder: &crate::telehealth::Reminder,
    now: OffsetDateTime,
) -> Result<()> {
    let payload = serde_json::to_string(reminder).map_err(|e| Error::Internal(e.into()))?;
    outbox::enqueue(tx, NOTIFY, event_id, REMINDER, &payload, now).await
}

/// The Standard Webhooks signature of a payload: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}`.
pub fn sign(secret: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Reads a `whsec_…` secret into its key bytes.
pub fn parse_secret(text: &str) -> Result<SecretSlice<u8>, String> {
    let b64 = text.trim().strip_prefix("whsec_").unwrap_or(text.trim());
    let bytes = STANDARD.decode(b64).map_err(|_| "a webhook secret is 'whsec_' and base64".to_string())?;
    if bytes.len() < 24 {
        return Err("a webhook secret holds at least 24 bytes".into());
    }
    Ok(SecretSlice::from(bytes))
}

/// When to try again after `attempts` failures: 10 s, doubling, at most an hour.
pub fn backoff(attempts: i64) -> Duration {
    let secs = 10i64.saturating_mul(1i64 << attempts.clamp(0, 20));
    Duration::seconds(secs.min(3600))
}

/// What a delivery needs.
#[derive(Clone)]
pub struct Worker {
    pub store: Store,
    pub outbound: Arc<Outbound>,
    pub data_key: SecretSlice<u8>,
    pub clock: Arc<dyn Clock>,
    pub http: reqwest::Client,
}

impl Worker {
    pub fn new(store: Store, outbound: Arc<Outbound>, data_key: SecretSlice<u8>, clock: Arc<dyn Clock>) -> Worker {
        let http = reqwest::Client::builder()
            .timeout(StdDuration::from_secs(15))
            .user_agent(concat!("q10/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client builds");
        Worker { store, outbound, data_key, clock, http }
    }

    /// Delivers what is due now; returns how many were delivered.
    pub async fn run_once(&self, now: OffsetDateTime) -> Result<usize> {
        let mut delivered = 0;
        for row in self.store.outbox_due(now, 100).await? {
            match self.deliver(&row).await {
                Ok(()) => {
                    self.store.outbox_delivered(row.id, self.clock.now()).await?;
                    delivered += 1;
                }
                Err(reason) => {
                    tracing::warn!(destination = %row.destination, event = %row.event_id, attempts = row.attempts + 1, %reason, "delivery failed; will retry");
                    self.store.outbox_failed(row.id, &reason, now + backoff(row.attempts)).await?;
                }
            }
        }
        Ok(delivered)
    }

    async fn deliver(&self, row: &OutboxRow) -> Result<(), String> {
        if row.destination == NOTIFY {
            return self.notify(row).await;
        }
        let Some(d) = self.outbound.destinations.iter().find(|d| d.name == row.destination) else {
            return Err(format!("destination '{}' is no longer configured", row.destination));
        };
        let ts = self.clock.now().unix_timestamp();
        let mut req = self
            .http
            .post(&d.url)
            .header("content-type", "application/json")
            .header("webhook-id", &row.event_id)
            .header("webhook-timestamp", ts.to_string());
        if let Some(secret) = &d.secret {
            req = req.header("webhook-signature", sign(secret.expose_secret(), &row.event_id, ts, &row.payload));
        }
        let res = req.body(row.payload.clone()).send().await.map_err(|e| format!("request failed: {e}"))?;
        if res.status().is_success() { Ok(()) } else { Err(format!("answered {}", res.status())) }
    }

    async fn notify(&self, row: &OutboxRow) -> Result<(), String> {
        if row.event_type == REMINDER {
            return self.remind(row).await;
        }
        let notice: Notice = serde_json::from_str(&row.payload).map_err(|e| format!("bad notice: {e}"))?;
        let c = self.store.complaint(notice.complaint_id).await.map_err(|e| e.to_string())?;
        let Some(c) = c else { return Ok(()) };
        let (Some(sealed), Some(channel)) = (c.contact.as_deref(), c.notify.as_deref()) else {
            return Ok(());
        };
        let contact = crate::complaint::open_contact(&self.data_key, sealed).map_err(|e| e.to_string())?;
        let channel = if channel == "sms" { NotifyChannel::Sms } else { NotifyChannel::Email };
        self.outbound.notifier.send(channel, &contact, &notice).await
    }
}

impl Worker {
    async fn remind(&self, row: &OutboxRow) -> Result<(), String> {
        let r: crate::telehealth::Reminder =
            serde_json::from_str(&row.payload).map_err(|e| format!("bad reminder: {e}"))?;
        let Some(a) = self.store.th_appointment(r.appointment_id).await.map_err(|e| e.to_string())? else {
            return Ok(());
        };
        if a.status != q10_core_api::AppointmentStatus::Booked.as_str() || a.start_at != r.start {
            return Ok(()); // cancelled or moved since: a new reminder is queued for the new time
        }
        let data = crate::telehealth::open_patient(&self.data_key, &a.patient).map_err(|e| e.to_string())?;
        self.outbound.notifier.remind(&data.patient.phone, &r).await
    }
}

/// Delivers the outbox until the process ends: every `every`, and at once when `wake` fires.
pub async fn run(worker: Worker, every: StdDuration, wake: Arc<tokio::sync::Notify>) {
    loop {
        if let Err(e) = worker.run_once(worker.clock.now()).await {
            tracing::error!(error = ?e, "outbox delivery pass failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification's reference libraries.
        let secret = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = sign(secret.expose_secret(), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(parse_secret("whsec_short").is_err());
    }

    #[test]
    fn backoff_doubles_to_an_hour() {
        assert_eq!(backoff(0), Duration::seconds(10));
        assert_eq!(backoff(1), Duration::seconds(20));
        assert_eq!(backoff(30), Duration::hours(1));
    }
}
