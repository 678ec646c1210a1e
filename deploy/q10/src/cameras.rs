//! The camera supervisor of a process that runs both the core and the SFU: it keeps one ingest
//! running for each enabled camera (started, stopped and restarted as cameras are added, switched
//! off or given another stream; a change of its counting areas reaches counting without a
//! restart), relayed by the SFU to whoever watches it and counted when counting is set up,
//! and every few seconds reports each one's health to the core, which raises an alert for a
//! camera down too long, and to `/metrics`. Counts go to the core minute by minute (`counts.rs`);
//! cameras are recorded while their recording mode and schedule say so (`footage.rs`).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use q10_core::camera::{self, HealthReport};
use q10_core::http::AppState;
use q10_core::store::cameras::CameraRow;
use q10_core_api::AreaShape;
use q10_core_api::CameraLink;
use q10_core_api::camera_room;
use q10_sfu::SfuHandle;
use q10_sfu::camera::{CameraSource, CameraState, Ingest, IngestOptions, RtspTransport};
use q10_sfu::counting::area::Area;
use q10_sfu::counting::{Areas, Counter};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::config::CountingConfig;
use crate::counts;
use crate::footage::{Recorder, Recording};

/// How often the camera list is read and health reported.
const EVERY: Duration = Duration::from_secs(5);

struct Running {
    code: String,
    /// The stream as sealed, and its transport: a change restarts the ingest.
    stream: (Vec<u8>, String),
    /// The counting areas, as kept; and where counting reads them.
    areas_json: String,
    areas: watch::Sender<Areas>,
    ingest: Ingest,
    /// The task handing its keyframes to counting.
    counting: Option<tokio::task::JoinHandle<()>>,
    recorder: Option<Recorder>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = &self.counting {
            t.abort();
        }
    }
}

/// Runs until the process ends.
pub async fn run(state: AppState, sfu: SfuHandle, counting: Option<CountingConfig>, recording: Option<Recording>) {
    let counter = match counting.as_ref().map(|c| c.options()) {
        None => None,
        Some(Err(e)) => {
            tracing::error!(error = %e, "counting is not started");
            None
        }
        Some(Ok(options)) => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            match Counter::start(&options, tx) {
                Ok(c) => {
                    let config = counting.clone().expect("present above");
                    tokio::spawn(counts::run(state.clone(), rx, config));
                    tracing::info!(model = %options.model.display(), "counting people and vehicles");
                    Some(c)
                }
                Err(e) => {
                    tracing::error!(error = %e, "counting is not started");
                    None
                }
            }
        }
    };
    let mut running: HashMap<i64, Running> = HashMap::new();
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = pass(&state, &sfu, counter.as_ref(), recording.as_ref(), &mut running).await {
            tracing::warn!(error = %e, "the camera supervisor's pass failed");
        }
    }
}

async fn pass(
    state: &AppState,
    sfu: &SfuHandle,
    counter: Option<&Counter>,
    recording: Option<&Recording>,
    running: &mut HashMap<i64, Running>,
) -> q10_core::Result<()> {
    let cameras = state.store.cameras().await?;
    let wanted: HashMap<i64, _> = cameras.into_iter().filter(|c| c.enabled).map(|c| (c.id, c)).collect();
    running.retain(|id, r| {
        let keep = wanted.get(id).is_some_and(|c| (&c.source_sealed, &c.transport) == (&r.stream.0, &r.stream.1));
        if !keep {
            metrics::gauge!("q10_camera_up", "camera" => r.code.clone()).set(0.0);
            tracing::info!(camera = %r.code, "camera ingest stopped");
        }
        keep
    });
    for (id, c) in &wanted {
        if let Some(r) = running.get_mut(id) {
            if r.areas_json != c.areas {
                r.areas.send_replace(counting_areas(c));
                r.areas_json = c.areas.clone();
                tracing::info!(camera = %c.code, "counting areas changed");
            }
            continue;
        }
        let url = match camera::stream_url(state, c) {
            Ok(url) => url,
            Err(e) => {
                tracing::warn!(camera = %c.code, error = %e, "a camera's stream URL does not open");
                continue;
            }
        };
        let transport = if c.transport == "udp" { RtspTransport::Udp } else { RtspTransport::Tcp };
        let ingest = Ingest::start(CameraSource { url, transport }, IngestOptions::default());
        // Viewers are fed from the same ingest until it stops.
        if sfu.relay_camera(&camera_room(*id), ingest.subscribe()).await.is_err() {
            tracing::warn!("the media server has stopped; cameras are not relayed");
        }
        tracing::info!(camera = %c.code, source = %c.source_shown, "camera ingest started");
        let (areas, areas_rx) = watch::channel(counting_areas(c));
        let counting = counter.map(|k| k.watch(*id, ingest.subscribe(), areas_rx));
        let r = Running {
            code: c.code.clone(),
            stream: (c.source_sealed.clone(), c.transport.clone()),
            areas_json: c.areas.clone(),
            areas,
            ingest,
            counting,
            recorder: None,
        };
        running.insert(*id, r);
    }
    let now = state.now();
    for (id, r) in running.iter_mut() {
        let wanted_now =
            recording.is_some() && wanted.get(id).is_some_and(|c| q10_core::footage::recording_now(c, now));
        match (&r.recorder, recording) {
            (None, Some(to)) if wanted_now => match Recorder::start(to, *id, r.ingest.subscribe()) {
                Ok(rec) => {
                    tracing::info!(camera = %r.code, "camera recording started");
                    r.recorder = Some(rec);
                }
                Err(e) => tracing::warn!(camera = %r.code, error = %e, "camera recording not started"),
            },
            (Some(_), _) if !wanted_now => {
                tracing::info!(camera = %r.code, "camera recording stopped");
                r.recorder = None;
            }
            _ => {}
        }
    }
    for (id, r) in running.iter() {
        let h = r.ingest.health();
        let link = match h.state {
            CameraState::Connecting => CameraLink::Connecting,
            CameraState::Up => CameraLink::Up,
            CameraState::Down => CameraLink::Down,
        };
        let labels = [("camera", r.code.clone())];
        metrics::gauge!("q10_camera_up", &labels).set(if link == CameraLink::Up { 1.0 } else { 0.0 });
        metrics::gauge!("q10_camera_fps", &labels).set(h.fps);
        metrics::gauge!("q10_camera_bitrate_bits_per_second", &labels).set(h.bitrate);
        let report = HealthReport {
            state: link,
            fps: h.fps,
            bitrate: h.bitrate,
            width: h.width,
            height: h.height,
            last_keyframe_at: h.last_keyframe.map(offset),
            fault: h.fault.map(|f| f.as_str()),
        };
        if let Some(alert) = camera::report_health(state, *id, &report, now).await? {
            tracing::warn!(camera = %r.code, alert, "camera down");
        }
    }
    Ok(())
}

/// A camera's zones and lines, for counting.
fn counting_areas(c: &CameraRow) -> Areas {
    let kept = q10_core::camera::areas::parse(&c.areas).unwrap_or_else(|e| {
        tracing::warn!(camera = %c.code, error = %e, "the camera's counting areas are not used");
        Vec::new()
    });
    kept.iter()
        .filter_map(|a| match a.shape {
            AreaShape::Zone => Area::zone(&a.name, &a.points, a.crowd_people),
            AreaShape::Line => Area::line(&a.name, &a.points),
        })
        .collect()
}

fn offset(t: SystemTime) -> OffsetDateTime {
    OffsetDateTime::from(t)
}
