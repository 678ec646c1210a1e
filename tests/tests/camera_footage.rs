//! Camera footage on SQLite and PostgreSQL: an hour of the test camera's real H.264 (one group
//! of pictures taken from its RTSP stream, repeated on an hour's timeline) is written into
//! one-minute segments as the recorder writes them, kept by the core, played back and exported
//! as one MP4 that ffprobe reads as an hour of H.264; the export is in the audit log, those
//! without the right role get nothing, retention and the disk budget remove the oldest files, and
//! a segment left open by a stopped process is recovered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use q10_core::clock::{Clock, ManualClock};
use q10_core::footage::{self, writer};
use q10_core::outbox::Outbound;
use q10_core_api::Role;
use q10_sfu::camera::{CameraFrame, CameraSource, Ingest, IngestOptions, RtspTransport};
use q10_tests::camera::{ffprobe, free_port, test_camera_at};
use q10_tests::{Engine, TestDb, demo_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

q10_tests::on_both_engines!(an_hour_of_footage_plays_back_exports_and_is_swept);

/// One group of pictures of the test camera: a keyframe and the frames up to the next, and the
/// RTP time from that keyframe to the next.
async fn one_gop() -> Option<(Vec<CameraFrame>, u32)> {
    // 100 kbit/s keeps the hour at about 45 MB.
    let cam = test_camera_at(free_port(), "/usr/share/darknet/data/dog.jpg", 100)?;
    let ingest =
        Ingest::start(CameraSource { url: cam.url(""), transport: RtspTransport::Tcp }, IngestOptions::default());
    let mut frames = ingest.subscribe();
    let mut gop: Vec<CameraFrame> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let f = tokio::time::timeout_at(deadline, frames.recv()).await.expect("a whole GOP within 30 s").unwrap();
        match (gop.is_empty(), f.keyframe) {
            (true, false) => {}
            (false, true) => return Some((gop.clone(), f.rtp_time.wrapping_sub(gop[0].rtp_time))),
            _ => gop.push(f),
        }
    }
}

