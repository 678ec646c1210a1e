//! The officer's picture: H.264 RTP packets put back together into frames (webrtc-rs' sample
//! builder and depacketizer) and decoded by OpenH264 into RGB for the interface.

use std::time::Instant;

use openh264::decoder::Decoder;
use openh264::formats::YUVSource;
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
