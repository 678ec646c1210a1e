//! The kiosk's own camera: a V4L2 device (a USB camera, through `linuxvideo`, pure Rust), or the
//! built-in test picture that stands in for one where there is none (as a browser's fake camera
//! does). Pictures come as I420 at no more than 640 × 480, the size a call sends and a complaint's
//! photo keeps, from a thread of their own; the thread stops when nobody reads them any more.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use linuxvideo::format::{PixFormat, PixelFormat};
use linuxvideo::{BufType, Device};

/// Pictures a second, from the camera and in a call: enough to see a face and a gesture on the
/// modest processor a kiosk has.
pub const RATE: u32 = 15;

/// Which camera the kiosk uses (`--camera`, `Q10_KIOSK_CAMERA`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Camera {
    /// None: calls carry the kiosk's voice only, complaints have no photo button.
    None,
    /// The first V4L2 capture device found, if any.
    Auto,
    /// This device, such as `/dev/video0`.
    Device(PathBuf),
    /// A moving test picture, 640 × 360.
    Test,
}

impl FromStr for Camera {
    type Err = String;

    fn from_str(s: &str) -> Result<Camera, String> {
        match s {
            "none" | "off" => Ok(Camera::None),
            "auto" => Ok(Camera::Auto),
            "test" => Ok(Camera::Test),
            path if path.starts_with("/dev/") => Ok(Camera::Device(PathBuf::from(path))),
            other => Err(format!("'{other}' is not a camera: give auto, none, test or a device such as /dev/video0")),
        }
    }
}

/// The first device that captures video, as Linux lists them.
pub fn find() -> Option<PathBuf> {
    linuxvideo::list().ok()?.flatten().find_map(|d| {
        d.supported_buf_types().contains(linuxvideo::BufTypes::VIDEO_CAPTURE).then(|| d.path().ok()).flatten()
    })
}

impl Camera {
    /// The camera to use, `Auto` resolved: `None` when there is none.
    pub fn resolve(self) -> Camera {
        match self {
            Camera::Auto => find().map(Camera::Device).unwrap_or(Camera::None),
            other => other,
        }
    }

    pub fn present(&self) -> bool {
        *self != Camera::None
    }
}

/// One picture, I420 (the Y plane, then the U and V planes at half size each way).
#[derive(Debug, Clone)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub i420: Vec<u8>,
}

impl Frame {
    /// The picture as RGB, 3 bytes a pixel (full-range BT.601, as cameras send it).
    pub fn rgb(&self) -> Vec<u8> {
        let (w, h) = (self.width as usize, self.height as usize);
        let (y, rest) = self.i420.split_at(w * h);
        let (u, v) = rest.split_at(w * h / 4);
        let mut out = Vec::with_capacity(w * h * 3);
        for row in 0..h {
            for col in 0..w {
                let c = (row / 2) * (w / 2) + col / 2;
                let (yy, cb, cr) = (y[row * w + col] as f32, u[c] as f32 - 128.0, v[c] as f32 - 128.0);
                let clamp = |x: f32| x.round().clamp(0.0, 255.0) as u8;
                out.push(clamp(yy + 1.402 * cr));
                out.push(clamp(yy - 0.344 * cb - 0.714 * cr));
                out.push(clamp(yy + 1.772 * cb));
            }
        }
        out
    }

    /// The picture as a PNG file.
    pub fn png(&self) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, self.width, self.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()?.write_image_data(&self.rgb())?;
        Ok(out)
    }
}

/// Pictures as they come, until the receiver is dropped. Opening fails at once with a clear
/// reason (no such device, a device that offers neither YUYV nor Motion-JPEG).
pub fn start(camera: &Camera) -> anyhow::Result<mpsc::Receiver<Frame>> {
    let (tx, rx) = mpsc::sync_channel(2);
    match camera.clone().resolve() {
        Camera::None | Camera::Auto => anyhow::bail!("this kiosk has no camera"),
        Camera::Test => {
            std::thread::Builder::new().name("camera".into()).spawn(move || test_picture(tx))?;
        }
        Camera::Device(path) => {
            let device = Capture::open(&path)?;
            std::thread::Builder::new().name("camera".into()).spawn(move || {
                if let Err(e) = device.run(&tx) {
                    eprintln!("the camera stopped: {e}");
                }
            })?;
        }
    }
    Ok(rx)
}

