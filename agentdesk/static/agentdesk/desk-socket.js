// A WebSocket that reconnects by itself and asks the server to resync after each connect.
// The server is the record: after a drop the desktop sends the last message id it saw per
// chat and gets everything after it, so nothing is missed and ids dedupe what repeats.
//
// Actions cannot vanish: each one carries a request id unique to this page, and stays
// pending until an "ack" or "error" frame answers it. After a reconnect the pending ones are
// sent again; the server applies a request id once, so a repeat is only acknowledged.

// Reads: repeating them is harmless and they are not kept pending.
const READS = new Set(["ping", "sync", "read", "history"]);
// Unanswered actions also outlive a reload of the page (per tab).
const PENDING_KEY = "agentdesk.pending";

function loadPending() {
  try {
    return new Map(JSON.parse(sessionStorage.getItem(PENDING_KEY) || "[]"));
  } catch {
    return new Map();
  }
}

function pageId() {
  if (window.crypto?.randomUUID) return window.crypto.randomUUID().slice(0, 13);
  return Math.random().toString(36).slice(2, 15);
}

export class DeskSocket {
  constructor({ path, heartbeatSeconds, onFrame, onStatus, syncPayload }) {
    this.path = path;
    this.heartbeatMs = Math.max(1, heartbeatSeconds) * 1000;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.syncPayload = syncPayload;
    this.ws = null;
    this.retryMs = 500;
    this.page = pageId();
    this.requestSeq = 0;
    this.pending = loadPending(); // request id -> frame, in the order sent
    this.heartbeat = null;
    this.stopped = false;
  }

  url() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}${this.path}`;
  }

  get connected() {
    return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
  }

  connect() {
    if (this.stopped) return;
    this.onStatus("connecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.retryMs = 500;
      this.onStatus("connected");
      this.send("sync", this.syncPayload());
      for (const frame of this.pending.values()) ws.send(JSON.stringify(frame));
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => this.send("ping"), this.heartbeatMs);
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if ((frame.type === "ack" || frame.type === "error") && frame.request_id) {
        const sent = this.pending.get(frame.request_id);
        this.pending.delete(frame.request_id);
        this.savePending();
        if (sent && frame.type === "error") frame.action = frame.action || sent.action;
      }
      this.onFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      clearInterval(this.heartbeat);
      if (this.ws !== ws) return;
      this.ws = null;
      if (event.code === 4401 || event.code === 4403) {
        this.onStatus("refused");
        return;
      }
      if (this.stopped) return;
      this.onStatus("reconnecting");
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 5000);
    });
  }

  // Sends an action and returns its request id. An action that changes something is kept
  // until answered, and sent (again) once connected; `sent` says whether it left now.
  send(action, fields = {}) {
    const requestId = `${this.page}-${++this.requestSeq}`;
    const frame = { action, request_id: requestId, ...fields };
    if (!READS.has(action)) {
      this.pending.set(requestId, frame);
      this.savePending();
    }
    if (this.connected) this.ws.send(JSON.stringify(frame));
    return { requestId, sent: this.connected };
  }

  savePending() {
    try {
      sessionStorage.setItem(PENDING_KEY, JSON.stringify([...this.pending]));
    } catch {
      /* storage unavailable: pending actions live as long as the page */
    }
  }

  // Drops the connection as a network failure would; the socket comes back by itself.
  drop() {
    if (this.ws) this.ws.close();
  }

  // Closes for good (the agent is logged out): no reconnect.
  stop() {
    this.stopped = true;
    clearInterval(this.heartbeat);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
  }
}
