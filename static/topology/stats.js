// Live CPU and memory, as the websocket's `stats` messages bring them: a short series per
// container (the last ten minutes), what the map's bars and colours show, and the geometry of a
// sparkline. Pure: no DOM.
//
// A sample is {cpu_percent, mem_bytes, mem_limit, limit_set} at a time; cpu_percent is 100 for
// one core busy (as docker stats counts) and may be null (the first sample of a container);
// mem_limit is the effective limit (the engine's memory when none is set).

export const HISTORY_MS = 10 * 60 * 1000;
const MAX_POINTS = 400;

/** @typedef {{at: number, cpu: number|null, mem: number, limit: number|null, limitSet: boolean}} Point */

function toPoint(at, sample) {
  const cpu = Number.isFinite(sample?.cpu_percent) ? sample.cpu_percent : null;
  const mem = Number.isFinite(sample?.mem_bytes) ? sample.mem_bytes : null;
  if (mem === null || !Number.isFinite(at)) return null;
  const limit = Number.isFinite(sample.mem_limit) ? sample.mem_limit : null;
  return { at, cpu, mem, limit, limitSet: Boolean(sample.limit_set) };
}

export class StatsBook {
  constructor(now = () => Date.now()) {
    this.now = now;
    /** @type {Map<string, Point[]>} */
    this.series = new Map();
  }

  /** Take a `stats` message: its samples (at its time) and any history it carries. */
  ingest(message) {
    const touched = new Set();
    for (const [id, entries] of Object.entries(message.history || {})) {
      if (!Array.isArray(entries)) continue;
      for (const entry of entries) {
        if (!Array.isArray(entry) || entry.length < 4) continue;
        const [at, cpu, mem, limit] = entry;
        const point = toPoint(Math.round(at * 1000), { cpu_percent: cpu, mem_bytes: mem, mem_limit: limit, limit_set: limit !== null });
        if (point) this.add(id, point);
      }
      touched.add(id);
    }
    const at = Date.parse(message.at);
    for (const [id, sample] of Object.entries(message.samples || {})) {
      const point = toPoint(Number.isFinite(at) ? at : this.now(), sample);
      if (point) {
        this.add(id, point);
        touched.add(id);
      }
    }
    return touched;
  }

  add(id, point) {
    const series = this.series.get(id) || [];
    if (series.length && series[series.length - 1].at >= point.at) {
      if (series.some((known) => known.at === point.at)) return; // history already held
      series.push(point);
      series.sort((a, b) => a.at - b.at);
    } else series.push(point);
    const since = this.now() - HISTORY_MS;
    while (series.length && (series[0].at < since || series.length > MAX_POINTS)) series.shift();
    if (series.length) this.series.set(id, series);
    else this.series.delete(id);
  }

  /** The newest point of a container, if recent enough to show (three periods, say). */
  latest(id, maxAgeMs = 30000) {
    const series = this.series.get(id);
    const last = series && series[series.length - 1];
    return last && this.now() - last.at <= maxAgeMs ? last : null;
  }

  /** Forget what is older than ten minutes, and containers with nothing left. */
  prune() {
    const since = this.now() - HISTORY_MS;
    for (const [id, series] of this.series) {
      while (series.length && series[0].at < since) series.shift();
      if (!series.length) this.series.delete(id);
    }
  }
}

/** What share of "full" a point is, 0..1: CPU of one core, memory of its (effective) limit. */
export function share(point, metric) {
  if (!point) return null;
  if (metric === "cpu") return point.cpu === null ? null : Math.min(1, Math.max(0, point.cpu / 100));
  if (metric === "mem") return point.limit ? Math.min(1, Math.max(0, point.mem / point.limit)) : null;
  return null;
}

/** A colour from green (0) through amber to red (1), for the map's colouring. */
export function heatColour(value) {
  const v = Math.min(1, Math.max(0, value));
  const stops = [
    [0, [38, 110, 62]],
    [0.5, [210, 153, 34]],
    [1, [248, 81, 73]],
  ];
  const i = v <= 0.5 ? 0 : 1;
  const [a, ca] = stops[i];
  const [b, cb] = stops[i + 1];
  const t = (v - a) / (b - a);
  const rgb = ca.map((c, k) => Math.round(c + (cb[k] - c) * t));
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
}

export const MIN_SPAN_MS = 60 * 1000;

/** How much time a sparkline spans: what the series holds, from a minute to ten. */
export function spanOf(series, now) {
  const first = series.length ? series[0].at : now;
  return Math.min(HISTORY_MS, Math.max(MIN_SPAN_MS, now - first));
}

/**
 * The polyline of a sparkline in a `width` x `height` box: x by time (ending now, over what the
 * series holds: a minute to ten), y by value from 0 to `max` (the series' own peak, or the
 * limit, when not given).
 *
 * @returns {{points: string, max: number, limitY: number|null, spanMs: number}}
 */
export function sparkline(series, value, { width, height, now, max = null, limit = null }) {
  const recent = series.filter((point) => point.at >= now - HISTORY_MS);
  const span = spanOf(recent, now);
  const start = now - span;
  const shown = recent.filter((point) => point.at >= start);
  const values = shown.map(value).filter((v) => v !== null && Number.isFinite(v));
  const top = max ?? Math.max(limit ?? 0, ...values, 1e-9);
  const xs = (at) => ((at - start) / span) * width;
  const ys = (v) => height - (Math.min(v, top) / top) * height;
  const points = [];
  for (const point of shown) {
    const v = value(point);
    if (v === null || !Number.isFinite(v)) continue;
    points.push(`${xs(point.at).toFixed(1)},${ys(v).toFixed(1)}`);
  }
  return { points: points.join(" "), max: top, limitY: limit ? ys(limit) : null, spanMs: span };
}

export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : Number(value.toFixed(1))} ${units[unit]}`;
}

export function formatPercent(value) {
  return value === null || !Number.isFinite(value) ? "—" : `${value < 10 ? value.toFixed(1) : Math.round(value)} %`;
}
