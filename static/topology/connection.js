// The websocket to /ws/topology/: reconnects with backoff, notices a dead link, reports its state.
//
// States: "connecting" (first attempt), "live", "reconnecting" (lost, retrying soon),
// "offline" (several attempts failed; still retrying, more slowly) and "signed-out" (4401).
// Options tune it for a wall screen: shorter backoff cap, quicker pings, retrying even when
// signed out (someone may sign the screen's browser in again).

const UNAUTHENTICATED = 4401;
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
const OFFLINE_AFTER_ATTEMPTS = 3;
const PING_EVERY_MS = 20000;
const SILENCE_LIMIT_MS = 45000;

export class LiveConnection {
  /**
   * @param {string} url  ws:// or wss:// address
   * @param {{onMessage: (message: object, receivedAt: number) => void,
   *          onState: (state: string, detail: object) => void}} handlers
   * @param {{maxDelayMs?: number, pingEveryMs?: number, silenceLimitMs?: number,
   *          retryWhenSignedOut?: boolean}} options
   */
  constructor(url, handlers, options = {}) {
    this.url = url;
    this.handlers = handlers;
    this.options = {
      maxDelayMs: MAX_DELAY_MS,
      pingEveryMs: PING_EVERY_MS,
      silenceLimitMs: SILENCE_LIMIT_MS,
      retryWhenSignedOut: false,
      ...options,
    };
    this.socket = null;
    this.state = "connecting";
    this.failures = 0;
    this.retryTimer = null;
    this.retryAt = null;
    this.heartbeat = null;
    this.lastHeard = 0;
    this.stopped = false;
    window.addEventListener("online", () => this.retryNow());
    window.addEventListener("offline", () => this.drop());
  }

  start() {
    this.stopped = false;
    this.open();
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  retryNow() {
    if (this.stopped || (this.socket && this.socket.readyState <= WebSocket.OPEN)) return;
    clearTimeout(this.retryTimer);
    this.open();
  }

  setState(state, detail = {}) {
    this.state = state;
    this.handlers.onState(state, { failures: this.failures, retryAt: this.retryAt, ...detail });
  }

  open() {
    this.retryAt = null;
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (error) {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.lastHeard = Date.now();
      this.startHeartbeat();
    });
    socket.addEventListener("message", (event) => {
      if (socket !== this.socket) return;
      const receivedAt = performance.now();
      this.lastHeard = Date.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        console.warn("topology: a frame that is not JSON", error);
        return;
      }
      if (message.type === "snapshot" && this.state !== "live") {
        this.failures = 0;
        this.setState("live");
      }
      this.handlers.onMessage(message, receivedAt);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      this.stopHeartbeat();
      this.socket = null;
      if (event.code === UNAUTHENTICATED) {
        if (this.options.retryWhenSignedOut) {
          this.failures += 1;
          this.scheduleRetry(this.options.maxDelayMs);
          this.setState("signed-out");
          return;
        }
        this.stopped = true;
        this.setState("signed-out");
        return;
      }
      this.failures += 1;
      this.scheduleRetry();
    });
  }

  scheduleRetry(atLeastMs = 0) {
    if (this.stopped) return;
    const cap = this.options.maxDelayMs;
    const base = Math.max(atLeastMs, Math.min(cap, FIRST_DELAY_MS * 2 ** Math.max(0, this.failures - 1)));
    const delay = Math.min(cap, Math.round(base * (0.8 + Math.random() * 0.4)));
    this.retryAt = Date.now() + delay;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
    this.setState(this.failures >= OFFLINE_AFTER_ATTEMPTS || !navigator.onLine ? "offline" : "reconnecting");
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastHeard > this.options.silenceLimitMs) {
        this.drop(); // a half-open link: start over without waiting for a closing handshake
        return;
      }
      this.send({ type: "ping" });
    }, this.options.pingEveryMs);
  }

  /** Give up on the current socket now and retry (its late events are ignored). */
  drop() {
    const socket = this.socket;
    if (!socket || this.stopped) return;
    this.socket = null;
    this.stopHeartbeat();
    socket.close();
    this.failures += 1;
    this.scheduleRetry();
  }

  stopHeartbeat() {
    clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}
