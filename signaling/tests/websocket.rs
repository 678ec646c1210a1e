//! The signaling WebSocket over a real loopback socket, with the real SFU behind it: join tokens,
//! bad input, join floods, room state (chat, screen, presented page, units), host controls,
//! reconnection, and the room observer.

mod common;

use std::time::Duration;

use common::serve;
use q10_signaling::{JoinTokens, NewJoinToken, SignalingConfig};
use q10_signaling_proto::ParticipantRole;
use secrecy::SecretSlice;
use serde_json::json;
use time::OffsetDateTime;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn join_tokens_are_checked_with_a_reason() {
    let s = serve(SignalingConfig::default()).await;
    let host = ParticipantRole::Host;
    let cases = [
        (json!({ "type": "join", "v": 1, "room": "r1", "token": "not.a.token" }), "bad_token", "malformed"),
        (
            json!({ "type": "join", "v": 1, "room": "r1", "token": s.token("r2", "a", host, None) }),
            "bad_token",
            "another room",
        ),
        (
            json!({ "type": "join", "v": 1, "room": "r1",
                    "token": s.token_at("r1", "a", host, None, OffsetDateTime::now_utc() - time::Duration::hours(2)) }),
            "bad_token",
            "expired",
        ),
        (
            json!({ "type": "join", "v": 2, "room": "r1", "token": s.token("r1", "a", host, None) }),
            "unsupported_version",
            "version",
        ),
        (
            json!({ "type": "join", "v": 1, "room": "../r1", "token": s.token("r1", "a", host, None) }),
            "bad_message",
            "room name",
        ),
        (json!({ "type": "ping", "id": 1 }), "not_joined", "join"),
    ];
    for (first, code, says) in cases {
        let mut c = s.connect().await;
        c.send(first.clone()).await;
        let message = c.expect_error(code).await;
        assert!(message.contains(says), "{first}: {message}");
        c.expect_closed().await;
    }
    // Another key's token is refused as well.
    let other = JoinTokens::new(SecretSlice::from(vec![1u8; 32]));
    let req = NewJoinToken {
        room: "r1".into(),
        identity: "a".into(),
        name: "A".into(),
        role: host,
        unit: None,
        ttl: time::Duration::hours(1),
        no_record: false,
    };
    let mut c = s.connect().await;
    c.send(
        json!({ "type": "join", "v": 1, "room": "r1", "token": other.mint(&req, OffsetDateTime::now_utc()).unwrap() }),
    )
    .await;
    assert!(c.expect_error("bad_token").await.contains("signature"));
    assert!(s.events.0.lock().unwrap().is_empty(), "nobody was admitted");
}

#[tokio::test]
async fn bad_messages_get_errors_and_the_session_goes_on() {
    let s = serve(SignalingConfig::default()).await;
    let (mut c, _) = s.join("r1", "a", ParticipantRole::Speaker, None).await;
    c.send_raw(Message::Text("not json".into())).await;
    c.expect_error("bad_message").await;
    c.send(json!({ "type": "fly" })).await;
    c.expect_error("bad_message").await;
    c.send(json!({ "type": "ping", "id": 1, "extra": true })).await;
    c.expect_error("bad_message").await;
    c.send_raw(Message::Binary(vec![0u8; 16].into())).await;
    c.expect_error("bad_message").await;
    c.send(json!({ "type": "chat", "text": "x".repeat(2_001) })).await;
    c.expect_error("bad_message").await;
    c.send(json!({ "type": "offer", "sdp": "v=0 garbage" })).await;
    c.expect_error("bad_sdp").await;
    c.send(json!({ "type": "answer", "sdp": "v=0" })).await;
    c.expect_error("bad_sdp").await;
    c.send(json!({ "type": "screen", "mid": "" })).await;
    c.expect_error("bad_message").await;
    c.send(json!({ "type": "moderate", "action": { "do": "end" } })).await;
    c.expect_error("forbidden").await;
    c.ping(7).await;

    // A message over the limit is refused and the connection ends; the server serves on.
    c.send(json!({ "type": "chat", "text": "x".repeat(70_000) })).await;
    c.expect_error("too_large").await;
    c.expect_closed().await;
    let (mut d, _) = s.join("r1", "b", ParticipantRole::Speaker, None).await;
    d.ping(8).await;
}

