// The check before a visit: the camera's preview, the microphone's live level (a Web Audio
// AnalyserNode read ten times a second), pickers when there is more than one camera or
// microphone, and the round trip to the server measured with a few small requests.

const LEVEL_EVERY_MS = 100;
// A level (0–1) above this means the microphone hears something.
const HEARD = 0.02;

// Round trips (median, ms) under these are good, then fair; above, poor.
const GOOD_MS = 150;
const FAIR_MS = 400;

function constraint(id) {
  if (id === "none") return false;
  return id ? { deviceId: { exact: id } } : true;
}

export class DeviceCheck {
  // els: {preview: <video>, meter: <meter>, camSelect, micSelect, camPicker, micPicker}; onChange()
  // is called whenever what the check knows changes (devices opened, sound heard, picture seen).
  constructor(els, onChange) {
    this.els = els;
    this.onChange = onChange;
    this.audio = null;
    this.video = null;
    this.error = "";
    this.peak = 0;
    this.seen = false;
    this.context = null;
    this.timer = null;
    this.devices = { cams: [], mics: [] };
    els.preview.addEventListener("resize", () => this.sawPicture());
    els.preview.addEventListener("loadedmetadata", () => this.sawPicture());
  }

  sawPicture() {
    const seen = this.els.preview.videoWidth > 0;
    if (seen !== this.seen) {
      this.seen = seen;
      this.onChange();
    }
  }

  // Opens the chosen (or default) camera and microphone; without both, whichever works.
  async open(camId, micId) {
    this.stop();
    const audio = constraint(micId);
    const video = constraint(camId);
    const tries = [{ audio, video }, { audio, video: false }, { audio: false, video }].filter((c) => c.audio || c.video);
    let stream = null;
    this.error = "";
    for (const c of tries) {
      try {
        stream = await navigator.mediaDevices.getUserMedia(c);
        break;
      } catch (e) {
        this.error = e.message || String(e);
      }
    }
    if (stream) this.error = "";
    this.audio = stream ? stream.getAudioTracks()[0] || null : null;
    this.video = stream ? stream.getVideoTracks()[0] || null : null;
    this.seen = false;
    this.els.preview.srcObject = this.video ? new MediaStream([this.video]) : null;
    this.listen();
    await this.listDevices();
    this.onChange();
  }

  async listDevices() {
    let devices = [];
    try { devices = await navigator.mediaDevices.enumerateDevices(); } catch (_) { /* none at all */ }
    this.devices.cams = devices.filter((d) => d.kind === "videoinput");
    this.devices.mics = devices.filter((d) => d.kind === "audioinput");
  }

  // Fills a picker with the devices of a kind (named `word` 1, 2… when the browser hides their
  // labels), the one in use chosen; the picker shows only with more than one device.
  fillPickers(word) {
    const fill = (select, wrap, devices, track, name) => {
      select.replaceChildren(...devices.map((d, i) => new Option(d.label || `${name} ${i + 1}`, d.deviceId)));
      if (track) select.value = track.getSettings().deviceId || "";
      wrap.hidden = devices.length < 2;
    };
    fill(this.els.camSelect, this.els.camPicker, this.devices.cams, this.video, word.camera);
    fill(this.els.micSelect, this.els.micPicker, this.devices.mics, this.audio, word.microphone);
  }

  // The level meter: the microphone through an analyser that goes nowhere (nothing is played).
  listen() {
    this.peak = 0;
    this.els.meter.value = 0;
    this.els.meter.dataset.peak = "0";
    if (!this.audio) return;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    this.context = new Context();
    // Made from a click, the context runs; otherwise it may wait for one.
    this.context.resume().catch(() => {});
    const source = this.context.createMediaStreamSource(new MediaStream([this.audio]));
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      // The RMS scaled so that speech at a normal distance fills most of the bar.
      const level = Math.min(1, Math.sqrt(sum / samples.length) * 5);
      this.els.meter.value = level;
      if (level > this.peak) {
        const heardNow = level > HEARD && this.peak <= HEARD;
        this.peak = level;
        this.els.meter.dataset.peak = level.toFixed(3);
        if (heardNow) this.onChange();
      }
    }, LEVEL_EVERY_MS);
  }

  heard() {
    return this.peak > HEARD;
  }

  resume() {
    if (this.context && this.context.state === "suspended") this.context.resume().catch(() => {});
  }

  stopMeter() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
  }

  // Hands the tracks over (to the call): the meter stops, the tracks go on.
  take() {
    this.stopMeter();
    const tracks = { audio: this.audio, video: this.video };
    this.audio = null;
    this.video = null;
    return tracks;
  }

  // Stops the meter and the tracks.
  stop() {
    this.stopMeter();
    for (const tr of [this.audio, this.video]) if (tr) tr.stop();
    this.audio = null;
    this.video = null;
    this.els.preview.srcObject = null;
  }
}

// Times `count` small uncached requests to the server, one after another: the median round
// trip, how many answered, and a verdict.
export async function measureNetwork(count = 5) {
  const times = [];
  for (let i = 0; i < count; i += 1) {
    const t0 = performance.now();
    try {
      const res = await fetch("/readyz", { cache: "no-store", credentials: "omit" });
      await res.arrayBuffer();
      if (res.ok) times.push(performance.now() - t0);
    } catch (_) {
      // Counted as lost.
    }
  }
  if (!times.length) return { ms: null, answered: 0, count, verdict: "poor" };
  times.sort((a, b) => a - b);
  const mid = Math.floor(times.length / 2);
  const ms = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  const lost = count - times.length;
  const verdict = lost === 0 && ms < GOOD_MS ? "good" : lost <= 1 && ms < FAIR_MS ? "fair" : "poor";
  return { ms: Math.round(ms), answered: times.length, count, verdict };
}
