// The signaling WebSocket (docs/signaling.md): joins with the token, keeps the connection alive
// with a ping every 10 s, and reconnects with the same token when the connection drops, so the
// server can resume the participant within its grace period.

const PING_EVERY_MS = 10_000;
// The server keeps a dropped participant for 20 s; trying for longer still lets a fresh join in.
const GIVE_UP_AFTER_MS = 60_000;
// Refusals that another attempt with the same token cannot fix.
const FATAL = new Set(["bad_token", "room_locked", "forbidden", "unsupported_version"]);

export class Signal {
  // onMessage(msg) gets every server message; onState(state) gets "open", "reconnecting",
  // "lost" (gave up) or "closed" (the server ended the session or we left).
  constructor({ room, token, onMessage, onState }) {
    this.room = room;
    this.token = token;
    this.onMessage = onMessage;
    this.onState = onState;
    this.ws = null;
    this.joined = false;
    this.finished = false;
    this.dropSince = 0;
    this.pingId = 0;
    this.timer = null;
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/rtc/v1`);
    this.ws = ws;
    this.joined = false;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ type: "join", v: 1, room: this.room, token: this.token }));
    });
    ws.addEventListener("message", (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (_) { return; }
      if (msg.type === "joined") {
        this.joined = true;
        this.dropSince = 0;
        this.startPing();
      } else if (msg.type === "closed") {
        this.finished = true;
      } else if (msg.type === "error" && !this.joined && FATAL.has(msg.code)) {
        this.finished = true;
      }
      this.onMessage(msg);
    });
    ws.addEventListener("close", () => {
      if (ws !== this.ws) return;
      this.stopPing();
      if (this.finished) {
        this.onState("closed");
        return;
      }
      const now = Date.now();
      if (!this.dropSince) this.dropSince = now;
      if (now - this.dropSince > GIVE_UP_AFTER_MS) {
        this.finished = true;
        this.onState("lost");
        return;
      }
      this.onState("reconnecting");
      // Back off a little so a restarting server is not hammered (joins are rate-limited).
      const wait = Math.min(5_000, 500 + (now - this.dropSince) / 4);
      setTimeout(() => { if (!this.finished) this.connect(); }, wait);
    });
  }

  send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.joined) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  leave() {
    this.send({ type: "leave" });
    this.finished = true;
    // The server answers `closed` and closes; close ourselves if it does not.
    setTimeout(() => this.ws && this.ws.close(), 1_000);
  }

  // Drops the connection as a network failure would (used to exercise resumption).
  drop() {
    if (this.ws) this.ws.close();
  }

  startPing() {
    this.stopPing();
    this.timer = setInterval(() => this.send({ type: "ping", id: ++this.pingId }), PING_EVERY_MS);
  }

  stopPing() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