#[tokio::test]
async fn a_flood_of_joins_is_rate_limited() {
    let s = serve(SignalingConfig { joins_per_minute: 5, ..SignalingConfig::default() }).await;
    let mut kept = Vec::new();
    for i in 0..5 {
        kept.push(s.join("r1", &format!("p{i}"), ParticipantRole::Listener, None).await.0);
    }
    for _ in 0..20 {
        let mut c = s.connect().await;
        c.send(json!({ "type": "join", "v": 1, "room": "r1", "token": s.token("r1", "x", ParticipantRole::Listener, None) }))
            .await;
        c.expect_error("rate_limited").await;
    }
    // Those already in are unaffected.
    for (i, c) in kept.iter_mut().enumerate() {
        c.ping(i as u64).await;
    }
}

#[tokio::test]
async fn a_room_shares_chat_screens_pages_and_units_and_obeys_its_host() {
    let s = serve(SignalingConfig::default()).await;
    let (mut host, joined) = s.join("giao-ban", "district", ParticipantRole::Host, Some("771")).await;
    assert_eq!(joined["you"]["unit"], "771");
    let (mut ward, joined) = s.join("giao-ban", "ward1", ParticipantRole::Speaker, Some("27211")).await;
    let units: Vec<&str> =
        joined["participants"].as_array().unwrap().iter().map(|p| p["unit"].as_str().unwrap()).collect();
    assert_eq!(units, ["771", "27211"]);
    let ward_id = joined["you"]["id"].as_str().unwrap().to_string();
    assert_eq!(host.expect("participant_joined").await["participant"]["unit"], "27211");

    ward.send(json!({ "type": "chat", "text": "  Phường 1 có mặt  " })).await;
    let line = host.expect("chat").await;
    assert_eq!((line["from"].as_str(), line["text"].as_str()), (Some(ward_id.as_str()), Some("Phường 1 có mặt")));

    ward.send(json!({ "type": "screen", "mid": "2" })).await;
    assert_eq!(host.expect("participant_updated").await["participant"]["screen"], "2");
    ward.send(json!({ "type": "screen", "mid": null })).await;
    assert!(host.expect("participant_updated").await["participant"].get("screen").is_none());

    host.send(json!({ "type": "present", "document": "doc1", "page": 3 })).await;
    for c in [&mut host, &mut ward] {
        let p = c.expect("presenting").await;
        assert_eq!((p["document"].as_str(), p["page"].as_u64()), (Some("doc1"), Some(3)));
    }
    // Someone arriving later is shown the same page.
    let (mut late, _) = s.join("giao-ban", "ward2", ParticipantRole::Listener, Some("27214")).await;
    assert_eq!(late.expect("presenting").await["page"], 3);
    late.send(json!({ "type": "present", "document": "doc1", "page": 4 })).await;
    late.expect_error("forbidden").await;

    // The host mutes the ward: it is told, and everyone sees it muted.
    host.send(json!({ "type": "moderate", "action": { "do": "mute", "participant": ward_id } })).await;
    let told = ward.expect("moderated").await;
    assert_eq!(told["action"]["do"], "mute");
    let seen = late.expect("participant_updated").await;
    assert_eq!(
        (seen["participant"]["id"].as_str(), seen["participant"]["audio_muted"].as_bool()),
        (Some(ward_id.as_str()), Some(true))
    );

    // Locked: nobody new gets in. Removed: out, and cannot come back.
    host.send(json!({ "type": "moderate", "action": { "do": "lock", "locked": true } })).await;
    assert_eq!(ward.expect("room_locked").await["locked"], true);
    let mut outsider = s.connect().await;
    outsider
        .send(json!({ "type": "join", "v": 1, "room": "giao-ban", "token": s.token("giao-ban", "x", ParticipantRole::Speaker, None) }))
        .await;
    outsider.expect_error("room_locked").await;
    host.send(json!({ "type": "moderate", "action": { "do": "lock", "locked": false } })).await;
    host.send(json!({ "type": "moderate", "action": { "do": "remove", "participant": ward_id } })).await;
    assert_eq!(ward.expect("closed").await["reason"], "removed");
    ward.expect_closed().await;
    let mut again = s.connect().await;
    again
        .send(json!({ "type": "join", "v": 1, "room": "giao-ban", "token": s.token("giao-ban", "ward1", ParticipantRole::Speaker, Some("27211")) }))
        .await;
    again.expect_error("forbidden").await;

    host.send(json!({ "type": "moderate", "action": { "do": "end" } })).await;
    assert_eq!(late.expect("closed").await["reason"], "ended");
    assert_eq!(host.expect("closed").await["reason"], "ended");
    let events = s.events.0.lock().unwrap().clone();
    assert_eq!(
        events[..4],
        [
            "joined giao-ban district 771",
            "joined giao-ban ward1 27211",
            "joined giao-ban ward2 27214",
            "left giao-ban ward1"
        ],
        "{events:?}"
    );
    let mut left: Vec<&String> = events[4..].iter().collect();
    left.sort();
    assert_eq!(left, ["left giao-ban district", "left giao-ban ward2"]);
}

