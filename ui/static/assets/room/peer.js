// The one RTCPeerConnection of a participant (docs/signaling.md): it offers our sending
// sections and a data channel, answers the server's offers that add what others publish, and
// reports each received track by its section id (mid), which the server's `track_mapping`
// ties to a participant.
//
// Both sides make offers. Everything that touches the session description runs one at a time
// through `queue`, and a server offer that arrives while ours waits for its answer is ignored:
// the server drops its own offer in that case and makes it again after answering ours.

// Camera layers for the server to choose from per viewer: full, half and quarter size.
const SIMULCAST = [
  { rid: "h", maxBitrate: 1_200_000 },
  { rid: "m", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "l", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
];

export class Peer {
  // send(msg) writes to the signaling socket; onTrack(mid, track) reports a received track;
  // onFailed() says the media path broke and needs an ICE restart; onError(err) reports a
  // failed negotiation step.
  // iceServers: the TURN servers the server handed out in `joined`, for networks that block UDP.
  constructor({ send, onTrack, onFailed, onError, iceServers = [] }) {
    this.send = send;
    this.onTrack = onTrack;
    this.onError = onError;
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require", iceServers });
    this.queue = Promise.resolve();
    this.awaitingAnswer = false;
    this.offerAgain = null;
    this.answered = [];
    this.audio = null;
    this.video = null;
    this.screen = null;
    this.pc.addEventListener("track", (ev) => {
      if (ev.transceiver.mid) onTrack(ev.transceiver.mid, ev.track);
    });
    this.pc.addEventListener("icecandidate", (ev) => {
      if (ev.candidate && ev.candidate.candidate) this.send({ type: "candidate", candidate: ev.candidate.candidate });
    });
    this.pc.addEventListener("connectionstatechange", () => {
      if (this.pc.connectionState === "failed") onFailed();
    });
    // The protocol's data channel; chat goes over the WebSocket, so nothing is sent on it.
    this.channel = this.pc.createDataChannel("q10");
  }

  // Adds our microphone and camera (either may be null) and makes the first offer.
  start({ audio, video, screen }, { simulcast = true } = {}) {
    if (audio) this.audio = this.pc.addTransceiver(audio, { direction: "sendonly" });
    if (video) {
      try {
        this.video = this.pc.addTransceiver(video, { direction: "sendonly", sendEncodings: simulcast ? SIMULCAST : undefined });
      } catch (_) {
        // Some browsers refuse simulcast for this camera; one layer still works.
        this.video = this.pc.addTransceiver(video, { direction: "sendonly" });
      }
    }
    if (screen) this.screen = this.pc.addTransceiver(screen, { direction: "sendonly" });
    return this.offer();
  }

  // Makes an offer (again); resolves once an answer for it is applied.
  offer({ iceRestart = false } = {}) {
    const done = new Promise((resolve) => this.answered.push(resolve));
    this.run(async () => {
      if (this.awaitingAnswer) {
        // One offer at a time: make another when this one is answered.
        this.offerAgain = { iceRestart: iceRestart || (this.offerAgain && this.offerAgain.iceRestart) };
        return;
      }
      const offer = await this.pc.createOffer({ iceRestart });
      await this.pc.setLocalDescription(offer);
      this.awaitingAnswer = true;
      this.send({ type: "offer", sdp: this.pc.localDescription.sdp });
    });
    return done;
  }

  onAnswer(sdp) {
    this.run(async () => {
      if (!this.awaitingAnswer) return;
      await this.pc.setRemoteDescription({ type: "answer", sdp });
      this.awaitingAnswer = false;
      this.settle();
    });
  }

  onOffer(sdp) {
    this.run(async () => {
      // Our offer crossed the server's: the server answers ours and offers again later.
      if (this.awaitingAnswer) return;
      await this.pc.setRemoteDescription({ type: "offer", sdp });
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      this.send({ type: "answer", sdp: this.pc.localDescription.sdp });
    });
  }

  // After a reconnection or a broken path: forget an offer whose answer may have been lost,
  // then offer again with new ICE credentials.
  restart() {
    this.run(async () => {
      if (!this.awaitingAnswer) return;
      await this.pc.setLocalDescription({ type: "rollback" });
      this.awaitingAnswer = false;
    });
    return this.offer({ iceRestart: true });
  }

  // The server refused our offer (`bad_sdp`): go back to the last agreed state.
  onOfferRefused() {
    this.run(async () => {
      if (!this.awaitingAnswer) return;
      await this.pc.setLocalDescription({ type: "rollback" });
      this.awaitingAnswer = false;
      this.settle();
    });
  }

  settle() {
    const waiting = this.answered;
    this.answered = [];
    if (this.offerAgain) {
      const again = this.offerAgain;
      this.offerAgain = null;
      // Whoever waited on the skipped offer waits for this one.
      this.offer(again).then(() => waiting.forEach((r) => r()));
    } else {
      waiting.forEach((r) => r());
    }
  }

  run(step) {
    this.queue = this.queue.then(step).catch((e) => this.onError(e));
  }

  // Swaps the microphone or camera for another device without renegotiating.
  async replace(kind, track) {
    const t = kind === "audio" ? this.audio : this.video;
    if (t) await t.sender.replaceTrack(track);
  }

  // Shares a screen track; resolves with the sending section's mid once the server knows it.
  // The section is kept after sharing stops, so sharing again needs no renegotiation.
  async shareScreen(track) {
    if (this.screen) {
      await this.screen.sender.replaceTrack(track);
      return this.screen.mid;
    }
    this.screen = this.pc.addTransceiver(track, { direction: "sendonly" });
    await this.offer();
    return this.screen.mid;
  }

  // The server asks us to send only some simulcast layers of a section (nobody watches the
  // others): switching encodings off saves the uplink and the encoder's work.
  async setActiveLayers(mid, active) {
    const t = this.pc.getTransceivers().find((x) => x.mid === mid);
    if (!t || !t.sender) return;
    const params = t.sender.getParameters();
    if (!params.encodings || params.encodings.length < 2) return;
    let changed = false;
    for (const e of params.encodings) {
      const on = !e.rid || active.includes(e.rid);
      if (e.active !== on) {
        e.active = on;
        changed = true;
      }
    }
    if (changed) await t.sender.setParameters(params);
  }

  async stopScreen() {
    if (this.screen) await this.screen.sender.replaceTrack(null);
  }

  close() {
    this.pc.close();
  }
}
