// The websocket to /ws/topology/: reconnects with backoff, notices a dead link, reports its state.
//
// States: "connecting" (first attempt), "live", "stale" (open, but no snapshot, delta or
// heartbeat for three heartbeats: see freshness.js), "reconnecting" (lost, retrying soon),
// "offline" (several attempts failed; still retrying, more slowly) and "signed-out" (4401).
// A link silent for a fourth heartbeat is dropped and opened again: pongs keep no link alive.
// Options tune it for a wall screen: shorter backoff cap, quicker pings, retrying even when
// signed out (someone may sign the screen's browser in again).
// A snapshot may come compressed (a binary frame of raw DEFLATE, when the URL asks for
// `encoding=deflate`): it is inflated off the main thread, and what comes after it waits its turn.

import { FreshnessClock } from "./freshness.js";

const UNAUTHENTICATED = 4401;
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
const OFFLINE_AFTER_ATTEMPTS = 3;
const PING_EVERY_MS = 20000;
const HEARTBEAT_MS = 5000;
const CHECK_EVERY_MS = 1000;

/** The text of a binary frame of raw DEFLATE (inflated by the browser, off the main thread). */
export async function inflated(buffer) {
  const stream = new Blob([buffer]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Response(stream).text();
}

export class LiveConnection {
  /**
   * @param {string} url  ws:// or wss:// address
   * @param {{onMessage: (message: object, receivedAt: number) => void,
   *          onState: (state: string, detail: object) => void}} handlers
   * @param {{maxDelayMs?: number, pingEveryMs?: number, heartbeatMs?: number,
   *          retryWhenSignedOut?: boolean}} options  heartbeatMs: the server's heartbeat
   */
  constructor(url, handlers, options = {}) {
    this.url = url;
    this.handlers = handlers;
    this.options = {
      maxDelayMs: MAX_DELAY_MS,
      pingEveryMs: PING_EVERY_MS,
      heartbeatMs: HEARTBEAT_MS,
      retryWhenSignedOut: false,
      ...options,
    };
    this.socket = null;
    this.state = "connecting";
    this.failures = 0;
    this.retryTimer = null;
    this.retryAt = null;
    this.pinger = null;
    this.watcher = null;
    this.clock = new FreshnessClock(this.options.heartbeatMs);
    this.stopped = false;
    this.inbox = Promise.resolve(); // frames still being inflated, in order
    this.inflating = 0;
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
    socket.binaryType = "arraybuffer";
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      this.clock.opened(Date.now());
      this.startWatching();
    });
    socket.addEventListener("message", (event) => {
      if (socket !== this.socket) return;
      const receivedAt = performance.now();
      if (typeof event.data === "string" && this.inflating === 0) {
        this.receive(event.data, receivedAt);
        return;
      }
      this.inflating += 1;
      this.inbox = this.inbox
        .then(async () => {
          const text = typeof event.data === "string" ? event.data : await inflated(event.data);
          if (socket === this.socket) this.receive(text, receivedAt);
        })
        .catch((error) => console.warn("topology: a compressed frame that does not inflate", error))
        .finally(() => {
          this.inflating -= 1;
        });
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      this.stopWatching();
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

  /** One frame's text, in the order frames came. */
  receive(text, receivedAt) {
    let message;
    try {
      message = JSON.parse(text);
    } catch (error) {
      console.warn("topology: a frame that is not JSON", error);
      return;
    }
    const news = this.clock.heard(message, Date.now());
    if (message.type === "snapshot" && this.state !== "live") {
      this.failures = 0;
      this.setState("live");
    } else if (this.state === "stale" && news) {
      this.setState("live");
    }
    this.handlers.onMessage(message, receivedAt);
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

  /** Last news from the server (ms since the epoch), or null: what the kiosk badge shows. */
  get lastNews() {
    return this.clock.lastNews;
  }

  startWatching() {
    this.stopWatching();
    this.pinger = setInterval(() => this.send({ type: "ping" }), this.options.pingEveryMs);
    this.watcher = setInterval(() => this.check(), CHECK_EVERY_MS);
  }

  /** A link that stays silent (pongs aside) is called stale, then dropped and opened again. */
  check() {
    const now = Date.now();
    if (this.clock.shouldReconnect(now)) {
      this.drop(); // start over without waiting for a closing handshake
    } else if (this.state === "live" && this.clock.isStale(now)) {
      this.setState("stale");
    }
  }

  /** Give up on the current socket now and retry (its late events are ignored). */
  drop() {
    const socket = this.socket;
    if (!socket || this.stopped) return;
    this.socket = null;
    this.stopWatching();
    socket.close();
    this.failures += 1;
    this.scheduleRetry();
  }

  stopWatching() {
    clearInterval(this.pinger);
    clearInterval(this.watcher);
    this.pinger = null;
    this.watcher = null;
  }
}
