// Inside a container, in the details panel: its health (last probes, failing streak), its CPU
// and memory over the last ten minutes (sparklines, with the limit when one is set), its logs
// (last lines, then following; timestamps, search, pause) and a link to a terminal.
//
// Everything a daemon said (probe output, log lines) is put in the page with textContent only.
// The buttons shown follow the page's hints; the server decides again on every request.

import { LogBuffer, shortTime } from "./logs.js";
import { formatBytes, formatPercent, HISTORY_MS, sparkline } from "./stats.js";

const SVG = "http://www.w3.org/2000/svg";
const LINES_DRAWN = 600;
const SPARK = { width: 300, height: 44 };

function el(tag, { text, className, title, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  if (title) node.title = title;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

/** The team slug of the host a node sits under (null: a host of no team). */
function teamOf(node, store) {
  const chain = store.ancestors(node.id);
  const host = chain[chain.length - 1];
  return host && host.kind === "host" ? host.team || null : null;
}

export class ContainerInsight {
  /**
   * @param {{book: import("./stats.js").StatsBook, send: (message: object) => boolean,
   *          hints: {allTeams: boolean, logsTeams: string[], terminalTeams: string[], demos: string[]},
   *          terminalUrl: (hex: string) => string}} options
   */
  constructor({ book, send, hints, terminalUrl }) {
    this.book = book;
    this.send = send;
    this.hints = { allTeams: false, logsTeams: [], terminalTeams: [], demos: [], ...(hints || {}) };
    this.terminalUrl = terminalUrl;
    this.nodeId = null;
    this.parts = null;
    this.buffer = null;
    this.streaming = false;
    this.drawPending = false;
  }

  // --- who may (hints only) -----------------------------------------------------------------

  ownsDemo(node) {
    const demo = node.labels?.["topology.demo"];
    return Boolean(demo) && node.labels?.["topology.managed"] === "true" && this.hints.demos.includes(demo);
  }

  mayReadLogs(node, store) {
    const team = teamOf(node, store);
    return this.hints.allTeams || (team !== null && this.hints.logsTeams.includes(team)) || this.ownsDemo(node);
  }

  mayOpenTerminal(node, store) {
    if (node.state !== "running") return false;
    if (node.labels?.["topology.role"] === "workload" && this.ownsDemo(node)) return true;
    const team = teamOf(node, store);
    return team !== null && this.hints.terminalTeams.includes(team);
  }

  // --- the sections -------------------------------------------------------------------------

  /** The sections for `node` (a container), appended by the details panel after its facts. */
  sections(node, store) {
    if (node.id !== this.nodeId) this.select(node.id);
    const parts = this.parts;
    const result = [];
    if (node.health && node.health !== "none") result.push(...this.healthSections(node));
    result.push(el("h3", { text: "CPU and memory · last 10 minutes" }), parts.stats);
    this.drawStats();
    if (this.mayReadLogs(node, store)) {
      result.push(el("h3", { text: "Logs" }), parts.logs);
    }
    if (this.mayOpenTerminal(node, store)) {
      const link = el("a", { text: "Open a terminal", className: "terminal-link", attrs: { href: this.terminalUrl(node.id.replace(/^container:/, "")), target: "_blank", rel: "noopener" } });
      result.push(
        el("h3", { text: "Terminal" }),
        el("p", { className: "terminal-note" }, [link, el("span", { text: " · as powerful as root on this engine; every session is audited." })]),
      );
    }
    return result;
  }

  healthSections(node) {
    const tone = { healthy: "good", unhealthy: "bad", starting: "warn" }[node.health] || "neutral";
    const summary = el("p", { className: "health-summary" }, [
      el("span", { text: node.health, className: `pill ${tone}` }),
      el("span", { text: node.health_streak ? ` failing ${node.health_streak} time${node.health_streak === 1 ? "" : "s"} in a row` : "" }),
    ]);
    const probes = (node.health_probes || []).slice().reverse();
    const list = el("ol", { className: "probes" });
    for (const probe of probes) {
      const when = probe.end || probe.start;
      list.append(
        el("li", { className: probe.exit_code === 0 ? "probe-ok" : "probe-bad" }, [
          el("span", { text: `${when ? shortTime(when) : "?"} · exit ${probe.exit_code}`, className: "probe-head" }),
          el("pre", { text: probe.output || "(no output)", className: "probe-output" }),
        ]),
      );
    }
    const content = [summary];
    if (probes.length) content.push(el("p", { text: "Last probes, newest first:", className: "muted small" }), list);
    return [el("h3", { text: "Health" }), el("div", { className: "health" }, content)];
  }

  select(id) {
    if (this.nodeId && this.streaming) this.stopLogs();
    this.nodeId = id;
    this.buffer = new LogBuffer();
    this.streaming = false;
    this.parts = id ? this.build() : null;
  }

  hide() {
    this.select(null);
  }

  build() {
    const stats = el("div", { className: "stats" });
    const tail = el("select", { title: "Lines to start from" }, [100, 500, 1000, 5000].map((n) => el("option", { text: `last ${n}`, attrs: { value: String(n) } })));
    const follow = el("input", { attrs: { type: "checkbox", checked: "" } });
    const stamps = el("input", { attrs: { type: "checkbox", checked: "" } });
    const search = el("input", { attrs: { type: "search", placeholder: "Search the lines…", "aria-label": "Search the log lines" } });
    const toggle = el("button", { text: "Stream logs", className: "ghost", attrs: { type: "button" } });
    const pause = el("button", { text: "Pause", className: "ghost", attrs: { type: "button", disabled: "" } });
    const status = el("p", { className: "logs-status muted", attrs: { role: "status" } });
    const lines = el("div", { className: "log-lines", attrs: { tabindex: "0", "aria-label": "Log lines", hidden: "" } });
    const controls = el("div", { className: "log-controls" }, [
      toggle,
      pause,
      tail,
      el("label", {}, [follow, " follow"]),
      el("label", {}, [stamps, " times"]),
      search,
    ]);
    const logs = el("div", { className: "logs" }, [controls, status, lines]);
    toggle.addEventListener("click", () => (this.streaming ? this.stopLogs() : this.startLogs()));
    pause.addEventListener("click", () => {
      this.buffer.pause(!this.buffer.paused);
      this.drawLogs();
    });
    search.addEventListener("input", () => this.drawLogs());
    stamps.addEventListener("change", () => this.drawLogs());
    return { stats, logs, tail, follow, stamps, search, toggle, pause, status, lines };
  }

  // --- stats --------------------------------------------------------------------------------

  onStats(touched) {
    if (this.nodeId && touched.has(this.nodeId)) this.drawStats();
  }

  drawStats() {
    const parts = this.parts;
    if (!parts) return;
    const series = this.book.series.get(this.nodeId) || [];
    const last = series[series.length - 1];
    if (!last) {
      parts.stats.replaceChildren(el("p", { text: "Measuring… (only containers on screen are measured, every few seconds)", className: "muted small" }));
      return;
    }
    const now = Date.now();
    const cpuPeak = Math.max(...series.map((p) => p.cpu ?? 0));
    const limit = last.limitSet ? last.limit : null;
    const since = series[0].at > now - HISTORY_MS + 30000 ? ` · measured since ${new Date(series[0].at).toLocaleTimeString()}` : "";
    parts.stats.replaceChildren(
      this.spark("cpu", `CPU ${formatPercent(last.cpu)}`, `peak ${formatPercent(cpuPeak)} (100 % is one core)${since}`, series, (p) => p.cpu, { now, max: Math.max(100, cpuPeak) }),
      this.spark(
        "mem",
        `Memory ${formatBytes(last.mem)}`,
        limit ? `limit ${formatBytes(limit)} (dashed)` : `no limit set (engine memory ${formatBytes(last.limit)})`,
        series,
        (p) => p.mem,
        { now, limit },
      ),
    );
  }

  spark(kind, head, detail, series, value, options) {
    const line = sparkline(series, value, { ...SPARK, ...options });
    const minutes = Math.round(line.spanMs / 60000);
    const box = svg("svg", {
      viewBox: `0 0 ${SPARK.width} ${SPARK.height}`,
      preserveAspectRatio: "none",
      class: `spark spark-${kind}`,
      role: "img",
      "aria-label": `${head}, last ${minutes} minute${minutes === 1 ? "" : "s"}`,
    });
    box.append(svg("rect", { x: 0, y: 0, width: SPARK.width, height: SPARK.height, class: "spark-bg" }));
    if (line.limitY !== null) {
      box.append(svg("line", { x1: 0, x2: SPARK.width, y1: line.limitY + 1, y2: line.limitY + 1, class: "spark-limit" }));
    }
    if (line.points) box.append(svg("polyline", { points: line.points, class: "spark-line" }));
    return el("figure", { className: `spark-figure spark-${kind}` }, [
      el("figcaption", {}, [el("strong", { text: head }), el("span", { text: ` · ${detail}`, className: "muted" })]),
      box,
    ]);
  }

  // --- logs ---------------------------------------------------------------------------------

  startLogs() {
    const parts = this.parts;
    if (!parts) return;
    this.buffer = new LogBuffer();
    const message = { type: "logs", node: this.nodeId, tail: Number(parts.tail.value), follow: parts.follow.checked };
    if (!this.send(message)) {
      parts.status.textContent = "Not connected; try again in a moment.";
      return;
    }
    this.streaming = true;
    parts.toggle.textContent = "Stop";
    parts.pause.disabled = false;
    parts.lines.hidden = false;
    parts.status.classList.remove("error");
    parts.status.textContent = "Reading…";
    this.drawLogs();
  }

  stopLogs() {
    if (this.streaming) this.send({ type: "logs_stop", node: this.nodeId });
    this.streaming = false;
    if (this.parts) {
      this.parts.toggle.textContent = "Stream logs";
      this.parts.pause.disabled = true;
    }
  }

  onLog(message) {
    if (!this.parts || message.node !== this.nodeId || !this.streaming) return;
    this.buffer.add(message);
    if (message.ended) this.stopLogs();
    this.scheduleDraw();
  }

  onError(message) {
    if (!this.parts || message.node !== this.nodeId) return;
    this.stopLogs();
    this.parts.status.textContent = message.message;
    this.parts.status.classList.add("error");
  }

  /** The websocket dropped: the server has forgotten the stream. */
  connectionLost() {
    if (this.streaming && this.parts) {
      this.streaming = false;
      this.parts.toggle.textContent = "Stream logs";
      this.parts.status.textContent = "The connection dropped: the logs stopped.";
    }
  }

  scheduleDraw() {
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => {
      this.drawPending = false;
      this.drawLogs();
    });
  }

  drawLogs() {
    const parts = this.parts;
    if (!parts) return;
    const buffer = this.buffer;
    const list = parts.lines;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
    const shown = buffer.visible(parts.search.value.trim());
    const rows = shown.slice(-LINES_DRAWN).map((line) => {
      const row = el("div", { className: `log-line log-${line.stream}` });
      if (parts.stamps.checked && line.at) row.append(el("span", { text: shortTime(line.at), className: "log-time", title: line.at }));
      row.append(el("span", { text: line.text, className: "log-text" }));
      return row;
    });
    list.replaceChildren(...rows);
    if (atBottom || !buffer.paused) list.scrollTop = list.scrollHeight;
    const bits = [`${buffer.lines.length} line${buffer.lines.length === 1 ? "" : "s"}`];
    if (parts.search.value.trim()) bits.push(`${shown.length} matching`);
    if (buffer.dropped) bits.push(`${buffer.dropped} older ones let go`);
    if (buffer.paused) bits.push(`paused · ${buffer.unseen} new`);
    if (buffer.ended) bits.push("ended");
    else if (this.streaming) bits.push(parts.follow.checked ? "following" : "reading");
    parts.pause.textContent = buffer.paused ? "Resume" : "Pause";
    const notices = buffer.notices.slice(-2);
    parts.status.classList.toggle("throttled", notices.some((text) => text.startsWith("Log flood")));
    parts.status.textContent = [...notices, bits.join(" · ")].join(" — ");
  }
}
