//! Pictures both ways. The officer's: H.264 RTP packets put back together into frames (webrtc-rs'
//! sample builder and depacketizer) and decoded by OpenH264 into RGB for the interface. The
//! kiosk's: its camera's pictures encoded by OpenH264 as H.264 (baseline, what every browser
//! decodes) on the camera's thread, so that encoding never holds up the sound.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use openh264::OpenH264API;
use openh264::decoder::Decoder;
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, RateControlMode, UsageType};
use openh264::formats::{YUVBuffer, YUVSource};
use tokio::sync::mpsc;

use crate::camera::{self, Camera};
use rtc::media::io::sample_builder::SampleBuilder;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::packet::Packet;

/// One decoded picture, RGB, 3 bytes a pixel.
#[derive(Debug, Clone)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

pub struct Pictures {
    builder: SampleBuilder<H264Packet>,
    decoder: Decoder,
    /// Frames decoded, and frames that would not decode (a picture lost before a keyframe).
    pub decoded: u64,
    pub undecodable: u64,
}

impl Pictures {
    pub fn new() -> anyhow::Result<Pictures> {
        Ok(Pictures {
            // Up to 128 packets late (a large keyframe) before a frame is given up.
            builder: SampleBuilder::new(128, H264Packet::default(), 90_000),
            decoder: Decoder::new()?,
            decoded: 0,
            undecodable: 0,
        })
    }

    /// Takes a packet; returns the pictures it completes.
    pub fn push(&mut self, packet: Packet) -> Vec<Picture> {
        let now = Instant::now();
        self.builder.push(now, packet);
        let mut out = Vec::new();
        while let Some(sample) = self.builder.pop(now) {
            match self.decoder.decode(&sample.data) {
                Ok(Some(yuv)) => {
                    let (w, h) = yuv.dimensions();
                    let mut rgb = vec![0u8; w * h * 3];
                    yuv.write_rgb8(&mut rgb);
                    self.decoded += 1;
                    out.push(Picture { width: w as u32, height: h as u32, rgb });
                }
                Ok(None) => {}
                Err(_) => self.undecodable += 1,
            }
        }
        out
    }
}

/// The kiosk's pictures as H.264 access units (Annex B), ready for the track.
pub struct Sending {
    pub frames: mpsc::Receiver<Vec<u8>>,
    /// Set to have the next picture a keyframe (someone new is watching).
    pub keyframe: Arc<AtomicBool>,
    /// The size of the pictures sent.
    pub size: (u32, u32),
}

/// A keyframe at least every two seconds, so that a picture lost or a late viewer recovers soon
/// even without asking.
const KEYFRAME_EVERY: u32 = 2 * camera::RATE;

impl Sending {
    /// Starts the camera and its encoder; fails when there is no camera to start.
    pub fn start(camera: &Camera) -> anyhow::Result<Sending> {
        let pictures = camera::start(camera)?;
        let first = pictures.recv_timeout(std::time::Duration::from_secs(3))?;
        let size = (first.width, first.height);
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(600_000))
            .max_frame_rate(FrameRate::from_hz(camera::RATE as f32))
            .intra_frame_period(IntraFramePeriod::from_num_frames(KEYFRAME_EVERY))
            .skip_frames(false);
        let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)?;
        let (tx, frames) = mpsc::channel(4);
        let keyframe = Arc::new(AtomicBool::new(false));
        let wanted = keyframe.clone();
        std::thread::Builder::new().name("camera-encoder".into()).spawn(move || {
            for frame in std::iter::once(first).chain(pictures.iter()) {
                if frame.width != size.0 || frame.height != size.1 {
                    continue;
                }
                if wanted.swap(false, Ordering::Relaxed) {
                    encoder.force_intra_frame();
                }
                let yuv = YUVBuffer::from_vec(frame.i420, size.0 as usize, size.1 as usize);
                let data = match encoder.encode(&yuv) {
                    Ok(bits) => bits.to_vec(),
                    Err(e) => {
                        eprintln!("the camera's picture would not encode: {e}");
                        continue;
                    }
                };
                if data.is_empty() {
                    continue;
                }
                match tx.try_send(data) {
                    // Behind: this picture is dropped; the next keyframe puts things right.
                    Err(mpsc::error::TrySendError::Full(_)) => wanted.store(true, Ordering::Relaxed),
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                    Ok(()) => {}
                }
            }
        })?;
        Ok(Sending { frames, keyframe, size })
    }
}
