// The video stage: one tile per participant (camera, or a name card without one), one more per
// shared screen, and a hidden audio element per received microphone. It is redrawn from the
// room's state after every change; elements are kept per key so playing videos are not reset.

export class Stage {
  // onAudioBlocked() is called when the browser refuses to play sound before a user gesture.
  constructor(stage, audioSink, onAudioBlocked) {
    this.el = stage;
    this.audioSink = audioSink;
    this.onAudioBlocked = onAudioBlocked;
    this.tiles = new Map();
    this.audios = new Map();
    this.streams = new WeakMap();
  }

  // tiles: [{key, participant, kind: "self"|"camera"|"screen", name, track, speaking, featured}]
  render(tiles, view) {
    this.el.classList.toggle("speaker-view", view === "speaker");
    this.el.classList.toggle("grid-view", view !== "speaker");
    const keep = new Set();
    const ordered = [];
    for (const t of tiles) {
      keep.add(t.key);
      const el = this.tile(t);
      ordered.push(el);
    }
    for (const [key, el] of this.tiles) {
      if (!keep.has(key)) {
        el.remove();
        this.tiles.delete(key);
      }
    }
    // Re-inserting keeps elements (and their playback) as they are; only the order changes.
    ordered.forEach((el, i) => {
      if (this.el.children[i] !== el) this.el.insertBefore(el, this.el.children[i] || null);
    });
  }

  tile(t) {
    let el = this.tiles.get(t.key);
    if (!el) {
      el = document.createElement("figure");
      el.className = "tile";
      const video = document.createElement("video");
      video.autoplay = true;
      video.playsInline = true;
      // Sound comes from the audio elements; a muted video may start without a gesture.
      video.muted = true;
      const label = document.createElement("figcaption");
      label.className = "tile-name";
      el.append(video, label);
      this.tiles.set(t.key, el);
    }
    el.dataset.participant = t.participant;
    el.dataset.kind = t.kind;
    el.dataset.mid = t.mid || "";
    el.classList.toggle("screen", t.kind === "screen");
    el.classList.toggle("speaking", !!t.speaking);
    el.classList.toggle("featured", !!t.featured);
    el.classList.toggle("no-video", !t.track);
    el.querySelector(".tile-name").textContent = t.name;
    const video = el.querySelector("video");
    const stream = t.track ? this.stream(t.track) : null;
    if (video.srcObject !== stream) video.srcObject = stream;
    return el;
  }

  stream(track) {
    let s = this.streams.get(track);
    if (!s) {
      s = new MediaStream([track]);
      this.streams.set(track, s);
    }
    return s;
  }

  // tracks: [{mid, participant, track}] of received audio
  renderAudio(tracks) {
    const keep = new Set();
    for (const { mid, participant, track } of tracks) {
      keep.add(mid);
      let a = this.audios.get(mid);
      if (!a) {
        a = document.createElement("audio");
        a.autoplay = true;
        this.audioSink.append(a);
        this.audios.set(mid, a);
      }
      a.dataset.mid = mid;
      a.dataset.participant = participant || "";
      const stream = this.stream(track);
      if (a.srcObject !== stream) {
        a.srcObject = stream;
        // Autoplay may wait for a gesture; joining was one, so this normally plays at once.
        a.play().catch(() => this.onAudioBlocked());
      }
    }
    for (const [mid, a] of this.audios) {
      if (!keep.has(mid)) {
        a.remove();
        this.audios.delete(mid);
      }
    }
  }

  // Plays every audio element again, from a user gesture.
  resumeAudio() {
    for (const a of this.audios.values()) a.play().catch(() => {});
  }

  clear() {
    this.render([], "grid");
    this.renderAudio([]);
  }
}
