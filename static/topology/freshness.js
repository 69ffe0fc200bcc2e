// How fresh the picture is. Only news from the server counts: a snapshot, a delta or a heartbeat
// (the server sends one every `heartbeatMs` with the version the client has). A pong proves only
// that the socket is open: a server whose channel group forgot this client (or whose database is
// gone) still answers pings, so pongs never make the picture fresh.
//
// Pure: no DOM, no timers; the connection and the kiosk badge ask it with the current time.

export const NEWS_TYPES = new Set(["snapshot", "delta", "heartbeat"]);

/** The picture is called stale after this many heartbeats missed in a row. */
export const STALE_AFTER_HEARTBEATS = 3;
/** The link is given up (and opened again) one heartbeat after it was called stale. */
export const RECONNECT_AFTER_HEARTBEATS = 4;
/** Network jitter allowed on top of the heartbeats. */
const SLACK_MS = 1000;

/** Does this message from the server say the picture is current? */
export function isNews(message) {
  return message !== null && typeof message === "object" && NEWS_TYPES.has(message.type);
}

export class FreshnessClock {
  /** @param {number} heartbeatMs  how often the server sends a heartbeat */
  constructor(heartbeatMs) {
    this.heartbeatMs = heartbeatMs;
    this.staleAfterMs = STALE_AFTER_HEARTBEATS * heartbeatMs + SLACK_MS;
    this.reconnectAfterMs = RECONNECT_AFTER_HEARTBEATS * heartbeatMs + SLACK_MS;
    this.lastNews = null; // when the last news came (ms), null before any
    this.waitingSince = null; // when this link opened: silence is counted from here until news
  }

  /** A new socket is open: its silence counts from now, the last news is kept for the badge. */
  opened(now) {
    this.waitingSince = now;
  }

  /** Note a message; returns whether it was news. */
  heard(message, now) {
    if (!isNews(message)) return false;
    this.lastNews = now;
    this.waitingSince = now;
    return true;
  }

  /** How long this link has gone without news (0 before it opened). */
  silentFor(now) {
    return this.waitingSince === null ? 0 : Math.max(0, now - this.waitingSince);
  }

  isStale(now) {
    return this.silentFor(now) > this.staleAfterMs;
  }

  /** Time to drop the link and open a new one: news stopped for longer than stale. */
  shouldReconnect(now) {
    return this.silentFor(now) > this.reconnectAfterMs;
  }

  /** Milliseconds since the last news, or null before any. */
  age(now) {
    return this.lastNews === null ? null : Math.max(0, now - this.lastNews);
  }
}

export function ago(ms, round = Math.round) {
  const seconds = Math.max(0, round(ms / 1000));
  if (seconds < 90) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 90 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * The kiosk badge's words for a connection state and the clock: "live · updated 3 s ago" while
 * news keeps coming, "stale · no update for 20 s" when the link is open but silent, and the
 * state with the last update's age and the next retry otherwise.
 * @returns {{message: string, stale: boolean}}
 */
export function badge(state, clock, now, retryAt = null) {
  const age = clock.age(now);
  const since = age === null ? "no data yet" : `last update ${ago(age)} ago`;
  const retry = retryAt ? ` · retrying in ${ago(Math.max(0, retryAt - now), Math.ceil)}` : " · retrying";
  const open = state === "live" || state === "stale";
  if (open && !clock.isStale(now)) {
    return { message: age === null ? "live" : `live · updated ${ago(age)} ago`, stale: false };
  }
  if (open) return { message: `stale · no update for ${ago(age ?? clock.silentFor(now))}`, stale: true };
  if (state === "connecting") return { message: "connecting…", stale: false };
  if (state === "signed-out") return { message: `signed out · ${since}${retry}`, stale: true };
  return { message: `disconnected · ${since}${retry}`, stale: true };
}
