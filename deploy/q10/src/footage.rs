//! Recording the cameras (`docs/cameras.md`, "Footage"): a thread per recorded camera writes its
//! segments (`q10_core::footage::writer`), fed from the camera's ingest through a bounded queue
//! that drops frames rather than hold up the relay (the segment then ends and the next starts
//! at a keyframe). Closed segments go to the core; a sweep every minute removes what is past
//! its retention period or beyond the disk budget. Segments left open by a stopped process are
//! closed and kept when the process starts, before any camera is recorded.

use std::path::PathBuf;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use q10_core::footage::{self, writer};
use q10_core::http::AppState;
use q10_sfu::camera::CameraFrame;
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc};

use crate::config::FootageConfig;

/// Frames queued for a camera's writer: a few seconds of video.
const QUEUE: usize = 256;

enum Msg {
    Frame(CameraFrame),
    /// Frames were lost before this point.
    Gap,
}

/// Where the supervisor's recorders write, and where closed segments go.
#[derive(Clone)]
pub struct Recording {
    pub root: PathBuf,
    pub segment: Duration,
    pub done: mpsc::UnboundedSender<writer::Segment>,
}

/// A camera being recorded; dropping it closes the open segment.
pub struct Recorder {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Recorder {
    pub fn start(
        to: &Recording,
        camera_id: i64,
        mut frames: broadcast::Receiver<CameraFrame>,
    ) -> std::io::Result<Recorder> {
        let (root, segment, done) = (to.root.clone(), to.segment, to.done.clone());
        let (tx, rx) = sync_channel::<Msg>(QUEUE);
        std::thread::Builder::new().name(format!("footage-{camera_id}")).stack_size(256 * 1024).spawn(move || {
            let mut w = writer::SegmentWriter::new(&root, camera_id, segment);
            let handle = |r: std::io::Result<Option<writer::Segment>>| match r {
                Ok(Some(s)) => {
                    let _ = done.send(s);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(camera = camera_id, error = %e, "footage was not written"),
            };
            while let Ok(msg) = rx.recv() {
                match msg {
                    Msg::Gap => handle(w.gap()),
                    Msg::Frame(f) => {
                        let at = OffsetDateTime::now_utc() - f.received.elapsed();
                        let frame = writer::Frame {
                            data: &f.data,
                            rtp_time: f.rtp_time,
                            keyframe: f.keyframe,
                            at,
                            session: f.session,
                        };
                        handle(w.push(frame));
                    }
                }
            }
            handle(w.finish());
        })?;
        let task = tokio::spawn(async move {
            let mut lost = false;
            loop {
                let msg = match frames.recv().await {
                    Ok(f) => Msg::Frame(f),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        metrics::counter!("q10_footage_frames_dropped_total").increment(n);
                        lost = true;
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if lost && send(&tx, Msg::Gap) {
                    lost = false;
                }
                if !lost && !send(&tx, msg) {
                    lost = true;
                }
            }
        });
        Ok(Recorder { task })
    }
}

/// Queues without waiting; a full queue drops the message and says so.
fn send(tx: &SyncSender<Msg>, msg: Msg) -> bool {
    match tx.try_send(msg) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            metrics::counter!("q10_footage_frames_dropped_total").increment(1);
            false
        }
        Err(TrySendError::Disconnected(_)) => false,
    }
}

/// Closes and keeps the segments a stopped process left open; to be done before any camera is
/// recorded again.
pub async fn recover(state: &AppState, root: PathBuf) {
    let folder = root.clone();
    match tokio::task::spawn_blocking(move || writer::recover(&folder)).await {
        Ok(Ok(segments)) => {
            for s in &segments {
                if let Err(e) = footage::keep(state, &root, s).await {
                    tracing::warn!(error = %e, "a recovered footage segment was not kept");
                }
            }
            if !segments.is_empty() {
                tracing::info!(segments = segments.len(), "footage left open by the last run was closed and kept");
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "footage left open by the last run was not recovered"),
        Err(e) => tracing::warn!(error = %e, "footage recovery stopped"),
    }
}

/// Keeps the segments the writers close and sweeps every minute. Runs until the process ends.
pub async fn run(
    state: AppState,
    config: FootageConfig,
    root: PathBuf,
    mut done: mpsc::UnboundedReceiver<writer::Segment>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            s = done.recv() => {
                let Some(s) = s else { break };
                if let Err(e) = footage::keep(&state, &root, &s).await {
                    tracing::warn!(camera = s.camera_id, error = %e, "a footage segment was not kept");
                }
            }
            _ = tick.tick() => {
                match footage::sweep(&state, &root, config.budget_bytes(), state.now()).await {
                    Ok(s) if s.expired + s.over_budget > 0 => tracing::info!(
                        expired = s.expired, over_budget = s.over_budget, kept_bytes = s.kept_bytes, "footage swept"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "the footage sweep failed"),
                }
            }
        }
    }
}
