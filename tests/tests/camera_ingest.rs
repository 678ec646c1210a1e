//! Camera ingest against a real RTSP server: the test camera (`tests/media/test-camera.py`,
//! Debian's gst-rtsp-server with x264) on a loopback port, as a street camera serves H.264. Over TCP and
//! UDP the frames arrive whole, with keyframes carrying their parameter sets; a camera that
//! drops is reached again once it is back; a camera that wants a login gets it from the URL, and
//! a wrong password leaves it down.

use std::time::{Duration, Instant};

use q10_sfu::camera::{CameraFault, CameraSource, CameraState, Ingest, IngestOptions, RtspTransport};
use q10_tests::camera::{free_port, test_camera as camera};

fn source(url: String, transport: RtspTransport) -> CameraSource {
    CameraSource { url, transport }
}

fn quick() -> IngestOptions {
    IngestOptions {
        min_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(1),
        silence: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(5),
    }
}

async fn until_state(ingest: &Ingest, state: CameraState, within: Duration) {
    let mut health = ingest.watch_health();
    let reached = tokio::time::timeout(within, health.wait_for(|h| h.state == state)).await;
    assert!(reached.is_ok(), "the camera is {state:?} within {within:?}: {:?}", ingest.health());
}

/// The NAL unit types in an Annex B access unit.
fn nal_types(data: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut i = 0;
    while i + 3 < data.len() {
        if data[i..i + 3] == [0, 0, 1] {
            types.push(data[i + 3] & 0x1f);
            i += 3;
        } else {
            i += 1;
        }
    }
    types
}

#[tokio::test]
async fn a_camera_is_ingested_over_tcp_and_udp() {
    let Some(cam) = camera(free_port(), None) else { return };
    for transport in [RtspTransport::Tcp, RtspTransport::Udp] {
        let ingest = Ingest::start(source(cam.url(""), transport), IngestOptions::default());
        until_state(&ingest, CameraState::Up, Duration::from_secs(15)).await;
        let mut frames = ingest.subscribe();
        let start = Instant::now();
        let (mut count, mut keyframes, mut first_key) = (0, 0, None);
        while start.elapsed() < Duration::from_secs(3) {
            let f = tokio::time::timeout(Duration::from_secs(2), frames.recv()).await.expect("frames flow").unwrap();
            count += 1;
            if f.keyframe {
                keyframes += 1;
                first_key.get_or_insert(f.data.clone());
            }
        }
        // 25 frames a second, a keyframe every 2 s.
        assert!((55..=95).contains(&count), "{transport:?}: {count} frames in 3 s");
        assert!(keyframes >= 1, "{transport:?}: a keyframe in 3 s");
        let types = nal_types(&first_key.unwrap());
        assert!(types.contains(&7) && types.contains(&8) && types.contains(&5), "SPS, PPS and IDR: {types:?}");
        let h = ingest.health();
        assert!((18.0..32.0).contains(&h.fps), "{transport:?}: {h:?}");
        assert!(h.bitrate > 50_000.0, "{transport:?}: {h:?}");
        assert_eq!((h.width, h.height), (Some(640), Some(360)));
        assert!(h.last_keyframe.is_some() && h.fault.is_none());
    }
}

#[tokio::test]
async fn a_camera_that_drops_is_reached_again() {
    let port = free_port();
    let Some(cam) = camera(port, None) else { return };
    let ingest = Ingest::start(source(format!("rtsp://127.0.0.1:{port}/live"), RtspTransport::Tcp), quick());
    until_state(&ingest, CameraState::Up, Duration::from_secs(15)).await;
    drop(cam);
    until_state(&ingest, CameraState::Down, Duration::from_secs(5)).await;
    let fault = ingest.health().fault;
    assert!(matches!(fault, Some(CameraFault::Ended | CameraFault::StreamError | CameraFault::Silent)), "{fault:?}");
    // While it is away, the tries fail and the camera stays down.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(ingest.health().state, CameraState::Down);
    assert_eq!(ingest.health().fault, Some(CameraFault::Unreachable));
    let _back = camera(port, None).expect("the camera starts again");
    until_state(&ingest, CameraState::Up, Duration::from_secs(15)).await;
    let mut frames = ingest.subscribe();
    let f = tokio::time::timeout(Duration::from_secs(3), frames.recv()).await.unwrap().unwrap();
    assert!(f.session >= 2, "a new session: {}", f.session);
}

#[tokio::test]
async fn a_camera_that_wants_a_login_gets_it_from_the_url() {
    let port = free_port();
    let Some(_cam) = camera(port, Some(("viewer", "p@ss:1"))) else { return };
    let wrong = Ingest::start(source(format!("rtsp://viewer:nope@127.0.0.1:{port}/live"), RtspTransport::Tcp), quick());
    until_state(&wrong, CameraState::Down, Duration::from_secs(10)).await;
    assert_eq!(wrong.health().fault, Some(CameraFault::Unreachable));
    let right =
        Ingest::start(source(format!("rtsp://viewer:p%40ss%3A1@127.0.0.1:{port}/live"), RtspTransport::Tcp), quick());
    until_state(&right, CameraState::Up, Duration::from_secs(15)).await;
}