/// One picture from the camera (the third, so that its exposure has settled).
pub fn still(camera: &Camera) -> anyhow::Result<Frame> {
    let pictures = start(camera)?;
    let mut last = None;
    for _ in 0..3 {
        match pictures.recv_timeout(Duration::from_secs(3)) {
            Ok(f) => last = Some(f),
            Err(_) => break,
        }
    }
    last.ok_or_else(|| anyhow::anyhow!("the camera sent no picture"))
}

/// Sends `frame` unless the reader is behind (the picture is dropped) or gone (false).
fn offer(tx: &mpsc::SyncSender<Frame>, frame: Frame) -> bool {
    !matches!(tx.try_send(frame), Err(mpsc::TrySendError::Disconnected(_)))
}

struct Capture {
    stream: linuxvideo::stream::ReadStream,
    width: usize,
    height: usize,
    stride: usize,
    pixel: PixelFormat,
}

impl Capture {
    fn open(path: &Path) -> anyhow::Result<Capture> {
        let device =
            Device::open(path).map_err(|e| anyhow::anyhow!("cannot open the camera {}: {e}", path.display()))?;
        let offered: Vec<PixelFormat> =
            device.formats(BufType::VIDEO_CAPTURE).filter_map(|f| f.ok().map(|f| f.pixel_format())).collect();
        let pixel = [PixelFormat::YUYV, PixelFormat::MJPG, PixelFormat::JPEG]
            .into_iter()
            .find(|p| offered.contains(p))
            .ok_or_else(|| anyhow::anyhow!("the camera {} offers neither YUYV nor Motion-JPEG", path.display()))?;
        let capture = device.video_capture(PixFormat::new(640, 480, pixel))?;
        // Not every camera takes a rate; it then sends what it sends and the reader keeps up.
        let _ = capture.set_frame_interval(linuxvideo::Fract::new(1, RATE));
        let f = capture.format();
        let (width, height, stride) = (f.width() as usize, f.height() as usize, f.bytes_per_line() as usize);
        let pixel = f.pixel_format();
        Ok(Capture { stream: capture.into_stream()?, width, height, stride, pixel })
    }

    fn run(mut self, tx: &mpsc::SyncSender<Frame>) -> anyhow::Result<()> {
        let (w, h, stride, pixel) = (self.width, self.height, self.stride, self.pixel);
        loop {
            let frame = self.stream.dequeue(|buf| {
                if buf.is_error() {
                    return Ok(None);
                }
                Ok(match pixel {
                    PixelFormat::YUYV => Some(yuyv_to_i420(&buf, w, h, stride)),
                    _ => jpeg_to_i420(&buf),
                })
            })?;
            if let Some(frame) = frame.map(shrink)
                && !offer(tx, frame)
            {
                return Ok(());
            }
        }
    }
}

/// YUYV (4:2:2, `Y0 U Y1 V`) to I420, the chroma of each two rows averaged.
pub fn yuyv_to_i420(buf: &[u8], w: usize, h: usize, stride: usize) -> Frame {
    let (w, h) = (w & !1, h & !1);
    let mut out = vec![0u8; w * h * 3 / 2];
    let (y, uv) = out.split_at_mut(w * h);
    let (u, v) = uv.split_at_mut(w * h / 4);
    for row in 0..h {
        let line = &buf[row * stride..row * stride + w * 2];
        for (col, px) in line.chunks_exact(2).enumerate() {
            y[row * w + col] = px[0];
        }
        if row % 2 == 1 {
            let above = &buf[(row - 1) * stride..];
            for c in 0..w / 2 {
                let at = (row / 2) * (w / 2) + c;
                u[at] = ((above[c * 4 + 1] as u16 + line[c * 4 + 1] as u16) / 2) as u8;
                v[at] = ((above[c * 4 + 3] as u16 + line[c * 4 + 3] as u16) / 2) as u8;
            }
        }
    }
    Frame { width: w as u32, height: h as u32, i420: out }
}

