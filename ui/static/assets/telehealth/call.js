// The visit's call through the SFU, on the conference room's modules: Signal (the signaling
// WebSocket, with reconnection), Peer (the peer connection, camera in simulcast layers) and
// Stage (video tiles and the received sound). Both sides publish their camera and microphone
// and see each other; there is no screen sharing, chat or moderation here.

import { Signal } from "../room/signal.js";
import { Peer } from "../room/peer.js";
import { Stage } from "../room/stage.js";

export class Call {
  // els: {stage, audioSink}; hooks: onAudioBlocked(), onState(state, detail) with state
  // "joined" | "reconnecting" | "reconnected" | "ended" (detail: the reason's key or an error
  // message), onError(message), you() the label of one's own tile.
  constructor(els, hooks) {
    this.hooks = hooks;
    this.stage = new Stage(els.stage, els.audioSink, hooks.onAudioBlocked);
    this.signal = null;
    this.peer = null;
    this.local = { audio: null, video: null };
    this.micOn = true;
    this.camOn = true;
    this.you = null;
    this.participants = new Map();
    // Received tracks by our receiving section (mid), with whose they are from `track_mapping`.
    this.recv = new Map();
    this.ended = false;
    this.lastError = "";
  }

  get pc() {
    return this.peer ? this.peer.pc : null;
  }

  // Joins `room` with `token`, sending the given tracks (either may be null).
  join({ room, token, audio, video }) {
    this.local = { audio, video };
    this.signal = new Signal({ room, token, onMessage: (m) => this.onMessage(m), onState: (s) => this.onSignalState(s) });
    this.signal.connect();
  }

  onSignalState(s) {
    if (s === "reconnecting") this.hooks.onState("reconnecting");
    else if (s === "lost") this.end("lost");
    else if (s === "closed") this.end(this.lastError || "closed_left");
  }

  onMessage(msg) {
    switch (msg.type) {
      case "joined": this.onJoined(msg); break;
      case "answer": if (this.peer) this.peer.onAnswer(msg.sdp); break;
      case "offer": if (this.peer) this.peer.onOffer(msg.sdp); break;
      case "track_mapping": {
        const entry = this.recv.get(msg.mid) || {};
        Object.assign(entry, { participant: msg.participant, source_mid: msg.source_mid });
        this.recv.set(msg.mid, entry);
        this.render();
        break;
      }
      case "layers": if (this.peer) this.peer.setActiveLayers(msg.mid, msg.active).catch(() => {}); break;
      case "track_unpublished":
        for (const [mid, e] of this.recv) if (e.participant === msg.participant && e.source_mid === msg.mid) this.recv.delete(mid);
        this.render();
        break;
      case "participant_joined":
      case "participant_updated":
        this.participants.set(msg.participant.id, msg.participant);
        if (this.you && msg.participant.id === this.you.id) this.you = msg.participant;
        this.render();
        break;
      case "participant_left":
        this.participants.delete(msg.participant);
        this.render();
        break;
      case "moderated":
        if (msg.action && msg.action.do === "mute") this.setMic(false, { tell: false });
        break;
      case "closed": this.end("closed_" + msg.reason); break;
      case "error": this.onError(msg); break;
      default: break;
    }
  }

  onJoined(msg) {
    const first = !this.you;
    this.you = msg.you;
    this.participants = new Map(msg.participants.map((p) => [p.id, p]));
    this.participants.set(msg.you.id, msg.you);
    this.iceServers = msg.ice_servers || [];
    if (first) {
      this.startMedia();
      this.hooks.onState("joined");
    } else if (msg.resumed && this.peer) {
      // The same media session goes on; only the network path is new.
      this.peer.restart();
      this.hooks.onState("reconnected");
    } else {
      this.startMedia();
      this.hooks.onState("reconnected");
    }
    this.render();
  }

