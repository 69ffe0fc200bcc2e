// How a daemon is followed, in words for its details panel: its event stream or polls, since
// when, and how far behind schedule its reads run (the daemon node's `watch`, `watch_since`
// and `behind`, set by the events watcher or a poll task).

/** The time part of an ISO timestamp, as the page's clock shows it (HH:MM:SS, UTC). */
function clock(iso) {
  const moment = iso ? new Date(iso) : null;
  return moment && !Number.isNaN(moment.getTime()) ? moment.toISOString().slice(11, 19) : null;
}

/**
 * One line: "its event stream since 12:00:05 UTC, on schedule", "polls (no usable event
 * stream), 15 s or more behind schedule". Pure; unknown fields say nothing.
 */
export function following(node) {
  if (!node || (node.watch !== "events" && node.watch !== "polling")) return null;
  let text = node.watch === "events" ? "its event stream" : "polls (no usable event stream)";
  const since = clock(node.watch_since);
  if (since) text += ` since ${since} UTC`;
  const behind = Number.isInteger(node.behind) && node.behind > 0 ? node.behind : 0;
  return `${text}, ${behind ? `reads ${behind} s or more behind schedule (overloaded)` : "on schedule"}`;
}