/// A JPEG picture (what a Motion-JPEG camera sends) to I420; `None` for a damaged one.
pub fn jpeg_to_i420(data: &[u8]) -> Option<Frame> {
    let mut decoder = zune_jpeg::JpegDecoder::new(std::io::Cursor::new(data));
    let rgb = decoder.decode().ok()?;
    let info = decoder.info()?;
    let (w, h) = (info.width as usize & !1, info.height as usize & !1);
    let full = info.width as usize;
    let mut out = vec![0u8; w * h * 3 / 2];
    let (y, uv) = out.split_at_mut(w * h);
    let (u, v) = uv.split_at_mut(w * h / 4);
    for row in 0..h {
        for col in 0..w {
            let p = &rgb[(row * full + col) * 3..];
            let (yy, cb, cr) = yuv(p[0], p[1], p[2]);
            y[row * w + col] = yy;
            if row % 2 == 0 && col % 2 == 0 {
                u[(row / 2) * (w / 2) + col / 2] = cb;
                v[(row / 2) * (w / 2) + col / 2] = cr;
            }
        }
    }
    Some(Frame { width: w as u32, height: h as u32, i420: out })
}

/// Full-range BT.601, the inverse of [`Frame::rgb`].
fn yuv(r: u8, g: u8, b: u8) -> (u8, u8, u8) {
    let (r, g, b) = (r as f32, g as f32, b as f32);
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let clamp = |x: f32| x.round().clamp(0.0, 255.0) as u8;
    (clamp(y), clamp(128.0 + (b - y) / 1.772), clamp(128.0 + (r - y) / 1.402))
}

/// A picture larger than 640 × 480 halved each way (as often as it takes), by averaging.
fn shrink(mut f: Frame) -> Frame {
    while f.width > 640 || f.height > 480 {
        let (w, h) = (f.width as usize, f.height as usize);
        let (nw, nh) = ((w / 2) & !1, (h / 2) & !1);
        let half = |plane: &[u8], pw: usize, ow: usize, oh: usize| -> Vec<u8> {
            let mut out = Vec::with_capacity(ow * oh);
            for r in 0..oh {
                for c in 0..ow {
                    let at = |rr: usize, cc: usize| plane[rr * pw + cc] as u16;
                    let sum = at(2 * r, 2 * c) + at(2 * r, 2 * c + 1) + at(2 * r + 1, 2 * c) + at(2 * r + 1, 2 * c + 1);
                    out.push((sum / 4) as u8);
                }
            }
            out
        };
        let (y, rest) = f.i420.split_at(w * h);
        let (u, v) = rest.split_at(w * h / 4);
        let mut i420 = half(y, w, nw, nh);
        i420.extend(half(u, w / 2, nw / 2, nh / 2));
        i420.extend(half(v, w / 2, nw / 2, nh / 2));
        f = Frame { width: nw as u32, height: nh as u32, i420 };
    }
    f
}

