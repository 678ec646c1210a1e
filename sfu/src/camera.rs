//! Camera ingest: one RTSP session per street camera (the `retina` client, over TCP interleaved
//! or UDP), its H.264 video taken as whole frames in Annex B form with the parameter sets on
//! every keyframe, handed to whoever subscribes (the relay, the recorder, the counter) without
//! transcoding. When the camera drops, the session is made again with growing pauses; its health
//! (up or down, frames a second, bitrate, the last keyframe) is always at hand.
//!
//! The stream URL's user name and password are taken out of the URL and given to the client as
//! credentials, so no request line, log or error carries them; errors are told by kind only.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use retina::client::{
    Credentials, Demuxed, PlayOptions, Session, SessionGroup, SessionOptions, SetupOptions, TeardownPolicy, Transport,
};
use retina::codec::{CodecItem, FrameFormat};
use tokio::sync::{broadcast, watch};
use url::Url;

/// A camera's stream: where it is and how to carry it.
#[derive(Clone)]
pub struct CameraSource {
    /// `rtsp://` or `rtsps://`, with `user:password@` when the camera wants a login.
    pub url: String,
    pub transport: RtspTransport,
}

impl std::fmt::Debug for CameraSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraSource").field("url", &"[redacted]").field("transport", &self.transport).finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtspTransport {
    Tcp,
    Udp,
}

/// How a camera is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraState {
    /// Being reached for the first time, or again after a drop.
    Connecting,
    /// Frames are arriving.
    Up,
    /// Not reachable, or silent; tried again after a pause.
    Down,
}

/// Why a camera is down, by kind: never with the URL, which may hold a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraFault {
    /// The URL cannot be used.
    BadUrl,
    /// The camera could not be reached or refused the request (DESCRIBE, SETUP or PLAY).
    Unreachable,
    /// The camera offers no H.264 video.
    NoH264,
    /// The session broke while playing.
    StreamError,
    /// The camera ended the stream.
    Ended,
    /// No frame for too long.
    Silent,
}