#[tokio::test]
async fn a_second_connection_of_the_same_identity_replaces_the_first() {
    let s = serve(SignalingConfig { resume_grace: Duration::from_millis(300), ..SignalingConfig::default() }).await;
    let (mut other, _) = s.join("r1", "watcher", ParticipantRole::Listener, None).await;
    let (mut first, joined) = s.join("r1", "a", ParticipantRole::Speaker, None).await;
    let id = joined["you"]["id"].as_str().unwrap().to_string();
    assert_eq!(other.expect("participant_joined").await["participant"]["id"], id.as_str());

    let (mut second, joined) = s.join("r1", "a", ParticipantRole::Speaker, None).await;
    assert_eq!(joined["you"]["id"], id.as_str(), "the same participant, not a new one");
    assert_eq!(joined["participants"].as_array().unwrap().len(), 2);
    assert_eq!(first.expect("closed").await["reason"], "replaced");
    second.ping(1).await;

    // A dropped connection that comes back within the grace period keeps its place ...
    drop(second);
    let (_third, joined) = s.join("r1", "a", ParticipantRole::Speaker, None).await;
    assert_eq!(joined["you"]["id"], id.as_str());
    other.ping(2).await;
    // ... and one that does not, leaves.
    drop(_third);
    assert_eq!(other.expect("participant_left").await["participant"], id.as_str());
    let events = s.events.0.lock().unwrap().clone();
    assert_eq!(events, ["joined r1 watcher -", "joined r1 a -", "left r1 a"]);
}

