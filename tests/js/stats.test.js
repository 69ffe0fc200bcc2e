import assert from "node:assert/strict";
import { test } from "node:test";

import { formatBytes, formatPercent, heatColour, HISTORY_MS, share, sparkline, StatsBook } from "../../static/topology/stats.js";

const NOW = Date.parse("2026-01-01T12:10:00Z");

test("history and live samples make one ordered series, without duplicates", () => {
  const book = new StatsBook(() => NOW);
  const t = (minutesAgo) => (NOW - minutesAgo * 60000) / 1000;
  book.ingest({ type: "stats", at: "2026-01-01T12:10:00.000Z", samples: {}, history: { "container:a": [[t(3), 5, 100, null], [t(1), 7, 120, 1000]] } });
  book.ingest({ type: "stats", at: "2026-01-01T12:09:00.000Z", samples: { "container:a": { cpu_percent: 7, mem_bytes: 120, mem_limit: 1000, limit_set: true } } });
  book.ingest({ type: "stats", at: "2026-01-01T12:10:00.000Z", samples: { "container:a": { cpu_percent: null, mem_bytes: 130, mem_limit: 1000, limit_set: true } } });
  const series = book.series.get("container:a");
  assert.deepEqual(series.map((p) => p.mem), [100, 120, 130]);
  assert.equal(series[2].cpu, null);
  assert.equal(book.latest("container:a").mem, 130);
});

test("ten minutes only, and nonsense is no point", () => {
  const book = new StatsBook(() => NOW);
  book.ingest({ at: new Date(NOW - HISTORY_MS - 1000).toISOString(), samples: { "container:a": { mem_bytes: 1 } } });
  book.ingest({ at: new Date(NOW).toISOString(), samples: { "container:b": { mem_bytes: "lots" }, "container:c": null } });
  book.ingest({ history: { "container:d": "no", "container:e": [[1, 2]] } });
  assert.equal(book.series.get("container:a"), undefined);
  assert.equal(book.series.size, 0);
});

test("shares: CPU of one core, memory of its limit", () => {
  assert.equal(share({ cpu: 50, mem: 10, limit: 40 }, "cpu"), 0.5);
  assert.equal(share({ cpu: 250, mem: 10, limit: 40 }, "cpu"), 1);
  assert.equal(share({ cpu: null, mem: 10, limit: 40 }, "cpu"), null);
  assert.equal(share({ cpu: 1, mem: 10, limit: 40 }, "mem"), 0.25);
  assert.equal(share(null, "mem"), null);
});

test("the heat runs green to red", () => {
  assert.equal(heatColour(0), "rgb(38, 110, 62)");
  assert.equal(heatColour(1), "rgb(248, 81, 73)");
  assert.equal(heatColour(7), heatColour(1));
});

test("a sparkline spans what it holds, a minute to ten, with the limit where one is set", () => {
  const series = [
    { at: NOW - 2 * HISTORY_MS, mem: 999 }, // too old: left out
    { at: NOW - HISTORY_MS, mem: 20 },
    { at: NOW - HISTORY_MS / 2, mem: 50 },
    { at: NOW, mem: 100 },
  ];
  const line = sparkline(series, (p) => p.mem, { width: 100, height: 20, now: NOW, limit: 200 });
  assert.equal(line.points, "0.0,18.0 50.0,15.0 100.0,10.0");
  assert.equal(line.max, 200);
  assert.equal(line.limitY, 0);
  assert.equal(line.spanMs, HISTORY_MS);
  const own = sparkline(series.slice(2), (p) => p.mem, { width: 100, height: 20, now: NOW });
  assert.equal(own.max, 100);
  assert.equal(own.limitY, null);
  assert.equal(own.points, "0.0,10.0 100.0,0.0"); // five minutes held: five minutes drawn
  const young = sparkline([{ at: NOW - 6000, mem: 1 }], (p) => p.mem, { width: 60, height: 10, now: NOW });
  assert.equal(young.spanMs, 60000);
  assert.equal(young.points, "54.0,0.0"); // at least a minute
});

test("numbers read as people read them", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(300 * 2 ** 20), "300 MiB");
  assert.equal(formatBytes(64 * 2 ** 20), "64 MiB");
  assert.equal(formatPercent(3.14159), "3.1 %");
  assert.equal(formatPercent(null), "—");
});
