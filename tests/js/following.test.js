import assert from "node:assert/strict";
import { test } from "node:test";

import { following } from "../../static/topology/following.js";

test("a daemon followed by its events, on schedule", () => {
  const node = { watch: "events", watch_since: "2026-12-01T12:00:05.123+00:00", behind: 0 };
  assert.equal(following(node), "its event stream since 12:00:05 UTC, on schedule");
});

test("a polled daemon whose reads run late says how late", () => {
  const node = { watch: "polling", watch_since: null, behind: 15 };
  assert.equal(following(node), "polls (no usable event stream), reads 15 s or more behind schedule (overloaded)");
});

test("what a daemon node does not say is not made up", () => {
  assert.equal(following({}), null);
  assert.equal(following({ watch: "<script>" }), null);
  assert.equal(following({ watch: "events", watch_since: "not a time", behind: "9" }), "its event stream, on schedule");
});
