//! Counting people and vehicles in camera keyframes, end to end: the test camera shows a real
//! photo (Debian's darknet package: a person with a horse and a dog; a bicycle, a dog and a pickup
//! truck), the ingest takes its H.264, the counter decodes keyframes with OpenH264 and runs the
//! detector through ONNX Runtime (loaded from the library tests/run installs, with the NanoDet
//! model it builds); a scene that does not change skips the detector after the first look, and a
//! moving one does not. The same photo walking across the picture is counted in a zone while it
//! stands there, and across a line once, in the direction it walks.

use std::time::Duration;

use q10_sfu::camera::{CameraSource, CameraState, Ingest, IngestOptions, RtspTransport};
use q10_sfu::counting::area::Area;
use q10_sfu::counting::detect::Kind;
use q10_sfu::counting::{Areas, Counter, CountingOptions, Observation};
use q10_tests::camera::{TestCamera, free_port, test_camera, test_camera_showing, test_camera_walking};
use tokio::sync::{mpsc, watch};

/// The counting options from what tests/run installs; outside CI a machine without them skips.
fn options() -> Option<CountingOptions> {
    match (std::env::var_os("Q10_DETECTOR"), std::env::var_os("Q10_ONNXRUNTIME")) {
        (Some(model), Some(runtime)) => {
            let mut o = CountingOptions::new(model.into(), runtime.into());
            o.interval = Duration::from_millis(500);
            Some(o)
        }
        _ => {
            assert!(std::env::var_os("CI").is_none(), "tests/run sets Q10_DETECTOR and Q10_ONNXRUNTIME");
            eprintln!("skipped: Q10_DETECTOR and Q10_ONNXRUNTIME are not set (deploy/lib/onnxruntime.sh)");
            None
        }
    }
}

/// Counts `camera` until `n` frames are analysed.
async fn observe(camera: &TestCamera, options: &CountingOptions, n: usize) -> Vec<Observation> {
    observe_in(camera, options, n, Areas::from([])).await
}

/// Counts `camera` in `areas` until `n` frames are analysed.
async fn observe_in(camera: &TestCamera, options: &CountingOptions, n: usize, areas: Areas) -> Vec<Observation> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let counter = Counter::start(options, tx).expect("the counter starts");
    let source = CameraSource { url: camera.url(""), transport: RtspTransport::Tcp };
    let ingest = Ingest::start(source, IngestOptions::default());
    let mut health = ingest.watch_health();
    tokio::time::timeout(Duration::from_secs(20), health.wait_for(|h| h.state == CameraState::Up))
        .await
        .expect("the camera is up")
        .unwrap();
    let (_areas, areas) = watch::channel(areas);
    let _watch = counter.watch(1, ingest.subscribe(), areas);
    let mut seen = Vec::new();
    while seen.len() < n {
        let o = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("an analysed frame within 20 s (the camera sends a keyframe every 2 s)")
            .expect("the counter runs");
        seen.push(o);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_in_a_still_scene_is_counted_once_and_the_detector_then_rests() {
    let Some(options) = options() else { return };
    let Some(camera) = test_camera_showing(free_port(), "/usr/share/darknet/data/person.jpg") else { return };
    let seen = observe(&camera, &options, 3).await;
    let person = Kind::Person.index();
    let first = &seen[0];
    assert!(!first.still, "the first look runs the detector");
    assert_eq!(first.in_view[person], 1, "one person in the photo: {first:?}");
    assert_eq!(first.appeared[person], 1);
    for o in &seen[1..] {
        assert!(o.still, "nothing moved: the detector is skipped: {o:?}");
        assert!(o.detect.is_none());
        assert_eq!(o.in_view[person], 1, "still in view");
        assert_eq!(o.appeared, [0; 6], "and not counted again");
    }
    println!(
        "person.jpg at 640×360: decode {:?}, detect {:?}; then decode only: {:?}",
        first.decode,
        first.detect.unwrap(),
        seen[1].decode
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vehicles_are_told_from_people() {
    let Some(options) = options() else { return };
    let Some(camera) = test_camera_showing(free_port(), "/usr/share/darknet/data/dog.jpg") else { return };
    let seen = observe(&camera, &options, 1).await;
    let o = &seen[0];
    let vehicles = o.in_view[Kind::Car.index()] + o.in_view[Kind::Truck.index()];
    assert_eq!(vehicles, 1, "the pickup truck (as a car or a truck): {o:?}");
    assert_eq!(o.in_view[Kind::Bicycle.index()], 1, "the bicycle: {o:?}");
    assert_eq!(o.in_view[Kind::Person.index()], 0, "nobody: {o:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moving_scene_keeps_the_detector_running() {
    let Some(options) = options() else { return };
    let Some(camera) = test_camera(free_port(), None) else { return };
    let seen = observe(&camera, &options, 3).await;
    assert!(seen.iter().all(|o| !o.still && o.detect.is_some()), "the ball moves: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_walking_across_is_counted_in_a_zone_and_across_a_line_once() {
    let Some(mut options) = options() else { return };
    // At the default interval, as `q10 serve` counts: every keyframe (the camera's GOP is 2 s),
    // with the photo walking across 640 px in 12 s.
    options.interval = Duration::from_secs(2);
    let Some(camera) = test_camera_walking(free_port(), "/usr/share/darknet/data/person.jpg", 12.0) else { return };
    let areas: Areas = Areas::from([
        Area::zone("left half", &[[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]], Some(1)).unwrap(),
        // Drawn from the bottom up: walking right is forward.
        Area::line("middle", &[[0.5, 1.0], [0.5, 0.0]]).unwrap(),
    ]);
    // Two walks across (the first may be joined halfway).
    let seen = observe_in(&camera, &options, 13, areas).await;
    let person = Kind::Person.index();
    let standing: Vec<u32> = seen.iter().map(|o| o.area_counts[0].in_view[person]).collect();
    let forward: u32 = seen.iter().map(|o| o.area_counts[1].forward[person]).sum();
    let back: u32 = seen.iter().map(|o| o.area_counts[1].back[person]).sum();
    let xs: Vec<u32> = seen.iter().map(|o| o.in_view[person]).collect();
    println!("people in view {xs:?}; in the left half {standing:?}; crossed forward {forward}, back {back}");
    assert!(standing.contains(&1) && standing.contains(&0), "in the left half, then not: {standing:?}");
    assert!(seen.iter().all(|o| o.area_counts[0].forward == [0; 6]), "a zone has no crossings");
    assert!((1..=3).contains(&forward), "crossed the line walking right, once a walk: {forward} ({xs:?})");
    assert_eq!(back, 0, "never walking left");
    let appeared: u32 = seen.iter().map(|o| o.appeared[person]).sum();
    assert!(appeared <= 3, "each walk counted once as a newcomer: {appeared}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_runtime_or_model_is_a_clear_error() {
    let Some(options) = options() else { return };
    let (tx, _rx) = mpsc::unbounded_channel();
    let mut bad = options.clone();
    bad.model = "/nonexistent/model.onnx".into();
    let e = Counter::start(&bad, tx.clone()).err().expect("no model, no counter").to_string();
    assert!(e.contains("/nonexistent/model.onnx"), "{e}");
    let mut bad = options;
    bad.runtime = "/nonexistent/libonnxruntime.so".into();
    let e = Counter::start(&bad, tx).err().expect("no runtime, no counter").to_string();
    assert!(e.contains("deploy/lib/onnxruntime.sh"), "{e}");
}
