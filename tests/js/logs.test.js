import assert from "node:assert/strict";
import { test } from "node:test";

import { LogBuffer, shortTime } from "../../static/topology/logs.js";

const line = (text, stream = "stdout") => ({ at: "2026-01-01T00:00:00.5Z", stream, text });

test("the buffer keeps the last lines only, and says how many it let go", () => {
  const buffer = new LogBuffer(3);
  buffer.add({ lines: [line("a"), line("b"), line("c"), line("d")] });
  assert.deepEqual(buffer.visible().map((l) => l.text), ["b", "c", "d"]);
  assert.equal(buffer.dropped, 1);
});

test("search finds lines in any case; pause holds back what comes", () => {
  const buffer = new LogBuffer();
  buffer.add({ lines: [line("GET /health"), line("oops", "stderr")] });
  assert.deepEqual(buffer.visible("get").map((l) => l.text), ["GET /health"]);
  buffer.pause(true);
  buffer.add({ lines: [line("later")] });
  assert.equal(buffer.unseen, 1);
  assert.deepEqual(buffer.visible().map((l) => l.text), ["GET /health", "oops"]);
  buffer.pause(false);
  assert.deepEqual(buffer.visible().map((l) => l.text), ["GET /health", "oops", "later"]);
});

test("notices and the end are kept; odd lines are not", () => {
  const buffer = new LogBuffer();
  buffer.add({ lines: [null, { text: 5 }, { text: "<b>x</b>", stream: "evil" }], notice: "Log flood: …", ended: true });
  assert.deepEqual(buffer.visible(), [{ at: "", stream: "stdout", text: "<b>x</b>" }]);
  assert.deepEqual(buffer.notices, ["Log flood: …"]);
  assert.equal(buffer.ended, true);
});

test("short times", () => {
  assert.match(shortTime("2026-01-01T10:11:12.345678Z"), /^\d\d:11:12\.345$/);
  assert.equal(shortTime(""), "");
  assert.equal(shortTime("never"), "");
});
