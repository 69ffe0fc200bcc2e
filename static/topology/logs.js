// A container's log lines as the page holds them: bounded, searchable, pausable. Pure: no DOM
// (the details panel draws what `visible` gives, with textContent).

export const MAX_LINES = 2000;

export class LogBuffer {
  constructor(maxLines = MAX_LINES) {
    this.maxLines = maxLines;
    this.lines = [];
    this.dropped = 0; // lines the page let go (older than the last maxLines)
    this.paused = false;
    this.unseen = 0; // lines that came while paused
    this.notices = [];
    this.ended = false;
  }

  /** Take a `log` message. */
  add(message) {
    for (const line of message.lines || []) {
      if (!line || typeof line.text !== "string") continue;
      this.lines.push({ at: String(line.at || ""), stream: line.stream === "stderr" ? "stderr" : "stdout", text: line.text });
      if (this.paused) this.unseen += 1;
    }
    const over = this.lines.length - this.maxLines;
    if (over > 0) {
      this.lines.splice(0, over);
      this.dropped += over;
    }
    if (message.notice) this.notices.push(String(message.notice));
    if (message.ended) this.ended = true;
  }

  pause(on) {
    this.paused = on;
    if (!on) this.unseen = 0;
  }

  /** The lines to draw: all of them, or those containing `search` (any case). While paused,
   * what came after the pause is held back. */
  visible(search = "") {
    const held = this.paused ? this.lines.slice(0, this.lines.length - this.unseen) : this.lines;
    if (!search) return held;
    const needle = search.toLowerCase();
    return held.filter((line) => line.text.toLowerCase().includes(needle));
  }
}

/** "12:03:04.123" from an RFC 3339 time, in the page's time zone ("" if there is none). */
export function shortTime(at) {
  const when = new Date(at);
  if (!at || Number.isNaN(when.getTime())) return "";
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  return `${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}.${pad(when.getMilliseconds(), 3)}`;
}
