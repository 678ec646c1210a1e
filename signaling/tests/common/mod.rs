//! What the tests of the signaling service share: a real signaling server with the real SFU on
//! loopback, join tokens for it, and a WebSocket client that reads the protocol.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use q10_sfu::{SfuConfig, SfuHandle};
use q10_signaling::rooms::RoomObserver;
use q10_signaling::{JoinTokens, NewJoinToken, Signaling, SignalingConfig};
use q10_signaling_proto::{ParticipantInfo, ParticipantRole};
use secrecy::SecretSlice;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const KEY: [u8; 32] = [42; 32];

/// What the observer heard, as "joined room identity unit" / "left room identity".
#[derive(Default)]
pub struct Events(pub Mutex<Vec<String>>);

impl RoomObserver for Events {
    fn joined(&self, room: &str, p: &ParticipantInfo) {
        let unit = p.unit.as_deref().unwrap_or("-");
        self.0.lock().unwrap().push(format!("joined {room} {} {unit}", p.identity));
    }
    fn left(&self, room: &str, p: &ParticipantInfo) {
        self.0.lock().unwrap().push(format!("left {room} {}", p.identity));
    }
}

pub struct Server {
    pub url: String,
    pub tokens: JoinTokens,
    pub sfu: SfuHandle,
    pub events: Arc<Events>,
    /// Where this server writes recordings.
    pub recordings: std::path::PathBuf,
}

pub async fn serve(config: SignalingConfig) -> Server {
    serve_media(config, SfuConfig { udp: "127.0.0.1:0".parse().unwrap(), ..SfuConfig::default() }).await
}

/// A server whose media port is set as in `media`.
pub async fn serve_media(config: SignalingConfig, mut media: SfuConfig) -> Server {
    let recordings = std::env::temp_dir().join(format!("q10-recordings-{}", rand::random::<u64>()));
    media.recordings = Some(recordings.clone());
    let sfu = SfuHandle::start(&media).await.unwrap();
    let events = Arc::new(Events::default());
    let observer: Arc<dyn RoomObserver> = events.clone();
    let signaling =
        Signaling::new(JoinTokens::new(SecretSlice::from(KEY.to_vec())), sfu.clone(), config, Some(observer));
    let app = q10_signaling::router(signaling);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    let tokens = JoinTokens::new(SecretSlice::from(KEY.to_vec()));
    Server { url: format!("ws://{addr}/rtc/v1"), tokens, sfu, events, recordings }
}

impl Server {
    pub fn token(&self, room: &str, identity: &str, role: ParticipantRole, unit: Option<&str>) -> String {
        self.token_at(room, identity, role, unit, OffsetDateTime::now_utc())
    }

    pub fn token_at(
        &self,
        room: &str,
        identity: &str,
        role: ParticipantRole,
        unit: Option<&str>,
        now: OffsetDateTime,
    ) -> String {
        let req = NewJoinToken {
            room: room.into(),
            identity: identity.into(),
            name: format!("Name of {identity}"),
            role,
            unit: unit.map(String::from),
            ttl: time::Duration::hours(1),
            no_record: false,
        };
        self.tokens.mint(&req, now).unwrap()
    }

    pub async fn connect(&self) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(self.url.as_str()).await.unwrap();
        Client { ws }
    }

    /// A connection joined to `room`; returns it with the `joined` message.
    pub async fn join(&self, room: &str, identity: &str, role: ParticipantRole, unit: Option<&str>) -> (Client, Value) {
        let mut c = self.connect().await;
        c.send(json!({ "type": "join", "v": 1, "room": room, "token": self.token(room, identity, role, unit) })).await;
        let joined = c.expect("joined").await;
        (c, joined)
    }
}

/// A client's WebSocket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Joins `room` on a new WebSocket and returns it with the `joined` message.
pub async fn join_raw(server: &Server, room: &str, identity: &str, role: ParticipantRole) -> (Ws, Value) {
    let (c, joined) = server.join(room, identity, role, None).await;
    (c.ws, joined)
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn send(&mut self, v: Value) {
        self.ws.send(Message::Text(v.to_string().into())).await.unwrap();
    }

    pub async fn send_raw(&mut self, m: Message) {
        self.ws.send(m).await.unwrap();
    }

    /// The next message, or `None` when the server closed the connection.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("the server answers within 5 seconds");
            match m {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).expect("the server sends JSON")),
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Reads until a message of type `kind`, failing if the connection closes first.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            match self.next().await {
                Some(m) if m["type"] == kind => return m,
                Some(_) => continue,
                None => panic!("the connection closed while waiting for {kind}"),
            }
        }
    }

    /// The error the next message must be.
    pub async fn expect_error(&mut self, code: &str) -> String {
        let m = self.next().await.expect("an error message");
        assert_eq!((m["type"].as_str(), m["code"].as_str()), (Some("error"), Some(code)), "{m}");
        m["message"].as_str().unwrap().to_string()
    }

    pub async fn expect_closed(&mut self) {
        loop {
            if self.next().await.is_none() {
                return;
            }
        }
    }

    pub async fn ping(&mut self, id: u64) {
        self.send(json!({ "type": "ping", "id": id })).await;
        assert_eq!(self.expect("pong").await["id"], id);
    }
}
