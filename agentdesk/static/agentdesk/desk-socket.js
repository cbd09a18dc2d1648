// A WebSocket that reconnects by itself and asks the server to resync after each connect.
// The server is the record: after a drop the desktop sends the last message id it saw per
// chat and gets everything after it, so nothing is missed and ids dedupe what repeats.

export class DeskSocket {
  constructor({ path, heartbeatSeconds, onFrame, onStatus, syncPayload }) {
    this.path = path;
    this.heartbeatMs = Math.max(1, heartbeatSeconds) * 1000;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.syncPayload = syncPayload;
    this.ws = null;
    this.retryMs = 500;
    this.requestSeq = 0;
    this.heartbeat = null;
    this.stopped = false;
  }

  url() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}${this.path}`;
  }

  connect() {
    this.onStatus("connecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.retryMs = 500;
      this.onStatus("connected");
      this.send("sync", this.syncPayload());
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

  // Sends an action; returns its request id (answered by an "ack" or "error" frame).
  send(action, fields = {}) {
    const requestId = `r${++this.requestSeq}`;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ action, request_id: requestId, ...fields }));
      return requestId;
    }
    return null;
  }

  // Drops the connection as a network failure would; the socket comes back by itself.
  drop() {
    if (this.ws) this.ws.close();
  }
}