async fn an_hour_of_footage_plays_back_exports_and_is_swept(engine: Engine) {
    let Some(db) = TestDb::new(engine).await else { return };
    let Some((gop, gop_span)) = one_gop().await else { return };
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let demo = demo_with(db.store().await, Some(clock.clone()), Outbound::default()).await;
    let operator = demo.token(Role::Operator).await;
    let res = demo
        .post("/api/v1/cameras", &operator)
        .json(&json!({ "code": "footage-cam", "name": "Camera ghi hình", "unit_code": "27211",
            "source": "rtsp://127.0.0.1:8554/live", "enabled": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let c: Value = res.json().await.unwrap();
    assert_eq!((c["recording"].as_str(), c["retention_hours"].as_i64()), (Some("continuous"), Some(168)));
    let id = c["id"].as_i64().unwrap();
    let state = &demo.server.state;
    let root = state.footage.clone().unwrap();

    // An hour of video that ended half an hour ago, in one-minute segments.
    let start = clock.now() - time::Duration::minutes(90);
    let mut w = writer::SegmentWriter::new(&root, id, Duration::from_secs(60));
    let gops = 3600 * 90_000 / u64::from(gop_span);
    let took = Instant::now();
    let mut segments = Vec::new();
    for g in 0..gops {
        for f in &gop {
            let offset = u64::from(f.rtp_time.wrapping_sub(gop[0].rtp_time)) + g * u64::from(gop_span);
            let at = start + time::Duration::seconds_f64(offset as f64 / 90_000.0);
            let frame = writer::Frame {
                data: &f.data,
                rtp_time: (offset as u32).wrapping_add(7),
                keyframe: f.keyframe,
                at,
                session: 1,
            };
            segments.extend(w.push(frame).unwrap());
        }
    }
    segments.extend(w.finish().unwrap());
    let written = took.elapsed();
    for s in &segments {
        footage::keep(state, &root, s).await.unwrap();
    }
    let bytes: i64 = segments.iter().map(|s| s.bytes).sum();
    let frames = gops * gop.len() as u64;
    println!(
        "an hour of footage: {} segments, {frames} frames, {:.1} MB written in {:.2} s",
        segments.len(),
        bytes as f64 / 1e6,
        written.as_secs_f64()
    );
    assert!((59..=61).contains(&segments.len()), "{} segments", segments.len());
    let one = ffprobe(&root.join(&segments[1].path));
    assert_eq!(one["streams"][0]["codec_name"], "h264", "{one}");
    let seconds: f64 = one["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((59.0..=62.0).contains(&seconds), "a segment holds a minute: {one}");

    let q = |from: OffsetDateTime, to: OffsetDateTime| {
        format!("from={}&to={}", from.format(&Rfc3339).unwrap(), to.format(&Rfc3339).unwrap()).replace('+', "%2B")
    };
    let end = start + time::Duration::hours(1);
    let listed = demo.get_json(&format!("/api/v1/cameras/{id}/footage/segments?{}", q(start, end)), &operator).await;
    assert_eq!(listed.as_array().unwrap().len(), segments.len(), "{listed}");

    // Played back whole: one MP4 of the hour.
    let took = Instant::now();
    let res = demo.get(&format!("/api/v1/cameras/{id}/footage?{}", q(start, end)), &operator).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "video/mp4");
    let body = res.bytes().await.unwrap();
    let served = took.elapsed();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &body).unwrap();
    let hour = ffprobe(file.path());
    let seconds: f64 = hour["format"]["duration"].as_str().unwrap().parse().unwrap();
    let packets: u64 = hour["streams"][0]["nb_read_packets"].as_str().unwrap().parse().unwrap();
    println!(
        "played back: {:.1} MB in {:.2} s; ffprobe: {seconds:.1} s, {packets} frames, {}x{}",
        body.len() as f64 / 1e6,
        served.as_secs_f64(),
        hour["streams"][0]["width"],
        hour["streams"][0]["height"]
    );
    assert!((3599.0..=3602.0).contains(&seconds), "{hour}");
    assert_eq!(packets, frames, "every frame of the hour");
    assert_eq!((hour["streams"][0]["width"].as_i64(), hour["streams"][0]["height"].as_i64()), (Some(640), Some(360)));

    // Ten minutes from the middle start at the keyframe before.
    let from = start + time::Duration::minutes(20) + time::Duration::milliseconds(500);
    let to = from + time::Duration::minutes(10);
    let res =
        demo.get(&format!("/api/v1/cameras/{id}/footage?{}&case=HS-2026/0142", q(from, to)), &operator).send().await;
    let res = res.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment; filename=\"camera-footage-cam-"), "{disposition}");
    std::fs::write(file.path(), res.bytes().await.unwrap()).unwrap();
    let clip = ffprobe(file.path());
    let seconds: f64 = clip["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((600.0..=603.0).contains(&seconds), "{clip}");
    let admin = demo.token(Role::Admin).await;
    let log = demo.get_json("/api/v1/audit?limit=20", &admin).await.to_string();
    assert!(log.contains("camera.export") && log.contains("HS-2026/0142"), "the export is in the audit log: {log}");
    assert!(log.contains("camera.playback"), "so is the playback");

    // Refusals.
    let ward = demo.token(Role::WardOfficial).await;
    let res = demo.get(&format!("/api/v1/cameras/{id}/footage?{}", q(start, end)), &ward).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = demo.get(&format!("/api/v1/cameras/{id}/footage/segments"), &ward).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let anonymous = demo.http.get(demo.server.url(&format!("/api/v1/cameras/{id}/footage?{}", q(start, end))));
    assert_eq!(anonymous.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    for bad in [q(end, start), q(start, start + time::Duration::hours(7)), format!("{}&case=a%20b", q(start, end))] {
        let res = demo.get(&format!("/api/v1/cameras/{id}/footage?{bad}"), &operator).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let later = q(clock.now(), clock.now() + time::Duration::hours(1));
    let res = demo.get(&format!("/api/v1/cameras/{id}/footage?{later}"), &operator).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "no footage of that time");

    // Kept an hour: what ended over an hour ago goes, files and all.
    let res = demo
        .http
        .patch(demo.server.url(&format!("/api/v1/cameras/{id}")))
        .bearer_auth(&operator)
        .json(&json!({ "retention_hours": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let swept = footage::sweep(state, &root, u64::MAX, clock.now()).await.unwrap();
    let expired = segments.iter().filter(|s| s.ended_at < clock.now() - time::Duration::hours(1)).count();
    assert!((29..=31).contains(&expired) && swept.expired == expired, "{swept:?}");
    assert!(!root.join(&segments[0].path).exists() && root.join(&segments[59].path).exists());
    // A budget of half what is left removes the oldest of it.
    let budget = (swept.kept_bytes / 2) as u64;
    let swept = footage::sweep(state, &root, budget, clock.now()).await.unwrap();
    assert!(swept.over_budget >= 14 && swept.kept_bytes <= budget as i64, "{swept:?}");
    let left = demo.get_json(&format!("/api/v1/cameras/{id}/footage/segments?{}", q(start, end)), &operator).await;
    assert_eq!(left.as_array().unwrap().len(), segments.len() - expired - swept.over_budget);

    // A segment the process stopped writing is cut back to its whole fragments and kept.
    let last = &segments[segments.len() - 1];
    let full = std::fs::read(root.join(&last.path)).unwrap();
    std::fs::remove_file(root.join(&last.path)).unwrap();
    let part = root.join(format!("{}.part", last.path));
    std::fs::write(&part, &full[..full.len() - 100]).unwrap();
    let recovered = writer::recover(&root).unwrap();
    assert_eq!(recovered.len(), 1);
    assert!(recovered[0].bytes < full.len() as i64 && recovered[0].ended_at < last.ended_at);
    assert!(!part.exists() && root.join(&last.path).exists());
    let again = ffprobe(&root.join(&last.path));
    assert_eq!(again["streams"][0]["codec_name"], "h264");
}
