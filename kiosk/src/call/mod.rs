//! Calling the officer on duty (`docs/kiosk.md`, "Call an officer"). The kiosk asks the core for
//! a call (it rings in the consoles of its ward), joins the call's room through the signaling
//! WebSocket as a native WebRTC client (webrtc-rs), sends its voice as Opus and its camera's
//! pictures as H.264 (OpenH264), and shows and plays what the officer sends (H.264 decoded by
//! OpenH264, Opus). The call ends when either side hangs
//! up, when the officer leaves, or when nobody answers in time.

pub mod audio;
mod rtc_peer;
pub mod video;

use std::time::Duration;

use q10_core_api::KioskCallJoin;
use tokio::sync::watch;

pub use audio::Source;
pub use rtc_peer::Counts;
pub use video::Picture;

/// How long a kiosk rings before it gives up (the core marks a call missed after two minutes).
pub const RING_FOR: Duration = Duration::from_secs(60);

/// What the person at the kiosk is told as the call goes.
#[derive(Debug, Clone)]
pub enum Event {
    /// Asked for; ringing in the consoles.
    Ringing { call: i64 },
    /// The sound is open: whether with a microphone (without one the kiosk is heard as silence).
    Sound { microphone: bool },
    /// An officer answered (their name).
    Answered { officer: String },
    /// A picture from the officer.
    Picture(Picture),
    /// Over.
    Ended(End),
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The kiosk hung up (its button, or its idle reset).
    HungUp,
    /// The officer hung up.
    OfficerLeft,
    /// Nobody answered within [`RING_FOR`].
    NoAnswer,
    /// The connection to the server was lost.
    Lost,
}

/// What a call was, for the command line and the tests.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub call: i64,
    pub answered: bool,
    pub end: String,
    pub microphone: bool,
    pub audio_sent: u64,
    pub audio_received: u64,
    pub samples_played: u64,
    pub pictures: u64,
    pub picture_size: Option<(u32, u32)>,
    /// The officer's video packets received.
    pub video_received: u64,
    /// The kiosk's own pictures sent (none without a camera), and their size.
    pub video_sent: u64,
    pub video_size: Option<(u32, u32)>,
}

/// Where and as whom a call is made.
#[derive(Debug, Clone)]
pub struct Options {
    /// The core's base URL (its signaling is served beside it).
    pub core: String,
    /// The kiosk's bearer token.
    pub token: String,
    pub source: Source,
    /// The kiosk's camera (`Camera::None` for none).
    pub camera: crate::camera::Camera,
    pub ring_for: Duration,
}

/// Asks the core for a call.
pub async fn place(http: &reqwest::Client, o: &Options) -> anyhow::Result<KioskCallJoin> {
    let res = http.post(format!("{}/api/v1/kiosk/calls", o.core)).bearer_auth(&o.token).send().await?;
    if !res.status().is_success() {
        let status = res.status();
        let problem: Option<q10_core_api::Problem> = res.json().await.ok();
        anyhow::bail!("the core refused the call ({status}): {}", problem.and_then(|p| p.detail).unwrap_or_default());
    }
    Ok(res.json().await?)
}

/// Tells the core the call is over (whoever ended it); a call already over stays as it was.
pub async fn end(http: &reqwest::Client, o: &Options, call: i64) {
    let url = format!("{}/api/v1/kiosk-calls/{call}/end", o.core);
    if let Err(e) = http.post(url).bearer_auth(&o.token).send().await {
        eprintln!("could not tell the core the call ended: {e}");
    }
}

/// Makes a call and holds it until it ends or `hang_up` turns true; `events` hears how it goes.
pub async fn run(
    o: &Options,
    events: impl FnMut(Event) + Send,
    hang_up: watch::Receiver<bool>,
) -> anyhow::Result<Summary> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let join = place(&http, o).await?;
    let call = join.call.id;
    let outcome = rtc_peer::talk(o, &join, events, hang_up).await;
    end(&http, o, call).await;
    let (end, counts, microphone) = outcome?;
    Ok(Summary {
        call,
        answered: counts.answered,
        end: format!("{end:?}"),
        microphone,
        audio_sent: counts.audio_sent,
        audio_received: counts.audio_received,
        samples_played: counts.samples_played,
        pictures: counts.pictures,
        picture_size: counts.picture_size,
        video_received: counts.video_received,
        video_sent: counts.video_sent,
        video_size: counts.video_size,
    })
}

/// The signaling WebSocket's URL beside the core's base URL.
fn signaling_url(core: &str) -> anyhow::Result<String> {
    let rest = core
        .strip_prefix("http://")
        .map(|r| format!("ws://{r}"))
        .or_else(|| core.strip_prefix("https://").map(|r| format!("wss://{r}")))
        .ok_or_else(|| anyhow::anyhow!("the core's URL is not http(s): {core}"))?;
    Ok(format!("{}/rtc/v1", rest.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signaling_is_beside_the_core() {
        assert_eq!(signaling_url("http://127.0.0.1:8080").unwrap(), "ws://127.0.0.1:8080/rtc/v1");
        assert_eq!(signaling_url("https://q10.example.vn/").unwrap(), "wss://q10.example.vn/rtc/v1");
        assert!(signaling_url("ftp://x").is_err());
    }
}