impl CameraFault {
    pub fn as_str(self) -> &'static str {
        match self {
            CameraFault::BadUrl => "bad_url",
            CameraFault::Unreachable => "unreachable",
            CameraFault::NoH264 => "no_h264",
            CameraFault::StreamError => "stream_error",
            CameraFault::Ended => "ended",
            CameraFault::Silent => "silent",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CameraHealth {
    pub state: CameraState,
    /// Frames a second over the last few seconds.
    pub fps: f64,
    /// Bits a second of video over the last few seconds.
    pub bitrate: f64,
    /// The picture size, once known.
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub last_keyframe: Option<SystemTime>,
    pub last_frame: Option<SystemTime>,
    pub fault: Option<CameraFault>,
    /// Sessions made since the start (the first one included).
    pub sessions: u64,
}

impl Default for CameraHealth {
    fn default() -> Self {
        CameraHealth {
            state: CameraState::Connecting,
            fps: 0.0,
            bitrate: 0.0,
            width: None,
            height: None,
            last_keyframe: None,
            last_frame: None,
            fault: None,
            sessions: 0,
        }
    }
}

/// One H.264 access unit as the camera sent it: Annex B NAL units, with SPS and PPS before
/// each keyframe.
#[derive(Debug, Clone)]
pub struct CameraFrame {
    pub data: Arc<[u8]>,
    /// The RTP timestamp (90 kHz), continuous within a session.
    pub rtp_time: u32,
    /// Whether a decoder can start here.
    pub keyframe: bool,
    pub received: Instant,
    /// Which session of this ingest it came in: a new one restarts the timestamps.
    pub session: u64,
}

/// How an ingest paces itself.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The first pause after a failure; it doubles up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// A playing session that sends no frame for this long is given up.
    pub silence: Duration,
    /// How long connecting (DESCRIBE, SETUP and PLAY) may take.
    pub connect_timeout: Duration,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            silence: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A running ingest; dropping it stops the session.
pub struct Ingest {
    health: watch::Receiver<CameraHealth>,
    frames: broadcast::Sender<CameraFrame>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Ingest {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Frames buffered for each subscriber: a slow one misses frames rather than holding up others.
const FRAME_QUEUE: usize = 64;
/// The window rates are measured over.
const RATE_WINDOW: Duration = Duration::from_secs(3);

impl Ingest {
    /// Starts ingesting `source`; must be called within a tokio runtime.
    pub fn start(source: CameraSource, options: IngestOptions) -> Ingest {
        let (health_tx, health) = watch::channel(CameraHealth::default());
        let (frames, _) = broadcast::channel(FRAME_QUEUE);
        let task = tokio::spawn(run(source, options, health_tx, frames.clone()));
        Ingest { health, frames, task }
    }

    pub fn health(&self) -> CameraHealth {
        self.health.borrow().clone()
    }

    /// Follows the health as it changes.
    pub fn watch_health(&self) -> watch::Receiver<CameraHealth> {
        self.health.clone()
    }

    /// The frames from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CameraFrame> {
        self.frames.subscribe()
    }
}

/// The URL without its credentials, and the credentials apart.
fn split(url: &str) -> Option<(Url, Option<Credentials>)> {
    let mut u = Url::parse(url).ok()?;
    if !matches!(u.scheme(), "rtsp" | "rtsps") || u.host_str().is_none() {
        return None;
    }
    let creds = (!u.username().is_empty()).then(|| Credentials {
        username: percent_decode(u.username()),
        password: u.password().map(percent_decode).unwrap_or_default(),
    });
    u.set_username("").ok()?;
    u.set_password(None).ok()?;
    Some((u, creds))
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

async fn run(
    source: CameraSource,
    options: IngestOptions,
    health: watch::Sender<CameraHealth>,
    frames: broadcast::Sender<CameraFrame>,
) {
    let Some((url, creds)) = split(&source.url) else {
        health.send_modify(|h| {
            h.state = CameraState::Down;
            h.fault = Some(CameraFault::BadUrl);
        });
        return;
    };
    let group = Arc::new(SessionGroup::default());
    let mut backoff = options.min_backoff;
    let mut session = 0u64;
    loop {
        session += 1;
        health.send_modify(|h| {
            h.sessions = session;
            if h.state != CameraState::Down {
                h.state = CameraState::Connecting;
            }
        });
        let started = Instant::now();
        let fault = match tokio::time::timeout(options.connect_timeout, connect(&url, &creds, &source, &group)).await {
            Ok(Ok(demuxed)) => play(demuxed, session, &options, &health, &frames).await,
            Ok(Err(fault)) => fault,
            Err(_) => CameraFault::Unreachable,
        };
        health.send_modify(|h| {
            h.state = CameraState::Down;
            h.fault = Some(fault);
            h.fps = 0.0;
            h.bitrate = 0.0;
        });
        metrics::counter!("q10_camera_sessions_failed_total").increment(1);
        // A session that played for a good while starts the pauses afresh.
        if started.elapsed() > Duration::from_secs(60) {
            backoff = options.min_backoff;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(options.max_backoff);
    }
}

async fn connect(
    url: &Url,
    creds: &Option<Credentials>,
    source: &CameraSource,
    group: &Arc<SessionGroup>,
) -> Result<Demuxed, CameraFault> {
    let options = SessionOptions::default()
        .creds(creds.clone())
        .user_agent(format!("q10/{}", env!("CARGO_PKG_VERSION")))
        .session_group(group.clone())
        .teardown(TeardownPolicy::Auto);
    let failed = |stage: &'static str| {
        move |e: retina::Error| {
            // The URL in retina's errors carries no credentials: they were taken out above.
            tracing::info!(%url, stage, error = %e, "a camera session failed");
            CameraFault::Unreachable
        }
    };
    let mut described = Session::describe(url.clone(), options).await.map_err(failed("describe"))?;
    let video = described
        .streams()
        .iter()
        .position(|s| s.media() == "video" && s.encoding_name().eq_ignore_ascii_case("h264"))
        .ok_or(CameraFault::NoH264)?;
    let transport = match source.transport {
        RtspTransport::Tcp => "tcp",
        RtspTransport::Udp => "udp",
    };
    let setup = SetupOptions::default()
        .transport(transport.parse::<Transport>().map_err(|_| CameraFault::Unreachable)?)
        .frame_format(FrameFormat::SIMPLE);
    described.setup(video, setup).await.map_err(failed("setup"))?;
    let playing = described.play(PlayOptions::default()).await.map_err(failed("play"))?;
    playing.demuxed().map_err(|_| CameraFault::NoH264)
}

/// Takes frames until the session breaks; says why it ended.
async fn play(
    mut demuxed: Demuxed,
    session: u64,
    options: &IngestOptions,
    health: &watch::Sender<CameraHealth>,
    frames: &broadcast::Sender<CameraFrame>,
) -> CameraFault {
    // Frames of the last RATE_WINDOW: when they came and how big they were.
    let mut recent: std::collections::VecDeque<(Instant, usize)> = Default::default();
    let mut last_report = Instant::now();
    loop {
        let item = match tokio::time::timeout(options.silence, demuxed.next()).await {
            Err(_) => return CameraFault::Silent,
            Ok(None) => return CameraFault::Ended,
            Ok(Some(Err(_))) => return CameraFault::StreamError,
            Ok(Some(Ok(item))) => item,
        };
        let CodecItem::VideoFrame(frame) = item else { continue };
        let now = Instant::now();
        let keyframe = frame.is_random_access_point();
        let rtp_time = frame.timestamp().timestamp() as u32;
        let size = if frame.has_new_parameters() || health.borrow().width.is_none() {
            demuxed.streams().iter().find_map(|s| match s.parameters() {
                Some(retina::codec::ParametersRef::Video(v)) => Some(v.pixel_dimensions()),
                _ => None,
            })
        } else {
            None
        };
        let data: Arc<[u8]> = frame.into_data().into();
        recent.push_back((now, data.len()));
        while recent.front().is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW) {
            recent.pop_front();
        }
        metrics::counter!("q10_camera_frames_total").increment(1);
        metrics::counter!("q10_camera_bytes_total").increment(data.len() as u64);
        let _ = frames.send(CameraFrame { data, rtp_time, keyframe, received: now, session });
        let wall = SystemTime::now();
        let first = health.borrow().state != CameraState::Up;
        // The rates are worth reporting a few times a second, not at every frame.
        if first || keyframe || size.is_some() || now.duration_since(last_report) >= Duration::from_millis(500) {
            last_report = now;
            let span = recent.front().map_or(Duration::ZERO, |(t, _)| now.duration_since(*t)).as_secs_f64();
            let (fps, bitrate) = if span > 0.2 {
                let bytes: usize = recent.iter().skip(1).map(|(_, b)| b).sum();
                ((recent.len() - 1) as f64 / span, bytes as f64 * 8.0 / span)
            } else {
                (0.0, 0.0)
            };
            health.send_modify(|h| {
                h.state = CameraState::Up;
                h.fault = None;
                h.fps = fps;
                h.bitrate = bitrate;
                h.last_frame = Some(wall);
                if keyframe {
                    h.last_keyframe = Some(wall);
                }
                if let Some((w, hgt)) = size {
                    h.width = Some(w);
                    h.height = Some(hgt);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url() {
        let (url, creds) = split("rtsp://view%40er:p%3Ass@10.0.0.5:554/Streaming/Channels/101").unwrap();
        assert_eq!(url.as_str(), "rtsp://10.0.0.5:554/Streaming/Channels/101");
        let c = creds.unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("view@er", "p:ss"));
        assert!(split("rtsp://cam/live").unwrap().1.is_none());
        assert!(split("http://cam/live").is_none());
        let shown =
            format!("{:?}", CameraSource { url: "rtsp://u:secret@cam/x".into(), transport: RtspTransport::Tcp });
        assert!(!shown.contains("secret"), "{shown}");
    }
}
