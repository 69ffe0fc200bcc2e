import assert from "node:assert/strict";
import { test } from "node:test";

import { badge, FreshnessClock, isNews } from "../../static/topology/freshness.js";

const BEAT = 5000;

test("snapshots, deltas and heartbeats are news; pongs, errors and stats are not", () => {
  for (const type of ["snapshot", "delta", "heartbeat"]) assert.equal(isNews({ type }), true, type);
  for (const type of ["pong", "error", "stats", "logs", undefined]) assert.equal(isNews({ type }), false, type);
  assert.equal(isNews(null), false);
  assert.equal(isNews("heartbeat"), false);
});

test("pongs alone let the picture go stale after three heartbeats, then the link is dropped", () => {
  const clock = new FreshnessClock(BEAT);
  clock.opened(0);
  assert.equal(clock.heard({ type: "snapshot", version: 1 }, 100), true);
  for (let now = 1000; now <= 30000; now += 1000) clock.heard({ type: "pong" }, now);
  assert.equal(clock.age(30000), 29900);
  assert.equal(clock.isStale(3 * BEAT + 100), false);
  assert.equal(clock.isStale(3 * BEAT + 1200), true);
  assert.equal(clock.shouldReconnect(3 * BEAT + 1200), false);
  assert.equal(clock.shouldReconnect(4 * BEAT + 1200), true);
});

test("each heartbeat keeps a quiet graph fresh", () => {
  const clock = new FreshnessClock(BEAT);
  clock.opened(0);
  clock.heard({ type: "snapshot", version: 7 }, 50);
  for (let now = BEAT; now <= 24 * 3600 * 1000; now += BEAT) {
    clock.heard({ type: "heartbeat", version: 7 }, now);
    assert.equal(clock.isStale(now + BEAT - 1), false);
  }
});

test("a link that opens and never brings news counts its silence from the opening", () => {
  const clock = new FreshnessClock(BEAT);
  clock.opened(10000);
  assert.equal(clock.age(10000), null);
  assert.equal(clock.silentFor(12000), 2000);
  assert.equal(clock.shouldReconnect(10000 + 4 * BEAT + 1500), true);
  // A new link starts a new count, and the last news is remembered for the badge.
  clock.heard({ type: "delta", version: 2 }, 40000);
  clock.opened(60000);
  assert.equal(clock.silentFor(61000), 1000);
  assert.equal(clock.age(61000), 21000);
});

test("the badge says live, then stale, then disconnected with the last update's age", () => {
  const clock = new FreshnessClock(BEAT);
  clock.opened(0);
  assert.deepEqual(badge("connecting", clock, 0), { message: "connecting…", stale: false });
  clock.heard({ type: "snapshot", version: 1 }, 1000);
  assert.deepEqual(badge("live", clock, 4000), { message: "live · updated 3 s ago", stale: false });
  clock.heard({ type: "pong" }, 15000);
  assert.deepEqual(badge("live", clock, 18000), { message: "stale · no update for 17 s", stale: true });
  assert.deepEqual(badge("stale", clock, 19000), { message: "stale · no update for 18 s", stale: true });
  const down = badge("reconnecting", clock, 23000, 26000);
  assert.deepEqual(down, { message: "disconnected · last update 22 s ago · retrying in 3 s", stale: true });
  assert.equal(badge("signed-out", clock, 23000).message, "signed out · last update 22 s ago · retrying");
  clock.heard({ type: "heartbeat", version: 1 }, 30000);
  assert.equal(badge("live", clock, 30000).stale, false);
});
