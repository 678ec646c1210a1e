//! Joining q10 rooms over its signaling WebSocket (docs/signaling.md), with tokens minted by the
//! `q10 token` command.

use std::path::PathBuf;
use std::process::Command;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::peer::{Load, Peer};

/// How to reach a q10 server and mint tokens for it.
#[derive(Debug, Clone)]
pub struct Q10 {
    /// Base HTTP URL, e.g. http://127.0.0.1:8080
    pub url: String,
    pub bin: PathBuf,
    pub data: PathBuf,
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Q10 {
    /// Watches camera `id` over WHEP with `peer`, as `identity`; returns the task carrying the
    /// peer's media until `stop`.
    pub async fn watch(
        &self,
        id: i64,
        identity: &str,
        mut peer: Peer,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let token = self.token(&format!("camera-{id}"), identity, "listener")?;
        let offer = peer.offer_watch();
        let res = reqwest::Client::new()
            .post(format!("{}/whep/cameras/{id}", self.url))
            .bearer_auth(token)
            .header("Content-Type", "application/sdp")
            .body(offer.to_sdp_string())
            .send()
            .await?;
        anyhow::ensure!(res.status().is_success(), "WHEP for camera {id}: {}", res.status());
        peer.accept_answer(SdpAnswer::from_sdp_string(&res.text().await?)?)?;
        let (offers_tx, offers) = mpsc::unbounded_channel();
        let (answers, answers_rx) = mpsc::unbounded_channel();
        Ok(tokio::spawn(async move {
            // Nobody offers again on WHEP: the channels only stay open.
            let _keep = (offers_tx, answers_rx);
            peer.run(offers, answers, stop).await;
        }))
    }

    fn token(&self, room: &str, identity: &str, role: &str) -> anyhow::Result<String> {
        let out = Command::new(&self.bin)
            .args(["token", "--data"])
            .arg(&self.data)
            .args(["--room", room, "--identity", identity, "--role", role, "--ttl", "2h"])
            .output()?;
        anyhow::ensure!(out.status.success(), "q10 token failed: {}", String::from_utf8_lossy(&out.stderr));
        Ok(String::from_utf8(out.stdout)?.trim().to_string())
    }

    async fn connect(&self, room: &str, identity: &str, role: &str) -> anyhow::Result<Ws> {
        let ws_url = format!("{}/rtc/v1", self.url.replacen("http", "ws", 1));
        let (mut ws, _) = tokio_tungstenite::connect_async(ws_url.as_str()).await?;
        let token = self.token(room, identity, role)?;
        send(&mut ws, json!({ "type": "join", "v": 1, "room": room, "token": token })).await?;
        expect(&mut ws, "joined").await?;
        Ok(ws)
    }

    /// Joins `room` with `peer`, publishing video at `load` or only receiving; returns the task
    /// that carries the peer's signaling and media until `stop`.
    pub async fn join(
        &self,
        room: &str,
        identity: &str,
        mut peer: Peer,
        publish: Option<Load>,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let role = if publish.is_some() { "speaker" } else { "listener" };
        let mut ws = self.connect(room, identity, role).await?;
        let offer = match publish {
            Some(load) => peer.offer_video(load),
            None => peer.offer_receive(),
        };
        send(&mut ws, json!({ "type": "offer", "sdp": offer.to_sdp_string() })).await?;
        let answer = expect(&mut ws, "answer").await?;
        peer.accept_answer(SdpAnswer::from_sdp_string(answer["sdp"].as_str().unwrap_or_default())?)?;
        let (offers_tx, offers) = mpsc::unbounded_channel();
        let (answers, answers_rx) = mpsc::unbounded_channel();
        let receiving = publish.is_none();
        let media = tokio::spawn(peer.run(offers, answers, stop.clone()));
        Ok(tokio::spawn(signal(ws, offers_tx, answers_rx, receiving, stop, media)))
    }
}

/// Relays the server's offers to the peer (a subscriber answers them; a publisher leaves them
/// unanswered, so it is sent nothing) and keeps the connection alive.
async fn signal(
    mut ws: Ws,
    offers: mpsc::UnboundedSender<SdpOffer>,
    mut answers: mpsc::UnboundedReceiver<SdpAnswer>,
    receiving: bool,
    mut stop: watch::Receiver<bool>,
    media: tokio::task::JoinHandle<()>,
) {
    let mut ping = tokio::time::interval(std::time::Duration::from_secs(10));
    loop {
        tokio::select! {
            m = ws.next() => {
                let Some(Ok(Message::Text(text))) = m else { break };
                let Ok(m) = serde_json::from_str::<Value>(&text) else { continue };
                if receiving
                    && m["type"] == "offer"
                    && let Ok(offer) = SdpOffer::from_sdp_string(m["sdp"].as_str().unwrap_or_default())
                {
                    let _ = offers.send(offer);
                }
            }
            Some(answer) = answers.recv() => {
                if send(&mut ws, json!({ "type": "answer", "sdp": answer.to_sdp_string() })).await.is_err() {
                    break;
                }
            }
            _ = ping.tick() => {
                if send(&mut ws, json!({ "type": "ping", "id": 1 })).await.is_err() {
                    break;
                }
            }
            _ = stop.changed() => break,
        }
    }
    let _ = send(&mut ws, json!({ "type": "leave" })).await;
    let _ = media.await;
}

async fn send(ws: &mut Ws, v: Value) -> anyhow::Result<()> {
    ws.send(Message::Text(v.to_string().into())).await?;
    Ok(())
}

async fn expect(ws: &mut Ws, kind: &str) -> anyhow::Result<Value> {
    while let Some(m) = ws.next().await {
        if let Message::Text(text) = m? {
            let v: Value = serde_json::from_str(&text)?;
            if v["type"] == kind {
                return Ok(v);
            }
            anyhow::ensure!(v["type"] != "error", "the server refused: {}", v["message"]);
        }
    }
    anyhow::bail!("the connection closed while waiting for {kind}")
}
