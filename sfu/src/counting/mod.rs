//! Counting people and vehicles in street cameras. Only what is analysed is decoded: keyframes
//! (which decode alone, without the frames before them), about one per camera per `interval`
//! (a keyframe up to a fifth of it early is taken, for the network's jitter). A frame whose small grey thumbnail barely differs from the last analysed one skips
//! the detector (motion gating), so an idle camera costs a decode every few seconds. Frames go to
//! counting threads through bounded queues: when they fall behind, frames are dropped and
//! counted (`q10_counting_frames_dropped_total`), and the relay never waits for them.
//!
//! Each analysed frame yields an [`Observation`]: how many objects of each kind are in view, and
//! how many appeared that were not seen before (tracked across frames, [`track`]); and for each of
//! the camera's [`area`]s, how many stand in a zone and how many crossed a line which way.

pub mod area;
pub mod detect;
pub mod track;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc as sync;
use std::time::{Duration, Instant, SystemTime};

use image::RgbImage;
pub use openh264::decoder::Decoder;
use openh264::formats::YUVSource;
pub use ort::environment::Environment;
use tokio::sync::{broadcast, mpsc, watch};

use crate::camera::CameraFrame;
use area::{Area, AreaCount};
use detect::{Detector, Kind};

/// A camera's zones and lines, as they are now.
pub type Areas = Arc<[Area]>;

/// How counting runs.
#[derive(Debug, Clone)]
pub struct CountingOptions {
    /// The detector (ONNX; YOLOv8/YOLO11- or NanoDet-style outputs).
    pub model: PathBuf,
    /// ONNX Runtime's shared library (`libonnxruntime.so`).
    pub runtime: PathBuf,
    /// The least time between two analysed frames of one camera.
    pub interval: Duration,
    /// The share of the picture that must change for the detector to run again (0 to 1).
    pub motion: f32,
    /// Counting threads (each with its own detector); cameras are shared among them.
    pub threads: usize,
    /// Frames waiting per thread before new ones are dropped.
    pub queue: usize,
    /// The least detector confidence that counts (detections down to half of it carry on an
    /// object already followed).
    pub min_score: f32,
}

