// The call's link quality from the peer connection's statistics, every two seconds: the share
// of incoming packets lost since the last look, the round trip of the path in use, and the
// bitrate the browser estimates it can send. A lossy or narrow link turns "audio first" on: the
// SFU then sends lower video layers while the voice goes on, and the page says so.

const EVERY_MS = 2_000;
// Fewer packets than this in a window say too little about loss: the window grows instead.
const MIN_PACKETS = 50;
const AUDIO_FIRST_LOSS = 10; // %
const AUDIO_FIRST_BPS = 300_000;
// The send estimate starts low and climbs over the first seconds of a call; it is judged after.
const WARM_UP_MS = 10_000;

// The candidate pair the connection uses: the transport's selected one, else a nominated pair
// that succeeded.
function selectedPair(stats) {
  let pair = null;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId && stats.get(s.selectedCandidatePairId)) {
      pair = stats.get(s.selectedCandidatePairId);
    }
  });
  if (pair) return pair;
  stats.forEach((s) => {
    if (!pair && s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
  });
  return pair;
}

export function level({ loss, rttMs }) {
  if (loss === null && rttMs === null) return null;
  const l = loss ?? 0, r = rttMs ?? 0;
  if (l < 2 && r < 150) return "good";
  if (l < AUDIO_FIRST_LOSS && r < 400) return "fair";
  return "poor";
}

export class LinkQuality {
  // pc() gives the current RTCPeerConnection (or null); onUpdate({loss, rttMs, outBps, level,
  // audioFirst}) gets every new reading.
  constructor(pc, onUpdate) {
    this.pc = pc;
    this.onUpdate = onUpdate;
    this.timer = null;
    this.since = 0;
    this.base = null;
    this.loss = null;
  }

  start() {
    this.stop();
    this.since = Date.now();
    this.base = null;
    this.loss = null;
    this.timer = setInterval(() => this.sample().catch(() => {}), EVERY_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async sample() {
    const pc = this.pc();
    if (!pc || pc.connectionState === "closed") return;
    const stats = await pc.getStats();
    let lost = 0;
    let received = 0;
    stats.forEach((s) => {
      if (s.type !== "inbound-rtp") return;
      lost += Math.max(0, s.packetsLost || 0);
      received += s.packetsReceived || 0;
    });
    // Loss over the packets since the window began; the window restarts once it holds enough.
    if (!this.base || lost < this.base.lost || received < this.base.received) this.base = { lost: 0, received: 0 };
    const dLost = lost - this.base.lost;
    const dReceived = received - this.base.received;
    if (dLost + dReceived >= MIN_PACKETS) {
      this.loss = (100 * dLost) / (dLost + dReceived);
      this.base = { lost, received };
    }
    const pair = selectedPair(stats);
    let rttMs = pair && typeof pair.currentRoundTripTime === "number" ? Math.round(pair.currentRoundTripTime * 1000) : null;
    // Without ICE's own measure, what the receiver reports for what we send.
    if (rttMs === null) {
      stats.forEach((s) => {
        if (rttMs === null && s.type === "remote-inbound-rtp" && typeof s.roundTripTime === "number") rttMs = Math.round(s.roundTripTime * 1000);
      });
    }
    const outBps = pair && typeof pair.availableOutgoingBitrate === "number" ? pair.availableOutgoingBitrate : null;
    const warm = Date.now() - this.since > WARM_UP_MS;
    const audioFirst = (this.loss !== null && this.loss >= AUDIO_FIRST_LOSS) || (warm && outBps !== null && outBps < AUDIO_FIRST_BPS);
    const reading = { loss: this.loss, rttMs, outBps, audioFirst };
    reading.level = audioFirst ? "poor" : level(reading);
    this.onUpdate(reading);
  }
}
