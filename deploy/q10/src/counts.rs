//! What counting observes, turned into the core's minute-by-minute counts, `/metrics`, and crowd
//! alerts: a camera with at least `crowd_people` people in view on every analysed frame for
//! `crowd_seconds` raises one, noted cleared when the crowd thins out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use q10_core::camera;
use q10_core::http::AppState;
use q10_sfu::counting::{Observation, kinds};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::config::CountingConfig;

/// How often a minute still running is written to the core.
const FLUSH: Duration = Duration::from_secs(10);

/// One camera's minute so far.
struct Minute {
    start: OffsetDateTime,
    frames: i64,
    in_view: [i64; 6],
    peak: [i64; 6],
    appeared: [i64; 6],
    written: Instant,
}

impl Minute {
    fn new(start: OffsetDateTime) -> Minute {
        Minute { start, frames: 0, in_view: [0; 6], peak: [0; 6], appeared: [0; 6], written: Instant::now() }
    }

    fn rows(&self) -> Vec<(&'static str, [i64; 4])> {
        kinds()
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), [self.frames, self.in_view[i], self.peak[i], self.appeared[i]]))
            .collect()
    }
}

#[derive(Default)]
struct Crowd {
    since: Option<Instant>,
    alerted: bool,
}

fn minute_of(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_second(0).and_then(|m| m.replace_nanosecond(0)).unwrap_or(t)
}

pub async fn run(state: AppState, mut observations: mpsc::UnboundedReceiver<Observation>, config: CountingConfig) {
    let mut minutes: HashMap<i64, Minute> = HashMap::new();
    let mut crowds: HashMap<i64, Crowd> = HashMap::new();
    // Cameras are named by their code in /metrics, as the ingest's figures are.
    let mut codes: HashMap<i64, String> = HashMap::new();
    let hold = Duration::from_secs(config.crowd_seconds);
    while let Some(o) = observations.recv().await {
        let at = minute_of(OffsetDateTime::from(o.at));
        let m = minutes.entry(o.camera).or_insert_with(|| Minute::new(at));
        if m.start != at {
            // The minute is over: written whole, and a new one begins.
            if let Err(e) = camera::record_counts(&state, o.camera, m.start, &m.rows()).await {
                tracing::warn!(camera = o.camera, error = %e, "counts not kept");
            }
            *m = Minute::new(at);
        }
        m.frames += 1;
        for i in 0..6 {
            m.in_view[i] += i64::from(o.in_view[i]);
            m.peak[i] = m.peak[i].max(i64::from(o.in_view[i]));
            m.appeared[i] += i64::from(o.appeared[i]);
        }
        if m.written.elapsed() >= FLUSH || m.frames == 1 {
            m.written = Instant::now();
            if let Err(e) = camera::record_counts(&state, o.camera, m.start, &m.rows()).await {
                tracing::warn!(camera = o.camera, error = %e, "counts not kept");
            }
        }
        if !codes.contains_key(&o.camera)
            && let Ok(Some(c)) = state.store.camera(o.camera).await
        {
            codes.insert(o.camera, c.code);
        }
        let code = codes.get(&o.camera).cloned().unwrap_or_else(|| o.camera.to_string());
        let labels = [("camera", code)];
        metrics::gauge!("q10_camera_people_in_view", &labels).set(f64::from(o.in_view[0]));
        metrics::gauge!("q10_camera_vehicles_in_view", &labels).set(f64::from(o.in_view[1..].iter().sum::<u32>()));

        let people = o.in_view[0];
        let crowd = crowds.entry(o.camera).or_default();
        let now = state.now();
        if people >= config.crowd_people {
            let since = *crowd.since.get_or_insert_with(Instant::now);
            if !crowd.alerted && since.elapsed() >= hold {
                crowd.alerted = true;
                match camera::report_crowd(&state, o.camera, Some(people), now).await {
                    Ok(Some(alert)) => tracing::warn!(camera = o.camera, alert, people, "crowd"),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(camera = o.camera, error = %e, "crowd alert not raised"),
                }
            }
        } else {
            crowd.since = None;
            if crowd.alerted {
                crowd.alerted = false;
                if let Err(e) = camera::report_crowd(&state, o.camera, None, now).await {
                    tracing::warn!(camera = o.camera, error = %e, "crowd alert not cleared");
                }
            }
        }
    }
}
