//! A call's sound: what the kiosk says (its microphone through ALSA, or a test tone), cut into
//! 20 ms frames and encoded as Opus; what the officer says, decoded from Opus and played.
//!
//! Sound devices are opened at 48 kHz mono; ALSA's default device converts from what the hardware
//! has. A kiosk without a microphone still calls (it is heard as silence) and says so.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use tokio::sync::mpsc;

/// Opus at 48 kHz, one channel, 20 ms frames.
pub const RATE: u32 = 48_000;
pub const FRAME: usize = 960;
/// The most sound kept waiting to be played: 200 ms (older sound is dropped, not delayed).
const MAX_QUEUED: usize = 48_000 / 5;

/// Where the kiosk's voice comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The default microphone (silence if there is none).
    Microphone,
    /// A 440 Hz tone, for trying a call where nobody speaks.
    Tone,
}

/// The sound side of a call, open for as long as it is kept. Its devices live on a thread of
/// their own (ALSA streams stay on the thread that made them).
pub struct Sound {
    /// Encoded Opus frames to send, every 20 ms.
    pub frames: mpsc::Receiver<Vec<u8>>,
    /// What is played: decoded samples wait here.
    speaker: Arc<Mutex<VecDeque<f32>>>,
    decoder: opus::Decoder,
    /// Whether a microphone was opened.
    pub microphone: bool,
    stop: Option<std::sync::mpsc::Sender<()>>,
}

impl Sound {
    pub fn open(source: Source) -> anyhow::Result<Sound> {
        let (frames_tx, frames) = mpsc::channel(50);
        let speaker = Arc::new(Mutex::new(VecDeque::with_capacity(MAX_QUEUED)));
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<bool>();
        let played = speaker.clone();
        std::thread::Builder::new().name("call-sound".into()).spawn(move || {
            let mut encoder = match Encoder::new() {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("cannot make an Opus encoder: {e}");
                    let _ = ready_tx.send(false);
                    return;
                }
            };
            let host = cpal::default_host();
            let config = cpal::StreamConfig { channels: 1, sample_rate: RATE, buffer_size: cpal::BufferSize::Default };
            let _output = host.default_output_device().and_then(|d| {
                let stream = d
                    .build_output_stream(
                        config,
                        move |out: &mut [f32], _: &cpal::OutputCallbackInfo| {
                            let mut queue = played.lock().unwrap_or_else(|e| e.into_inner());
                            for s in out.iter_mut() {
                                *s = queue.pop_front().unwrap_or(0.0);
                            }
                        },
                        |e| eprintln!("the speaker failed: {e}"),
                        None,
                    )
                    .ok()?;
                stream.play().ok()?;
                Some(stream)
            });
            let (pcm_tx, pcm_rx) = std::sync::mpsc::channel::<Vec<f32>>();
            let input = match source {
                Source::Microphone => host.default_input_device().and_then(|d| {
                    let tx = pcm_tx.clone();
                    let stream = d
                        .build_input_stream(
                            config,
                            move |data: &[f32], _: &cpal::InputCallbackInfo| {
                                let _ = tx.send(data.to_vec());
                            },
                            |e| eprintln!("the microphone failed: {e}"),
                            None,
                        )
                        .ok()?;
                    stream.play().ok()?;
                    Some(stream)
                }),
                Source::Tone => None,
            };
            let _ = ready_tx.send(input.is_some());
            // Frames go out every 20 ms whatever the microphone does: silence without one.
            let mut tone = 0u64;
            let mut pending: Vec<f32> = Vec::with_capacity(FRAME * 2);
            let tick = std::time::Duration::from_millis(20);
            let mut next = std::time::Instant::now();
            loop {
                if stop_rx.try_recv().is_ok() {
                    return;
                }
                next += tick;
                if let Some(wait) = next.checked_duration_since(std::time::Instant::now()) {
                    std::thread::sleep(wait);
                }
                let frame: Vec<f32> = if input.is_some() {
                    while let Ok(pcm) = pcm_rx.try_recv() {
                        pending.extend(pcm);
                    }
                    // Keep at most 100 ms waiting: a microphone faster than the clock is trimmed.
                    if pending.len() > FRAME * 5 {
                        pending.drain(..pending.len() - FRAME * 5);
                    }
                    if pending.len() >= FRAME { pending.drain(..FRAME).collect() } else { vec![0.0; FRAME] }
                } else if source == Source::Tone {
                    (0..FRAME)
                        .map(|_| {
                            tone += 1;
                            (tone as f32 * 440.0 * std::f32::consts::TAU / RATE as f32).sin() * 0.3
                        })
                        .collect()
                } else {
                    vec![0.0; FRAME]
                };
                match encoder.encode(&frame) {
                    Ok(packet) => {
                        if frames_tx.blocking_send(packet).is_err() {
                            return;
                        }
                    }
                    Err(e) => eprintln!("cannot encode sound: {e}"),
                }
            }
        })?;
        let microphone = ready_rx.recv().map_err(|_| anyhow::anyhow!("the sound thread stopped"))?;
        let decoder = opus::Decoder::new(RATE, opus::Channels::Mono)?;
        Ok(Sound { frames, speaker, decoder, microphone, stop: Some(stop_tx) })
    }

    /// Plays an Opus packet from the officer; returns the samples it held.
    pub fn play(&mut self, packet: &[u8]) -> usize {
        let mut pcm = [0i16; FRAME * 6];
        let Ok(n) = self.decoder.decode(packet, &mut pcm, false) else { return 0 };
        let mut queue = self.speaker.lock().unwrap_or_else(|e| e.into_inner());
        queue.extend(pcm[..n].iter().map(|s| f32::from(*s) / 32768.0));
        let excess = queue.len().saturating_sub(MAX_QUEUED);
        queue.drain(..excess);
        n
    }
}

impl Drop for Sound {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Opus for speech, with in-band error correction for a lossy street connection.
struct Encoder(opus::Encoder);

impl Encoder {
    fn new() -> Result<Encoder, opus::Error> {
        let mut e = opus::Encoder::new(RATE, opus::Channels::Mono, opus::Application::Voip)?;
        e.set_inband_fec(true)?;
        e.set_packet_loss_perc(5)?;
        e.set_bitrate(opus::Bitrate::Bits(32_000))?;
        Ok(Encoder(e))
    }

    fn encode(&mut self, pcm: &[f32]) -> Result<Vec<u8>, opus::Error> {
        self.0.encode_vec_float(pcm, 1500)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_encoded_comes_back_as_sound() {
        let mut e = Encoder::new().unwrap();
        let mut d = opus::Decoder::new(RATE, opus::Channels::Mono).unwrap();
        let mut energy = 0.0f64;
        for n in 0..10 {
            let frame: Vec<f32> = (0..FRAME)
                .map(|i| ((n * FRAME + i) as f32 * 440.0 * std::f32::consts::TAU / RATE as f32).sin() * 0.3)
                .collect();
            let packet = e.encode(&frame).unwrap();
            assert!(!packet.is_empty() && packet.len() < 400, "an Opus packet of {} bytes", packet.len());
            let mut pcm = [0i16; FRAME];
            assert_eq!(d.decode(&packet, &mut pcm, false).unwrap(), FRAME);
            if n > 2 {
                energy += pcm.iter().map(|s| (f64::from(*s) / 32768.0).powi(2)).sum::<f64>() / FRAME as f64;
            }
        }
        // A sine of amplitude 0.3 has a mean square of 0.045; silence would be 0.
        let mean = energy / 7.0;
        assert!((0.02..0.07).contains(&mean), "mean square {mean}");
    }
}
