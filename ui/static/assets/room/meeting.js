// The paperless meeting around a room: joining by meeting id (with the signed-in session), the
// meeting's documents with the host presenting one page by page, and the roll call of wards.

// Calls the core API with the session cookie; unsafe methods carry the session's CSRF token (kept
// in sessionStorage, or asked for when this tab has none). `body` is JSON unless `type` names another content type.
export async function api(method, path, body, type) {
  const headers = { Accept: "application/json" };
  let csrf = sessionStorage.getItem("q10.csrf");
  if (method !== "GET" && !csrf) {
    // A room opened in a new tab asks for its session's token.
    const r = await fetch("/api/v1/auth/csrf", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (r.ok) {
      csrf = (await r.json()).csrf_token;
      sessionStorage.setItem("q10.csrf", csrf);
    }
  }
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = type || "application/json";
    payload = type ? body : JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  const ctype = res.headers.get("content-type") || "";
  const data = ctype.includes("json") ? await res.json() : null;
  if (!res.ok) throw Object.assign(new Error((data && (data.detail || data.title)) || res.statusText), { status: res.status });
  return data;
}

const base = (id) => `/api/v1/meetings/${encodeURIComponent(id)}`;

export function joinMeeting(id) {
  return api("POST", `${base(id)}/join`);
}

export class MeetingPanels {
  // t(key) translates, lang() is the current language; send(msg) writes to the signaling socket; notice(text) tells the user.
  constructor(id, { t, lang, send, notice }) {
    this.id = id;
    this.t = t;
    this.lang = lang;
    this.send = send;
    this.notice = notice;
    this.meeting = null;
    this.documents = [];
    this.presenting = null;
    this.host = false;
    this.participants = [];
    this.$ = (x) => document.getElementById(x);
    this.$("upload-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.upload();
    });
    this.$("present-prev").addEventListener("click", () => this.turn(-1));
    this.$("present-next").addEventListener("click", () => this.turn(1));
    this.$("present-stop").addEventListener("click", () => this.send({ type: "present", document: null, page: 1 }));
  }

  // Loads the meeting and its documents; `roomHost` is the participant role from the join.
  async load(roomHost) {
    this.meeting = await api("GET", base(this.id));
    this.host = roomHost || !!this.meeting.host;
    this.$("meeting-title").textContent = "— " + this.meeting.title;
    this.$("docs-panel").hidden = false;
    this.$("rollcall-panel").hidden = false;
    this.$("upload-form").hidden = !this.host;
    this.$("attendance-link").href = `${base(this.id)}/attendance.csv`;
    this.renderRollCall();
    await this.loadDocuments();
  }

  async loadDocuments() {
    this.documents = (await api("GET", `${base(this.id)}/documents`)) || [];
    this.renderDocuments();
  }

  async upload() {
    const file = this.$("upload-file").files[0];
    if (!file) return;
    const status = this.$("upload-status");
    status.textContent = this.t("uploading");
    try {
      await api("POST", `${base(this.id)}/documents?name=${encodeURIComponent(file.name)}`, file, "application/pdf");
      status.textContent = "";
      this.$("upload-form").reset();
      await this.loadDocuments();
    } catch (e) {
      status.textContent = this.t("error") + ": " + e.message;
    }
  }

  docName(id) {
    const d = this.documents.find((x) => x.id === id);
    return d ? d.name || d.filename || d.id : id;
  }

  renderDocuments() {
    const list = this.$("docs");
    list.replaceChildren();
    this.$("docs-empty").hidden = this.documents.length > 0;
    for (const d of this.documents) {
      const li = document.createElement("li");
      li.dataset.document = d.id;
      const name = document.createElement("span");
      name.textContent = this.docName(d.id);
      const open = document.createElement("a");
      open.href = `${base(this.id)}/documents/${encodeURIComponent(d.id)}`;
      open.target = "_blank";
      open.rel = "noopener";
      open.textContent = this.t("open");
      li.append(name, " ", open);
      if (this.host) {
        const present = document.createElement("button");
        present.type = "button";
        present.className = "present-doc";
        present.textContent = this.t("present");
        present.addEventListener("click", () => this.send({ type: "present", document: d.id, page: 1 }));
        li.append(" ", present);
      }
      list.append(li);
    }
  }

  // A ward is present when any participant in the room belongs to it (`unit`).
  renderRollCall(participants = this.participants) {
    this.participants = participants;
    if (!this.meeting) return;
    const units = new Set(participants.map((p) => p.unit).filter(Boolean));
    const list = this.$("rollcall");
    list.replaceChildren();
    for (const w of this.meeting.wards || []) {
      const here = units.has(w.code);
      const li = document.createElement("li");
      li.dataset.ward = w.code;
      li.dataset.present = String(here);
      li.className = here ? "present" : "absent";
      const name = (this.lang() === "vi" ? w.name_vi : w.name_en) || w.code;
      li.textContent = `${name} — ${here ? this.t("present_") : this.t("absent")}`;
      list.append(li);
    }
  }

  // `presenting` from the server: everyone shows the same page.
  onPresenting(msg, nameOf) {
    this.presenting = msg.document ? msg : null;
    const box = this.$("presentation");
    box.hidden = !this.presenting;
    this.$("present-controls").hidden = !this.host;
    const holder = this.$("present-frame");
    if (!this.presenting) {
      holder.replaceChildren();
      return;
    }
    this.$("present-title").textContent =
      `${this.t("presentingBy")}: ${this.docName(msg.document)} — ${nameOf(msg.by)} — ${this.t("page")} ${msg.page}`;
    // A new frame per page: PDF viewers do not all follow a changed #page fragment.
    const frame = document.createElement("iframe");
    frame.title = this.docName(msg.document);
    frame.src = `${base(this.id)}/documents/${encodeURIComponent(msg.document)}#page=${msg.page}`;
    holder.replaceChildren(frame);
  }

  turn(delta) {
    if (!this.presenting) return;
    const page = Math.max(1, (this.presenting.page || 1) + delta);
    this.send({ type: "present", document: this.presenting.document, page });
  }

  applyText(nameOf) {
    this.renderDocuments();
    this.renderRollCall();
    if (this.presenting) this.onPresenting(this.presenting, nameOf);
  }
}