  // Starts (or starts again) the media session with our camera and microphone.
  startMedia() {
    if (this.peer) this.peer.close();
    this.recv.clear();
    this.peer = new Peer({
      send: (m) => this.signal.send(m),
      onTrack: (mid, track) => this.onTrack(mid, track),
      onFailed: () => this.peer.restart(),
      onError: (e) => console.warn("negotiation step failed:", e),
      iceServers: this.iceServers,
    });
    this.peer.start(this.local);
    // A fresh session starts unmuted on the server; say what is off or missing.
    if (!this.local.audio || !this.micOn) this.signal.send({ type: "mute", kind: "audio", muted: true });
    if (!this.local.video || !this.camOn) this.signal.send({ type: "mute", kind: "video", muted: true });
  }

  onTrack(mid, track) {
    const entry = this.recv.get(mid) || {};
    entry.track = track;
    this.recv.set(mid, entry);
    track.addEventListener("ended", () => {
      const e = this.recv.get(mid);
      if (e && e.track === track) {
        this.recv.delete(mid);
        this.render();
      }
    });
    this.render();
  }

  onError(msg) {
    this.lastError = "";
    if (msg.code === "bad_sdp" && this.peer && !/candidate/i.test(msg.message)) this.peer.onOfferRefused();
    if (msg.code === "unavailable" && this.you && !this.ended) this.startMedia();
    this.hooks.onError(`${msg.code}: ${msg.message}`);
    // A refusal before joining ends the attempt; the signaling closes and says so.
    if (!this.you) this.lastError = `${msg.code}: ${msg.message}`;
  }

  // Someone else's camera: their first live video that is not a shared screen.
  cameraOf(p) {
    const vids = [];
    for (const [mid, e] of this.recv) {
      if (e.participant === p.id && e.track && e.track.kind === "video" && e.track.readyState === "live" && e.source_mid !== p.screen) {
        vids.push({ mid, ...e });
      }
    }
    vids.sort((a, b) => String(a.source_mid).localeCompare(String(b.source_mid), undefined, { numeric: true }));
    return vids[0];
  }

  render() {
    if (!this.you || this.ended) return;
    const tiles = [];
    const others = [...this.participants.values()].filter((p) => p.id !== this.you.id);
    tiles.push({
      key: "self", participant: this.you.id, kind: "self", name: `${this.you.name} (${this.hooks.you()})`,
      track: this.camOn ? this.local.video : null,
    });
    for (const p of others) {
      const cam = this.cameraOf(p);
      tiles.push({
        key: p.id, participant: p.id, kind: "camera", name: p.name,
        track: cam && !p.video_muted ? cam.track : null, mid: cam && cam.mid,
      });
    }
    // The others first, large; oneself last.
    tiles.push(tiles.shift());
    this.stage.render(tiles, "grid");
    const audio = [];
    for (const [mid, e] of this.recv) {
      if (e.track && e.track.kind === "audio" && e.track.readyState === "live") audio.push({ mid, participant: e.participant, track: e.track });
    }
    this.stage.renderAudio(audio);
  }

  setMic(on, { tell = true } = {}) {
    this.micOn = on;
    if (this.local.audio) this.local.audio.enabled = on;
    if (tell && this.signal) this.signal.send({ type: "mute", kind: "audio", muted: !on });
  }

  setCam(on) {
    this.camOn = on;
    if (this.local.video) this.local.video.enabled = on;
    if (this.signal) this.signal.send({ type: "mute", kind: "video", muted: !on });
    this.render();
  }

  resumeAudio() {
    this.stage.resumeAudio();
  }

  // Leaves the room; the server's `closed` (or the socket closing) ends the call.
  hangUp() {
    if (this.signal && this.signal.send({ type: "leave" })) this.signal.leave();
    else this.end("closed_left");
  }

  // Leaves at once, as when the page goes away.
  leaveNow() {
    if (this.signal && !this.ended) this.signal.send({ type: "leave" });
  }

  end(reason) {
    if (this.ended) return;
    this.ended = true;
    // No reconnecting after the end; a socket still open closes.
    if (this.signal && !this.signal.finished) {
      this.signal.finished = true;
      if (this.signal.ws) this.signal.ws.close();
    }
    if (this.peer) this.peer.close();
    for (const tr of Object.values(this.local)) if (tr) tr.stop();
    this.stage.clear();
    this.hooks.onState("ended", reason);
  }
}
