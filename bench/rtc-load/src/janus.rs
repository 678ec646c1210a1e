//! Joining a Janus VideoRoom over Janus's HTTP API: one session and one plugin handle per
//! participant; requests answered at once (`success`) or later by an event fetched with a long
//! poll on the session (`ack`, then `event`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer};
use tokio::sync::{mpsc, watch};

use crate::peer::{Load, Peer};

pub struct Janus {
    http: reqwest::Client,
    url: String,
    /// The session and handle that create rooms.
    admin: (u64, u64),
    /// Sessions of participants, kept alive by `keep_alive`.
    sessions: std::sync::Mutex<Vec<u64>>,
}

static TRANSACTION: AtomicU64 = AtomicU64::new(1);

fn transaction() -> String {
    format!("t{}", TRANSACTION.fetch_add(1, Ordering::Relaxed))
}

impl Janus {
    pub async fn connect(url: &str) -> anyhow::Result<Janus> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(40)).build()?;
        let mut j =
            Janus { http, url: url.trim_end_matches('/').to_string(), admin: (0, 0), sessions: Default::default() };
        j.admin = j.attach().await?;
        Ok(j)
    }

    async fn post(&self, path: &str, mut body: Value) -> anyhow::Result<Value> {
        body["transaction"] = json!(transaction());
        let v: Value = self.http.post(format!("{}{path}", self.url)).json(&body).send().await?.json().await?;
        anyhow::ensure!(v["janus"] != "error", "Janus refused {body}: {}", v["error"]);
        Ok(v)
    }

    /// A new session with a VideoRoom handle.
    async fn attach(&self) -> anyhow::Result<(u64, u64)> {
        let s = self.post("", json!({ "janus": "create" })).await?;
        let session = s["data"]["id"].as_u64().ok_or_else(|| anyhow::anyhow!("no session id in {s}"))?;
        let h =
            self.post(&format!("/{session}"), json!({ "janus": "attach", "plugin": "janus.plugin.videoroom" })).await?;
        let handle = h["data"]["id"].as_u64().ok_or_else(|| anyhow::anyhow!("no handle id in {h}"))?;
        Ok((session, handle))
    }

    /// Sends a plugin message; returns its synchronous answer, or the event that follows an `ack`.
    async fn message(&self, (session, handle): (u64, u64), body: Value, jsep: Option<Value>) -> anyhow::Result<Value> {
        let mut req = json!({ "janus": "message", "body": body });
        if let Some(j) = jsep {
            req["jsep"] = j;
        }
        let r = self.post(&format!("/{session}/{handle}"), req).await?;
        if r["janus"] == "success" {
            return Ok(r);
        }
        // An ack: the answer comes as an event on the session.
        loop {
            let events: Value = self.http.get(format!("{}/{session}?maxev=10", self.url)).send().await?.json().await?;
            let list = match events {
                Value::Array(a) => a,
                other => vec![other],
            };
            for e in list {
                if e["janus"] == "event" && e["sender"].as_u64() == Some(handle) {
                    let data = &e["plugindata"]["data"];
                    anyhow::ensure!(data["error"].is_null(), "VideoRoom refused: {}", data["error"]);
                    return Ok(e);
                }
            }
        }
    }

    /// A room for up to 1000 publishers with no bitrate cap.
    pub async fn create_room(&self) -> anyhow::Result<u64> {
        let body = json!({
            "request": "create", "publishers": 1000, "bitrate": 0, "videocodec": "vp8", "audiocodec": "opus",
            "notify_joining": false, "record": false,
        });
        let r = self.message(self.admin, body, None).await?;
        r["plugindata"]["data"]["room"].as_u64().ok_or_else(|| anyhow::anyhow!("no room in {r}"))
    }

    /// Publishes one video stream at `load` into `room`; returns the peer's task and its feed id.
    pub async fn publish(
        &self,
        room: u64,
        mut peer: Peer,
        load: Load,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<(tokio::task::JoinHandle<()>, u64)> {
        let ids = self.attach().await?;
        self.sessions.lock().expect("sessions lock").push(ids.0);
        let offer = peer.offer_video(load);
        let body =
            json!({ "request": "joinandconfigure", "room": room, "ptype": "publisher", "audio": false, "video": true });
        let jsep = json!({ "type": "offer", "sdp": offer.to_sdp_string() });
        let e = self.message(ids, body, Some(jsep)).await?;
        let feed = e["plugindata"]["data"]["id"].as_u64().ok_or_else(|| anyhow::anyhow!("no feed id in {e}"))?;
        let sdp = e["jsep"]["sdp"].as_str().ok_or_else(|| anyhow::anyhow!("no answer in {e}"))?;
        peer.accept_answer(SdpAnswer::from_sdp_string(sdp)?)?;
        Ok((spawn_quiet(peer, stop), feed))
    }

    /// Subscribes to every feed in `feeds`.
    pub async fn subscribe(
        &self,
        room: u64,
        feeds: &[u64],
        mut peer: Peer,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let ids = self.attach().await?;
        self.sessions.lock().expect("sessions lock").push(ids.0);
        let streams: Vec<Value> = feeds.iter().map(|f| json!({ "feed": f })).collect();
        let body = json!({ "request": "join", "room": room, "ptype": "subscriber", "streams": streams });
        let e = self.message(ids, body, None).await?;
        let sdp = e["jsep"]["sdp"].as_str().ok_or_else(|| anyhow::anyhow!("no offer in {e}"))?;
        let answer = peer.accept_offer(SdpOffer::from_sdp_string(sdp)?)?;
        let jsep = json!({ "type": "answer", "sdp": answer.to_sdp_string() });
        self.message(ids, json!({ "request": "start" }), Some(jsep)).await?;
        Ok(spawn_quiet(peer, stop))
    }

    /// Keeps every participant's session alive (Janus ends a silent session after 60 s).
    pub fn keep_alive(self, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(20));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let sessions = self.sessions.lock().expect("sessions lock").clone();
                        for s in sessions.into_iter().chain([self.admin.0]) {
                            let _ = self.post(&format!("/{s}"), json!({ "janus": "keepalive" })).await;
                        }
                    }
                    _ = stop.changed() => return,
                }
            }
        })
    }
}

/// Runs a peer that negotiates no further.
fn spawn_quiet(peer: Peer, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    let (offers_tx, offers) = mpsc::unbounded_channel();
    let (answers, _answers) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let _open = offers_tx;
        peer.run(offers, answers, stop).await;
    })
}
