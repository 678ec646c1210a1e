//! Sensor readings over MQTT (`docs/monitoring.md`): the core subscribes to `<prefix>/+` on a
//! broker such as Mosquitto; the last level of a message's topic is the sensor's code and the
//! payload its reading — a bare number (read now) or `{"value": …, "at": "<RFC 3339>"}`. Readings
//! go through the same ingestion as the HTTP endpoint, so they raise and clear alerts alike.
//!
//! Messages are taken at QoS 1 and acknowledged once stored or refused as malformed; a message
//! that could not be stored (the database away) is left unacknowledged, and the broker sends it
//! again, as the session is kept across reconnections.

use std::time::Duration;

use q10_core_api::{Reading, ReadingBatch};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::error::Error;
use crate::http::AppState;

/// Where the broker is and what to subscribe to.
#[derive(Debug, Clone)]
pub struct MqttSettings {
    pub host: String,
    pub port: u16,
    /// The session's name at the broker: unique per core process.
    pub client_id: String,
    /// Topics are `<prefix>/<sensor code>`.
    pub topic_prefix: String,
    pub credentials: Option<(String, SecretString)>,
}

/// A reading with its time.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Timed {
    value: f64,
    #[serde(default, with = "time::serde::rfc3339::option")]
    at: Option<OffsetDateTime>,
}

/// The reading a message carries, or why it carries none.
pub fn reading(prefix: &str, topic: &str, payload: &[u8], now: OffsetDateTime) -> Result<Reading, String> {
    let sensor = topic
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|code| !code.is_empty() && !code.contains('/'))
        .ok_or_else(|| format!("the topic is not {prefix}/<sensor code>"))?;
    let text = std::str::from_utf8(payload).map_err(|_| "the payload is not UTF-8 text".to_string())?.trim();
    let (value, at) = match text.parse::<f64>() {
        Ok(v) => (v, now),
        Err(_) => {
            let t: Timed = serde_json::from_str(text)
                .map_err(|e| format!("the payload is neither a number nor {{\"value\", \"at\"}}: {e}"))?;
            (t.value, t.at.unwrap_or(now))
        }
    };
    Ok(Reading { sensor: sensor.to_string(), at, value })
}

/// Stores one message's reading; true when the message is done with (stored, or refused for good).
async fn take(state: &AppState, prefix: &str, p: &Publish) -> bool {
    let now = state.now();
    let r = match reading(prefix, &p.topic, &p.payload, now) {
        Ok(r) => r,
        Err(why) => {
            tracing::warn!(topic = %p.topic, "MQTT message refused: {why}");
            return true;
        }
    };
    match crate::monitor::ingest(state, "mqtt", &ReadingBatch { readings: vec![r] }, now).await {
        Ok(_) => true,
        Err(e @ Error::Invalid { .. }) => {
            tracing::warn!(topic = %p.topic, "MQTT reading refused: {e}");
            true
        }
        Err(e) => {
            tracing::warn!(topic = %p.topic, error = %e, "MQTT reading not stored; the broker will send it again");
            false
        }
    }
}

/// Subscribes and stores readings until the process ends, reconnecting (1 s, doubling to 30 s)
/// whenever the broker is unreachable.
pub async fn run(state: AppState, settings: MqttSettings) {
    let mut options = MqttOptions::new(&settings.client_id, &settings.host, settings.port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_clean_session(false);
    options.set_manual_acks(true);
    if let Some((user, password)) = &settings.credentials {
        options.set_credentials(user, password.expose_secret());
    }
    let (client, mut events) = AsyncClient::new(options, 64);
    let filter = format!("{}/+", settings.topic_prefix);
    let mut backoff = Duration::from_secs(1);
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_secs(1);
                tracing::info!(host = %settings.host, port = settings.port, topics = %filter, "MQTT connected");
                if let Err(e) = client.subscribe(&filter, QoS::AtLeastOnce).await {
                    tracing::warn!(error = %e, "MQTT subscribe failed");
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if take(&state, &settings.topic_prefix, &p).await
                    && let Err(e) = client.ack(&p).await
                {
                    tracing::warn!(error = %e, "MQTT acknowledgement failed");
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "MQTT broker unreachable");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_readings() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let r = reading("q10/sensors", "q10/sensors/p1-temp", b" 24.5\n", now).unwrap();
        assert_eq!((r.sensor.as_str(), r.value, r.at), ("p1-temp", 24.5, now));
        let r =
            reading("q10/sensors", "q10/sensors/p1-temp", br#"{"value": 31, "at": "2024-05-01T10:00:00+07:00"}"#, now)
                .unwrap();
        assert_eq!(r.value, 31.0);
        assert_eq!(r.at.unix_timestamp(), 1_714_532_400);
        assert!(reading("q10/sensors", "q10/other/p1", b"1", now).is_err(), "another prefix");
        assert!(reading("q10/sensors", "q10/sensors/a/b", b"1", now).is_err(), "a deeper topic");
        assert!(reading("q10/sensors", "q10/sensors/p1", b"warm", now).is_err());
        assert!(reading("q10/sensors", "q10/sensors/p1", br#"{"value": 1, "extra": 2}"#, now).is_err());
        assert!(reading("q10/sensors", "q10/sensors/p1", &[0xff, 0xfe], now).is_err());
    }
}