/// The test picture: eight colour bars sliding sideways and a white square crossing them, so
/// that every picture differs from the one before and a frozen picture shows.
fn test_picture(tx: mpsc::SyncSender<Frame>) {
    const W: usize = 640;
    const H: usize = 360;
    const BARS: [(u8, u8, u8); 8] = [
        (235, 235, 235),
        (235, 235, 16),
        (16, 235, 235),
        (16, 235, 16),
        (235, 16, 235),
        (235, 16, 16),
        (16, 16, 235),
        (16, 16, 16),
    ];
    let colours: Vec<(u8, u8, u8)> = BARS.iter().map(|&(r, g, b)| yuv(r, g, b)).collect();
    let start = Instant::now();
    let every = Duration::from_secs(1) / RATE;
    for n in 0u64.. {
        let shift = (n as usize * 4) % W;
        let (sx, sy) = ((n as usize * 9) % (W - 80), 140 + ((n as usize * 5) % 120));
        let mut out = vec![0u8; W * H * 3 / 2];
        let (y, uv) = out.split_at_mut(W * H);
        let (u, v) = uv.split_at_mut(W * H / 4);
        for row in 0..H {
            for col in 0..W {
                let in_square = (sx..sx + 80).contains(&col) && (sy..sy + 80).contains(&row);
                let (yy, cb, cr) = if in_square { (255, 128, 128) } else { colours[((col + shift) % W) * 8 / W] };
                y[row * W + col] = yy;
                if row % 2 == 0 && col % 2 == 0 {
                    u[(row / 2) * (W / 2) + col / 2] = cb;
                    v[(row / 2) * (W / 2) + col / 2] = cr;
                }
            }
        }
        if !offer(&tx, Frame { width: W as u32, height: H as u32, i420: out }) {
            return;
        }
        let next = start + every * (n as u32 + 1);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cameras_are_named_on_the_command_line() {
        assert_eq!("test".parse::<Camera>().unwrap(), Camera::Test);
        assert_eq!("none".parse::<Camera>().unwrap(), Camera::None);
        assert_eq!("/dev/video2".parse::<Camera>().unwrap(), Camera::Device("/dev/video2".into()));
        assert!("video0".parse::<Camera>().unwrap_err().contains("/dev/video0"));
        assert!(start(&Camera::Device("/dev/no-such-camera".into())).unwrap_err().to_string().contains("cannot open"));
    }

    #[test]
    fn the_test_picture_moves_and_keeps_its_rate() {
        let pictures = start(&Camera::Test).unwrap();
        let began = Instant::now();
        let frames: Vec<Frame> = (0..16).map(|_| pictures.recv().unwrap()).collect();
        // 15 a second: the sixteenth comes a second after the first (the reader keeps up here).
        assert!(began.elapsed() >= Duration::from_millis(900), "{:?}", began.elapsed());
        assert!(frames.iter().all(|f| (f.width, f.height) == (640, 360) && f.i420.len() == 640 * 360 * 3 / 2));
        assert!(frames.windows(2).all(|p| p[0].i420 != p[1].i420), "every picture differs from the one before");
        // The first bar is white, the last black.
        let rgb = frames[0].rgb();
        assert!(rgb[..3].iter().all(|&c| c > 220), "{:?}", &rgb[..3]);
        assert!(rgb[(639 + 10 * 640) * 3..][..3].iter().all(|&c| c < 30));
    }

    #[test]
    fn yuyv_and_jpeg_pictures_become_i420() {
        // Two rows of four pixels: a grey and a bright pair, then their chroma.
        let row = [100u8, 90, 110, 170, 200, 60, 220, 180];
        let buf: Vec<u8> = [row, row].concat();
        let f = yuyv_to_i420(&buf, 4, 2, 8);
        assert_eq!(f.i420, vec![100, 110, 200, 220, 100, 110, 200, 220, 90, 60, 170, 180]);

        // A JPEG made here, from a picture half red and half blue.
        let (w, h) = (16u32, 8u32);
        let mut rgb = Vec::new();
        for _ in 0..h {
            for x in 0..w {
                rgb.extend(if x < 8 { [220, 20, 20] } else { [20, 20, 220] });
            }
        }
        let frame = jpeg_to_i420(&jpeg(&rgb, w, h)).expect("decodes");
        assert_eq!((frame.width, frame.height), (16, 8));
        let back = frame.rgb();
        assert!(back[0] > 180 && back[2] < 70, "red on the left: {:?}", &back[..3]);
        assert!(back[15 * 3 + 2] > 180 && back[15 * 3] < 70, "blue on the right");
        assert!(jpeg_to_i420(b"not a picture").is_none());
    }

    #[test]
    fn large_pictures_are_halved_and_stills_are_png() {
        let big = Frame { width: 1280, height: 720, i420: vec![77; 1280 * 720 * 3 / 2] };
        let small = shrink(big);
        assert_eq!((small.width, small.height, small.i420.len()), (640, 360, 640 * 360 * 3 / 2));
        let png = still(&Camera::Test).unwrap().png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    /// A baseline JPEG encoder is not among the kiosk's dependencies; the test builds one from
    /// the picture with the `image` crate's encoder, which the workspace already has.
    fn jpeg(rgb: &[u8], w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode(rgb, w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }
}