impl CountingOptions {
    pub fn new(model: PathBuf, runtime: PathBuf) -> Self {
        CountingOptions {
            model,
            runtime,
            interval: Duration::from_secs(2),
            motion: 0.005,
            threads: 1,
            queue: 8,
            min_score: 0.35,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CountingError {
    #[error("ONNX Runtime's library is not at {0} (deploy/lib/onnxruntime.sh installs it)")]
    NoRuntime(PathBuf),
    #[error("ONNX Runtime does not load: {0}")]
    Runtime(String),
    #[error("the detector model {0}")]
    Model(String),
    #[error("the detector failed: {0}")]
    Inference(String),
    #[error("the frame does not decode: {0}")]
    Decode(String),
}

/// What one analysed frame of a camera showed.
#[derive(Debug, Clone)]
pub struct Observation {
    pub camera: i64,
    pub at: SystemTime,
    /// Objects in view, by [`Kind::index`].
    pub in_view: [u32; 6],
    /// Objects seen for the first time, by [`Kind::index`].
    pub appeared: [u32; 6],
    /// The camera's areas when the frame was analysed.
    pub areas: Areas,
    /// What the frame showed in each of them, in their order.
    pub area_counts: Vec<AreaCount>,
    /// Whether the scene had not changed and the last detections were kept.
    pub still: bool,
    pub decode: Duration,
    pub detect: Option<Duration>,
}

struct Job {
    camera: i64,
    frame: CameraFrame,
    at: SystemTime,
    areas: Areas,
}

/// Running counting threads. Dropping it (and every watch) stops them.
pub struct Counter {
    queues: Vec<sync::SyncSender<Job>>,
    interval: Duration,
}

impl Counter {
    /// Loads ONNX Runtime and the model (one detector per thread) and starts the threads, which
    /// send what they observe to `out`.
    pub fn start(options: &CountingOptions, out: mpsc::UnboundedSender<Observation>) -> Result<Counter, CountingError> {
        let env = environment(&options.runtime)?;
        let mut queues = Vec::new();
        for i in 0..options.threads.max(1) {
            let detector = Detector::load(&env, &options.model, 1, track::doubtful(options.min_score))?;
            let (tx, rx) = sync::sync_channel(options.queue.max(1));
            let out = out.clone();
            let (motion, min_score) = (options.motion, options.min_score);
            std::thread::Builder::new()
                .name(format!("q10-count-{i}"))
                .spawn(move || work(detector, rx, out, motion, min_score))
                .map_err(|e| CountingError::Runtime(e.to_string()))?;
            queues.push(tx);
        }
        Ok(Counter { queues, interval: options.interval })
    }

    /// Counts camera `camera` from its frames until they end, in its `areas` as they change.
    /// Returns the task, to stop it sooner.
    pub fn watch(
        &self,
        camera: i64,
        mut frames: broadcast::Receiver<CameraFrame>,
        areas: watch::Receiver<Areas>,
    ) -> tokio::task::JoinHandle<()> {
        let queue = self.queues[camera.unsigned_abs() as usize % self.queues.len()].clone();
        let interval = self.interval;
        tokio::spawn(async move {
            let mut last: Option<Instant> = None;
            loop {
                let frame = match frames.recv().await {
                    Ok(f) => f,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                // Keyframes come a GOP apart give or take the network's jitter: one arriving a
                // little before the interval is up is taken, so a camera whose GOP equals the
                // interval is analysed at every keyframe rather than every other one.
                if !frame.keyframe || last.is_some_and(|t| frame.received + interval / 5 < t + interval) {
                    continue;
                }
                last = Some(frame.received);
                let areas = areas.borrow().clone();
                match queue.try_send(Job { camera, frame, at: SystemTime::now(), areas }) {
                    Ok(()) => metrics::counter!("q10_counting_frames_queued_total").increment(1),
                    Err(sync::TrySendError::Full(_)) => {
                        metrics::counter!("q10_counting_frames_dropped_total").increment(1)
                    }
                    Err(sync::TrySendError::Disconnected(_)) => return,
                }
            }
        })
    }
}

/// ONNX Runtime allows one environment per process: made on first use, from the library given
/// then.
pub fn environment(runtime: &std::path::Path) -> Result<Environment, CountingError> {
    // ort panics on a library that is not there: look first.
    if !runtime.is_file() {
        return Err(CountingError::NoRuntime(runtime.to_path_buf()));
    }
    static ENV: std::sync::Mutex<Option<Environment>> = std::sync::Mutex::new(None);
    let mut env = ENV.lock().expect("environment lock");
    if let Some(e) = env.as_ref() {
        return Ok(e.clone());
    }
    let made = ort::init_from(runtime)
        .map_err(|e| CountingError::Runtime(e.to_string()))?
        .with_name("q10-counting")
        .build()
        .map_err(|e| CountingError::Runtime(e.to_string()))?;
    *env = Some(made.clone());
    Ok(made)
}

/// One camera's state on its counting thread.
struct Seen {
    decoder: Decoder,
    thumbnail: Option<image::GrayImage>,
    /// What the last detection found (kept by the tracker).
    last: Vec<detect::Detection>,
    tracker: track::Tracker,
    /// The areas counted in.
    areas: Option<Areas>,
}

fn work(
    mut detector: Detector,
    jobs: sync::Receiver<Job>,
    out: mpsc::UnboundedSender<Observation>,
    motion: f32,
    min_score: f32,
) {
    let mut cameras: HashMap<i64, Seen> = HashMap::new();
    while let Ok(job) = jobs.recv() {
        let seen = match cameras.entry(job.camera) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => match Decoder::new() {
                Ok(decoder) => v.insert(Seen {
                    decoder,
                    thumbnail: None,
                    last: Vec::new(),
                    tracker: track::Tracker::default(),
                    areas: None,
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot make an H.264 decoder");
                    continue;
                }
            },
        };
        match analyse(&mut detector, seen, &job, motion, min_score) {
            Ok(o) => {
                if out.send(o).is_err() {
                    return;
                }
            }
            Err(e) => {
                metrics::counter!("q10_counting_failures_total").increment(1);
                tracing::debug!(camera = job.camera, error = %e, "a frame was not counted");
            }
        }
    }
}

/// Decodes a keyframe into a picture.
pub fn decode(decoder: &mut Decoder, annex_b: &[u8]) -> Result<RgbImage, CountingError> {
    let yuv = decoder
        .decode(annex_b)
        .map_err(|e| CountingError::Decode(e.to_string()))?
        .ok_or_else(|| CountingError::Decode("no picture came out".into()))?;
    let (w, h) = yuv.dimensions();
    let mut rgb = vec![0u8; w * h * 3];
    yuv.write_rgb8(&mut rgb);
    RgbImage::from_raw(w as u32, h as u32, rgb).ok_or_else(|| CountingError::Decode("bad picture size".into()))
}

fn analyse(
    detector: &mut Detector,
    seen: &mut Seen,
    job: &Job,
    motion: f32,
    min_score: f32,
) -> Result<Observation, CountingError> {
    let started = Instant::now();
    let picture = decode(&mut seen.decoder, &job.frame.data)?;
    let decoded = started.elapsed();
    metrics::histogram!("q10_counting_decode_seconds").record(decoded.as_secs_f64());
    let thumb = track::thumbnail(&picture);
    let still = seen.thumbnail.as_ref().is_some_and(|before| track::motion(before, &thumb) < motion);
    seen.thumbnail = Some(thumb);
    if seen.areas.as_ref().is_none_or(|a| !Arc::ptr_eq(a, &job.areas)) {
        seen.tracker.forget_crossings();
        seen.areas = Some(job.areas.clone());
    }
    let size = picture.dimensions();
    let mut detect_time = None;
    let mut appeared = [0; 6];
    let mut crossed = Vec::new();
    if still {
        metrics::counter!("q10_counting_frames_still_total").increment(1);
    } else {
        let t = Instant::now();
        let found = detector.detect(&picture)?;
        let took = t.elapsed();
        metrics::histogram!("q10_counting_detect_seconds").record(took.as_secs_f64());
        detect_time = Some(took);
        let step = seen.tracker.update(&found, min_score, size, &job.areas);
        seen.last = step.kept;
        appeared = step.appeared;
        crossed = step.crossed;
    }
    metrics::counter!("q10_counting_frames_analysed_total").increment(1);
    let mut in_view = [0u32; 6];
    let mut area_counts = vec![AreaCount::default(); job.areas.len()];
    for d in &seen.last {
        in_view[d.kind.index()] += 1;
        let at = area::standing(d, size);
        for (count, a) in area_counts.iter_mut().zip(job.areas.iter()) {
            if a.holds(at) {
                count.in_view[d.kind.index()] += 1;
            }
        }
    }
    for (a, kind, forward) in crossed {
        let count = &mut area_counts[a];
        let way = if forward { &mut count.forward } else { &mut count.back };
        way[kind.index()] += 1;
    }
    Ok(Observation {
        camera: job.camera,
        at: job.at,
        in_view,
        appeared,
        areas: job.areas.clone(),
        area_counts,
        still,
        decode: decoded,
        detect: detect_time,
    })
}

/// The kinds in the order of an observation's counts.
pub fn kinds() -> [Kind; 6] {
    Kind::ALL
}
