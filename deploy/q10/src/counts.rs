//! What counting observes, turned into the core's minute-by-minute counts (of the whole picture
//! and of each zone and line), `/metrics`, and crowd alerts: a camera with at least `crowd_people`
//! people in view on every analysed frame for `crowd_seconds` raises one, as does a zone with at
//! least its own `crowd_people` standing in it; each noted cleared when the crowd thins out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use q10_core::camera;
use q10_core::camera::areas::{self, AreaMinute};
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
    /// Each area's, by name: in the zone summed, most at once, crossed forward, back; per kind.
    areas: HashMap<String, [[i64; 6]; 4]>,
    written: Instant,
}

impl Minute {
    fn new(start: OffsetDateTime) -> Minute {
        Minute {
            start,
            frames: 0,
            in_view: [0; 6],
            peak: [0; 6],
            appeared: [0; 6],
            areas: HashMap::new(),
            written: Instant::now(),
        }
    }

    fn add(&mut self, o: &Observation) {
        self.frames += 1;
        for i in 0..6 {
            self.in_view[i] += i64::from(o.in_view[i]);
            self.peak[i] = self.peak[i].max(i64::from(o.in_view[i]));
            self.appeared[i] += i64::from(o.appeared[i]);
        }
        for (area, c) in o.areas.iter().zip(&o.area_counts) {
            let [in_view, peak, forward, back] = self.areas.entry(area.name.clone()).or_default();
            for i in 0..6 {
                in_view[i] += i64::from(c.in_view[i]);
                peak[i] = peak[i].max(i64::from(c.in_view[i]));
                forward[i] += i64::from(c.forward[i]);
                back[i] += i64::from(c.back[i]);
            }
        }
    }

    fn rows(&self) -> Vec<(&'static str, [i64; 4])> {
        kinds()
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), [self.frames, self.in_view[i], self.peak[i], self.appeared[i]]))
            .collect()
    }

    /// The areas' counts: only kinds that were there (no row is none).
    fn area_rows(&self) -> Vec<AreaMinute<'_>> {
        let mut rows = Vec::new();
        for (name, [in_view, peak, forward, back]) in &self.areas {
            for (i, k) in kinds().iter().enumerate() {
                if in_view[i] + forward[i] + back[i] > 0 {
                    let counts = [self.frames, in_view[i], peak[i], forward[i], back[i]];
                    rows.push(AreaMinute { area: name, kind: k.as_str(), counts });
                }
            }
        }
        rows
    }

    async fn write(&self, state: &AppState, camera: i64) {
        if let Err(e) = camera::record_counts(state, camera, self.start, &self.rows()).await {
            tracing::warn!(camera, error = %e, "counts not kept");
        }
        if let Err(e) = areas::record(state, camera, self.start, &self.area_rows()).await {
            tracing::warn!(camera, error = %e, "area counts not kept");
        }
    }
}

#[derive(Default)]
struct Crowd {
    since: Option<Instant>,
    alerted: bool,
}

impl Crowd {
    /// Takes how many people are in view now; says when to raise (`Some(Some(n))`) or clear
    /// (`Some(None)`) the alert.
    fn update(&mut self, people: u32, threshold: u32, hold: Duration) -> Option<Option<u32>> {
        if people >= threshold {
            let since = *self.since.get_or_insert_with(Instant::now);
            if !self.alerted && since.elapsed() >= hold {
                self.alerted = true;
                return Some(Some(people));
            }
        } else {
            self.since = None;
            if self.alerted {
                self.alerted = false;
                return Some(None);
            }
        }
        None
    }
}

fn minute_of(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_second(0).and_then(|m| m.replace_nanosecond(0)).unwrap_or(t)
}

pub async fn run(state: AppState, mut observations: mpsc::UnboundedReceiver<Observation>, config: CountingConfig) {
    let mut minutes: HashMap<i64, Minute> = HashMap::new();
    // By camera, and zone (none: the whole picture).
    let mut crowds: HashMap<(i64, Option<String>), Crowd> = HashMap::new();
    // Cameras are named by their code in /metrics, as the ingest's figures are.
    let mut codes: HashMap<i64, String> = HashMap::new();
    let hold = Duration::from_secs(config.crowd_seconds);
    while let Some(o) = observations.recv().await {
        let at = minute_of(OffsetDateTime::from(o.at));
        let m = minutes.entry(o.camera).or_insert_with(|| Minute::new(at));
        if m.start != at {
            // The minute is over: written whole, and a new one begins.
            m.write(&state, o.camera).await;
            *m = Minute::new(at);
        }
        m.add(&o);
        if m.written.elapsed() >= FLUSH || m.frames == 1 {
            m.written = Instant::now();
            m.write(&state, o.camera).await;
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

        let mut watched = vec![(None, o.in_view[0], config.crowd_people)];
        for (area, c) in o.areas.iter().zip(&o.area_counts) {
            if let Some(threshold) = area.crowd_people {
                watched.push((Some(area.name.clone()), c.in_view[0], threshold));
            }
        }
        for (zone, people, threshold) in watched {
            let crowd = crowds.entry((o.camera, zone.clone())).or_default();
            let Some(report) = crowd.update(people, threshold, hold) else { continue };
            match camera::report_crowd(&state, o.camera, zone.as_deref(), report, state.now()).await {
                Ok(Some(alert)) => tracing::warn!(camera = o.camera, alert, people, zone, "crowd"),
                Ok(None) => {}
                Err(e) => tracing::warn!(camera = o.camera, error = %e, "crowd alert not raised or cleared"),
            }
        }
        // A zone removed (or no longer watched for crowds) clears its alert.
        let gone: Vec<(i64, Option<String>)> = crowds
            .keys()
            .filter(|(c, z)| {
                *c == o.camera
                    && z.as_ref().is_some_and(|z| !o.areas.iter().any(|a| &a.name == z && a.crowd_people.is_some()))
            })
            .cloned()
            .collect();
        for key in gone {
            if crowds.remove(&key).is_some_and(|c| c.alerted)
                && let Err(e) = camera::report_crowd(&state, o.camera, key.1.as_deref(), None, state.now()).await
            {
                tracing::warn!(camera = o.camera, error = %e, "crowd alert not cleared");
            }
        }
    }
}