#[tokio::test]
async fn garbage_on_the_media_port_is_dropped() {
    let s = serve(SignalingConfig::default()).await;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = s.sfu.local_addr();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..2_000 {
        // Random bytes, and bytes that look like the start of STUN, DTLS and RTP.
        let mut bytes: Vec<u8> = (0..(i % 300 + 1))
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        bytes[0] = [0x00, 0x16, 0x80, 0x90, bytes[0]][i % 5];
        socket.send_to(&bytes, target).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stats = s.sfu.stats().await.expect("the media engine still runs");
    assert_eq!(stats.participants, 0);
    let (mut c, _) = s.join("r1", "a", ParticipantRole::Speaker, None).await;
    c.ping(1).await;
}

#[tokio::test]
async fn turn_credentials_come_with_the_join_when_configured() {
    let s = serve(SignalingConfig::default()).await;
    let (_c, joined) = s.join("r1", "a", ParticipantRole::Speaker, None).await;
    assert!(joined.get("ice_servers").is_none(), "no TURN configured: {joined}");

    let turn = q10_signaling::Turn::new(
        vec!["turn:turn.example.org:3478?transport=udp".into(), "turns:turn.example.org:443?transport=tcp".into()],
        "a-shared-secret-of-some-length".to_string().into(),
        time::Duration::hours(2),
    )
    .unwrap();
    let s = serve(SignalingConfig { turn: Some(std::sync::Arc::new(turn)), ..SignalingConfig::default() }).await;
    let before = OffsetDateTime::now_utc().unix_timestamp();
    let (_c, joined) = s.join("r1", "user-7", ParticipantRole::Speaker, None).await;
    let server = &joined["ice_servers"][0];
    assert_eq!(server["urls"].as_array().unwrap().len(), 2);
    let username = server["username"].as_str().unwrap();
    let (expiry, identity) = username.split_once(':').unwrap();
    assert_eq!(identity, "user-7");
    let expiry: i64 = expiry.parse().unwrap();
    assert!((before + 7_200..=before + 7_210).contains(&expiry), "valid for two hours: {expiry}");
    assert_eq!(server["credential"].as_str().unwrap().len(), 28, "a base64 HMAC-SHA1");
}

#[tokio::test]
async fn behind_a_trusted_proxy_joins_are_counted_per_client() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let config = SignalingConfig {
        joins_per_minute: 2,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..SignalingConfig::default()
    };
    let s = serve(config).await;
    // Each join from `client`, as a proxy on 127.0.0.1 forwards it; true when admitted.
    let join_as = |client: &'static str| {
        let url = s.url.clone();
        let token = s.token("r1", "x", ParticipantRole::Listener, None);
        async move {
            let mut req = url.into_client_request().unwrap();
            req.headers_mut().insert("x-forwarded-for", format!("{client}, 127.0.0.1").parse().unwrap());
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
            let join = json!({ "type": "join", "v": 1, "room": "r1", "token": token });
            futures_util::SinkExt::send(&mut ws, Message::Text(join.to_string().into())).await.unwrap();
            let Some(Ok(Message::Text(reply))) = futures_util::StreamExt::next(&mut ws).await else {
                panic!("no reply")
            };
            let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
            reply["type"] == "joined"
        }
    };
    assert!(join_as("198.51.100.1").await);
    assert!(join_as("198.51.100.1").await);
    assert!(!join_as("198.51.100.1").await, "the third join of one client within a minute is refused");
    assert!(join_as("198.51.100.2").await, "another client behind the same proxy has its own allowance");
    assert!(join_as("198.51.100.2").await);
}

#[tokio::test]
async fn a_host_whose_token_forbids_recording_cannot_record() {
    let s = serve(SignalingConfig::default()).await;
    let req = NewJoinToken {
        room: "visit".into(),
        identity: "doctor".into(),
        name: "Doctor".into(),
        role: ParticipantRole::Host,
        unit: None,
        ttl: time::Duration::hours(1),
        no_record: true,
    };
    let token = s.tokens.mint(&req, OffsetDateTime::now_utc()).unwrap();
    let mut c = s.connect().await;
    c.send(json!({ "type": "join", "v": 1, "room": "visit", "token": token })).await;
    c.expect("joined").await;
    c.send(json!({ "type": "moderate", "action": { "do": "record", "on": true } })).await;
    assert!(c.expect_error("forbidden").await.contains("consent"));
    // Other host controls still work.
    c.send(json!({ "type": "moderate", "action": { "do": "lock", "locked": true } })).await;
    assert_eq!(c.expect("room_locked").await["locked"], true);
}
