//! The test camera: `tests/media/test-camera.py` (Debian's gst-rtsp-server with x264) serving
//! live H.264 at `rtsp://127.0.0.1:PORT/live` as a street camera does. Killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

pub struct TestCamera {
    child: Child,
    pub port: u16,
}

impl Drop for TestCamera {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestCamera {
    /// The stream's URL, with `login` (`user:password@`, or empty) in it.
    pub fn url(&self, login: &str) -> String {
        format!("rtsp://{login}127.0.0.1:{}/live", self.port)
    }
}

/// A loopback port nobody listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts a 640×360 test camera on `port`, wanting `login` (user, password) if given. Outside CI
/// a machine without GStreamer's RTSP server skips the test (None); in CI that is a failure.
pub fn test_camera(port: u16, login: Option<(&str, &str)>) -> Option<TestCamera> {
    let mut args = Vec::new();
    if let Some((u, p)) = login {
        args.extend(["--user", u, "--password", p]);
    }
    start(port, &args)
}

/// A test camera showing a still photo (a JPEG) instead of the moving test pattern.
pub fn test_camera_showing(port: u16, image: &str) -> Option<TestCamera> {
    start(port, &["--image", image])
}

/// A test camera showing a still photo at `kbps` kilobits a second.
pub fn test_camera_at(port: u16, image: &str, kbps: u32) -> Option<TestCamera> {
    start(port, &["--image", image, "--bitrate", &kbps.to_string()])
}

/// A test camera showing a photo walking across a grey street, left to right, in `seconds`.
pub fn test_camera_walking(port: u16, image: &str, seconds: f32) -> Option<TestCamera> {
    start(port, &["--image", image, "--walk", &seconds.to_string()])
}

fn start(port: u16, args: &[&str]) -> Option<TestCamera> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/media/test-camera.py");
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(script).args(["--port", &port.to_string(), "--size", "640x360"]).args(args);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line).unwrap_or(0);
    if line.trim() == "ready" {
        return Some(TestCamera { child, port });
    }
    let mut err = String::new();
    let _ = child.stderr.take().expect("piped stderr").read_to_string(&mut err);
    let _ = child.wait();
    assert!(std::env::var_os("CI").is_none(), "the test camera must run in CI (tests/run installs it): {err}");
    eprintln!("skipped: the test camera does not start (deploy/lib/gstreamer.sh installs what it needs): {err}");
    None
}

/// What ffprobe (Debian's ffmpeg, installed with the test camera) reads in a media file: the
/// container's duration and name, and each stream's codec, picture size and packets counted.
pub fn ffprobe(path: &std::path::Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_packets", "-show_entries"])
        .arg("format=duration,format_name:stream=codec_name,width,height,nb_read_packets")
        .args(["-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe runs (deploy/lib/gstreamer.sh installs it)");
    assert!(out.status.success(), "ffprobe reads {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("ffprobe writes JSON")
}
