// The live dashboard: wires the websocket, the store, the graph, filters, details and exports;
// for a saved dashboard its scope, tiles and pinned positions; `?kiosk=1` is the wall-screen form.
//
// With a saved dashboard whose filters set anything, the page works on the part of the store its
// scope holds (`shown`, a ScopedGraph): the graph, counts, host and daemon choices, tiles, details
// and the JSON export. Without one, `shown` is the store itself.

import { LiveConnection } from "./connection.js";
import { DetailsPanel } from "./details.js";
import { exportDot, exportJson, exportPng, exportSvg } from "./export.js";
import { Filters } from "./filters.js";
import { GraphView, LAYOUTS } from "./graph-view.js";
import { HIGHLIGHT_PARAM, Highlighter, parseHighlight } from "./highlight.js";
import { ContainerInsight } from "./insight.js";
import { fillIcons } from "./icons.js";
import { AutoFit, Freshness, KIOSK_CONNECTION, offscreenFilterControls, setUpKioskView } from "./kiosk.js";
import { layersFromQuery, layersParam, toggleLayer, websocketUrl } from "./layers.js";
import { PinnedPositions, PositionSaver } from "./positions.js";
import { Meters } from "./meters.js";
import { Scope, ScopedGraph } from "./scope.js";
import { StatsBook } from "./stats.js";
import { GraphStore } from "./store.js";
import { Tiles } from "./tiles.js";
import { ViewportWatch } from "./watching.js";

const MAX_TIMINGS = 100;

const $ = (id) => document.getElementById(id);
const config = JSON.parse($("dashboard-config").textContent);
const kiosk = Boolean(config.kiosk);
const dashboard = config.dashboard; // the saved dashboard shown, or null

const store = new GraphStore();
const scope = new Scope(dashboard?.filters);
const scoped = scope.active ? new ScopedGraph(store, scope) : null;
/** What the page shows: the whole store, or the part of it the dashboard's scope holds. */
const shown = scoped || store;
const graphArea = document.querySelector(".graph-area");
const view = new GraphView($("graph"), shown);
// Fits keep the graph clear of the open panels over it (the legend, the tiles, and any other).
const OVERLAYS =
  ".graph-area details.legend[open], .graph-area > .tiles:not([hidden]), .kiosk-bar, #highlight-bar:not([hidden])";
view.viewport.overlays = () => {
  const area = $("graph").getBoundingClientRect();
  return [...document.querySelectorAll(OVERLAYS)].map((panel) => {
    const box = panel.getBoundingClientRect();
    return { left: box.left - area.left, right: box.right - area.left, top: box.top - area.top, bottom: box.bottom - area.top };
  });
};
/** Recent render timings (ms, from performance.now()): for benchmarks and curious developers. */
const timings = [];
let awaitingSnapshot = false;
let connectionState = "connecting";

const filters = new Filters(
  kiosk
    ? offscreenFilterControls()
    : {
        form: $("filters"),
        search: $("search"),
        host: $("filter-host"),
        daemon: $("filter-daemon"),
        role: $("filter-role"),
        state: $("filter-state"),
        health: $("filter-health"),
        network: $("filter-network"),
        exposure: $("filter-exposure"),
        clear: $("clear-filters"),
      },
  () => {
    refreshVisibility();
    refreshTiles(null);
    view.viewport.fit();
    watch.schedule();
  },
  scope.active ? scope : null, // the controls narrow the dashboard's scope further
);

// Live stats of what the page shows (the server samples only what some page watches), the
// map's bars and colours, and the inside of the selected container in the details panel.
const book = new StatsBook();
const meters = new Meters(view.cy, $("graph"), book);
const insight = kiosk
  ? null
  : new ContainerInsight({
      book,
      send: (message) => connection.send(message),
      hints: config.observe,
      terminalUrl: (hex) => config.terminalUrl.replace("CONTAINER", hex),
    });

const details = kiosk
  ? null
  : new DetailsPanel(
      {
        root: $("details"),
        icon: $("details-icon"),
        title: $("details-title"),
        subtitle: $("details-subtitle"),
        body: $("details-body"),
        close: $("details-close"),
        center: $("details-center"),
      },
      {
        onClose: () => select(null),
        onCenter: (id) => view.viewport.centerOn(id),
        onNavigate: (id) => {
          select(id);
          view.viewport.centerOn(id);
        },
        extras: (node, graph) => insight.sections(node, graph),
      },
    );

// --- URL state beyond the filters: layout and selected node -------------------------------

function setParam(name, value) {
  const url = new URL(window.location.href);
  if (value) url.searchParams.set(name, value);
  else url.searchParams.delete(name);
  window.history.replaceState(null, "", url);
}

const params = new URLSearchParams(window.location.search);
const layoutSelect = $("layout");
view.layoutName = params.get("layout") in LAYOUTS ? params.get("layout") : "nested";
if (layoutSelect) layoutSelect.value = view.layoutName;
let pendingSelection = kiosk ? null : params.get("node");
/** The layers drawn (see layers.js); a switch asks for a fresh snapshot, laid out again. */
let layers = layersFromQuery(window.location.search);
let relayoutOnSnapshot = false;
// `?highlight=<id>,<id>`: nodes to light up (a row of the DinD vs DooD comparison links here).
const highlighter = new Highlighter(view.cy, parseHighlight(window.location.search));

// --- Saved dashboard: tiles, pinned positions; the wall screen ------------------------------

const tiles = dashboard && $("tiles") ? new Tiles($("tiles"), dashboard.tiles) : null;
// Those who may save see pinned nodes free to drag; everyone else sees them locked in place.
const pinned = new PinnedPositions(view, dashboard?.positions, { lock: !dashboard?.maySavePositions });
if (dashboard?.maySavePositions && $("save-positions")) {
  new PositionSaver({ button: $("save-positions"), status: $("positions-status") }, view, dashboard, pinned, store);
}
if (kiosk) setUpKioskView(view);
const autoFit = kiosk ? new AutoFit(view, [$("graph"), document.querySelector(".kiosk-bar")]) : null;
const freshness = kiosk
  ? new Freshness({ root: $("connection"), text: $("connection-text") }, () => connection.clock)
  : null;

/** Whether a node is on the map (drawn and not filtered out, or in a daemon's summary). */
function isShown(id) {
  if (view.detail.isKept(id)) return true;
  const element = view.cy.getElementById(id);
  return element.nonempty() && !element.hasClass("filtered-out");
}

function refreshTiles(change) {
  if (tiles) tiles.update(shown.nodes.values(), isShown, change);
}

function select(id) {
  if (!details) return;
  view.select(id);
  setParam("node", id);
  if (id) details.show(id, shown);
  else {
    details.hide();
    insight.hide();
  }
  // The panel takes room from the graph: tell Cytoscape its box changed.
  requestAnimationFrame(() => view.cy.resize());
}

// --- Messages -------------------------------------------------------------------------------

function record(entry) {
  timings.push(entry);
  if (timings.length > MAX_TIMINGS) timings.shift();
}

/** Draw a change of the store (as far as the dashboard's scope holds it) and refresh the rest. */
function render(storeChange, type, receivedAt, message) {
  const change = scoped ? scoped.follow(storeChange) : storeChange;
  const first = !view.laidOut;
  const arrived = view.apply(change);
  if (pinned.apply(arrived) && first) view.viewport.fitNow();
  filters.populate(shown);
  refreshVisibility();
  details?.refresh(shown);
  refreshStatus();
  refreshTiles(change);
  autoFit?.afterChange();
  watch.schedule();
  if (highlighter.active) refreshHighlight();
  if (pendingSelection && shown.nodes.has(pendingSelection)) {
    const id = pendingSelection;
    pendingSelection = null;
    select(id);
    view.viewport.centerOn(id);
  }
  const appliedAt = performance.now();
  const entry = {
    type,
    version: message.version,
    nodes: type === "snapshot" ? message.graph.nodes.length : message.upsert.nodes.length,
    arrived: arrived.length,
    receivedAt,
    appliedAt,
    paintedAt: null,
  };
  record(entry);
  requestAnimationFrame(() => {
    entry.paintedAt = performance.now();
  });
}

function onMessage(message, receivedAt) {
  if (message.type === "snapshot") {
    awaitingSnapshot = false;
    render(store.replace(message.graph), "snapshot", receivedAt, message);
    if (relayoutOnSnapshot) {
      relayoutOnSnapshot = false;
      view.runLayout(view.layoutName, { animate: false });
      refreshVisibility();
    }
  } else if (message.type === "delta") {
    if (store.version === null || awaitingSnapshot || message.version <= store.version) return;
    if (message.since !== store.version) {
      awaitingSnapshot = true; // a hole: ask for the whole graph, ignore deltas until it comes
      connection.send({ type: "resync" });
      return;
    }
    render(store.applyDelta(message), "delta", receivedAt, message);
  } else if (message.type === "stats") {
    const touched = book.ingest(message);
    insight?.onStats(touched);
    if (meters.colourBy) meters.recolour();
    meters.schedule();
  } else if (message.type === "log") {
    insight?.onLog(message);
  } else if (message.type === "error" && message.node) {
    insight?.onError(message);
  } else if (message.type === "error") {
    console.warn(`topology: the server said ${message.code}: ${message.message}`);
    if (message.code === "snapshot_too_large") {
      $("empty-text").textContent = `The map cannot be shown: ${message.message}.`;
      $("empty-state").hidden = false;
    }
  }
}

// --- Highlighted nodes ------------------------------------------------------------------------

/** Light the wanted nodes up again (some may have just arrived); fit to them when more came. */
function refreshHighlight() {
  const before = highlighter.shown;
  const present = highlighter.apply();
  if (present > before) {
    const bounds = highlighter.elements().boundingBox({ includeLabels: false, includeOverlays: false });
    view.viewport.show(bounds, 80);
  }
  const bar = $("highlight-bar");
  if (!bar) return;
  const wanted = highlighter.ids.length;
  bar.hidden = false;
  $("highlight-text").textContent =
    present === 0
      ? `None of the ${wanted} highlighted nodes is on the map (gone, or not yours to see).`
      : `Highlighted: ${present} of ${wanted} node${wanted === 1 ? "" : "s"}, with what holds them.`;
}

function clearHighlight() {
  highlighter.clear();
  setParam(HIGHLIGHT_PARAM, "");
  if ($("highlight-bar")) $("highlight-bar").hidden = true;
  view.viewport.fit();
}

// --- Connection state -------------------------------------------------------------------------

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  stale: "Stale",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  "signed-out": "Signed out",
};
let countdown = null;

function timeText(date) {
  return date ? date.toLocaleTimeString() : "—";
}

function onState(state, detail) {
  if (state === "live" && connectionState !== "live") watch.reset(); // a new socket knows nothing
  if (state !== "live") insight?.connectionLost();
  connectionState = state;
  const stale = state !== "live" && store.version !== null;
  graphArea.classList.toggle("stale", stale);
  if (freshness) {
    freshness.onState(state, detail);
    return;
  }
  $("connection").dataset.state = state;
  $("connection-text").textContent = CONNECTION_TEXT[state] || state;
  $("connection").title = state === "live" ? `Following graph version ${store.version ?? "—"}` : "";
  clearInterval(countdown);
  countdown = null;
  const banner = $("stale-banner");
  const text = $("stale-text");
  const retry = $("retry-now");
  if (state === "live" || state === "connecting") {
    banner.hidden = true;
    return;
  }
  banner.hidden = false;
  if (state === "signed-out") {
    const login = document.createElement("a");
    login.href = `${config.loginUrl}?next=${encodeURIComponent(window.location.pathname + window.location.search)}`;
    login.textContent = "Log in again";
    text.replaceChildren(`Your session has ended; the graph below is as of ${timeText(store.updatedAt)}. `, login);
    retry.hidden = true;
    return;
  }
  if (state === "stale") {
    const shown = store.version === null ? "" : ` — showing the graph as of ${timeText(store.updatedAt)}`;
    text.textContent = `No update from the server for a while${shown}. Reconnecting…`;
    retry.hidden = true;
    return;
  }
  retry.hidden = false;
  const update = () => {
    const seconds = detail.retryAt ? Math.max(0, Math.ceil((detail.retryAt - Date.now()) / 1000)) : 0;
    const lead = state === "offline" ? "Offline" : "Connection lost";
    const shown =
      store.version === null ? "" : ` — showing the graph as of ${timeText(store.updatedAt)} (version ${store.version})`;
    text.textContent = `${lead}${shown}. ${seconds > 0 ? `Retrying in ${seconds} s.` : "Retrying…"}`;
  };
  update();
  countdown = setInterval(update, 1000);
}

const wsUrl = new URL(config.websocketPath, window.location.href);
wsUrl.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
// Snapshots compressed (a tenth of the bytes, inflated off the main thread); `?wire=text` asks
// for the contract's text instead.
if (params.get("wire") !== "text") wsUrl.searchParams.set("encoding", "deflate");
const connection = new LiveConnection(websocketUrl(wsUrl.href, layers), { onMessage, onState }, {
  ...(kiosk ? KIOSK_CONNECTION : {}),
  heartbeatMs: config.heartbeatSeconds * 1000,
});

/** Show `chosen` layers: the server sends a fresh snapshot of them, which is laid out anew. */
function chooseLayers(chosen) {
  layers = chosen;
  setParam("layers", layersParam(layers));
  for (const button of document.querySelectorAll("#layers [data-layer]")) {
    button.setAttribute("aria-pressed", String(layers.includes(button.dataset.layer)));
  }
  connection.url = websocketUrl(wsUrl.href, layers); // and for every reconnection
  awaitingSnapshot = true; // deltas of the old layers are ignored until it comes
  relayoutOnSnapshot = true;
  connection.send({ type: "layers", layers }); // (closed: the next connection asks with its URL)
}
// A wall screen watches all it shows; a page, what is in its viewport (debounced).
const watch = new ViewportWatch(view.cy, (message) => connection.send(message), { everything: kiosk });
setInterval(() => {
  book.prune();
  meters.schedule();
}, 15000);

// --- Status bar, empty state ------------------------------------------------------------------

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function refreshStatus() {
  if (kiosk) return;
  const counts = shown.counts();
  const more = [];
  if (counts.network) more.push(plural(counts.network, "network"));
  if (counts.volume) more.push(`${counts.volume} shared ${counts.volume === 1 ? "volume" : "volumes"}`);
  if (counts.image) more.push(plural(counts.image, "image"));
  if (counts.registry) more.push(plural(counts.registry, "registry").replace(/ys$/, "ies"));
  $("counts").textContent =
    `${plural(counts.host, "host")} · ${plural(counts.daemon, "daemon")} · ` +
    `${plural(counts.container, "container")} (${counts.running} running)` +
    more.map((text) => ` · ${text}`).join("");
  $("graph-version").textContent = `graph version ${store.version} · updated ${timeText(store.updatedAt)}`;
  if (connectionState === "live") $("connection").title = `Following graph version ${store.version}`;
}

function refreshVisibility() {
  if (filters.userActive || highlighter.active) view.detail.expand(); // filters see everything
  const matched = filters.apply(view.cy, shown);
  const empty = $("empty-state");
  const clear = $("empty-clear") || document.createElement("button"); // none on a wall screen
  if (store.version === null) {
    empty.hidden = false;
    $("empty-text").textContent = "Waiting for the first snapshot…";
    clear.hidden = true;
  } else if (store.nodes.size === 0) {
    empty.hidden = false;
    $("empty-text").textContent = "No Docker daemon has been seen yet.";
    clear.hidden = true;
  } else if (matched === 0 && filters.userActive) {
    empty.hidden = false;
    $("empty-text").textContent = "Nothing matches these filters.";
    clear.hidden = false;
  } else if (matched === 0) {
    empty.hidden = false;
    $("empty-text").textContent = "Nothing in this dashboard's scope is on the map.";
    clear.hidden = true;
  } else {
    empty.hidden = true;
  }
}

// --- Controls ---------------------------------------------------------------------------------

/** The toolbar, menus, keys and taps of the full page (a wall screen has none). */
function wireControls() {
  view.cy.on("tap", "node", (event) => {
    const node = event.target;
    const pin = ["socket", "ports"].includes(node.data("kind"));
    select(pin ? node.data("owner") : node.id());
  });
  view.cy.on("tap", (event) => {
    if (event.target === view.cy) select(null);
  });

  for (const button of document.querySelectorAll("#layers [data-layer]")) {
    button.setAttribute("aria-pressed", String(layers.includes(button.dataset.layer)));
    button.addEventListener("click", () => chooseLayers(toggleLayer(layers, button.dataset.layer)));
  }

  layoutSelect.addEventListener("change", () => {
    setParam("layout", layoutSelect.value === "nested" ? "" : layoutSelect.value);
    view.runLayout(layoutSelect.value);
  });
  $("relayout").addEventListener("click", () => view.runLayout(layoutSelect.value));
  $("fit").addEventListener("click", () => view.viewport.fit());
  $("zoom-in").addEventListener("click", () => view.viewport.zoomBy(1.25));
  $("zoom-out").addEventListener("click", () => view.viewport.zoomBy(0.8));
  $("retry-now").addEventListener("click", () => connection.retryNow());
  $("empty-clear").addEventListener("click", () => filters.clear());
  $("highlight-clear").addEventListener("click", () => clearHighlight());
  const colourBy = $("colour-by");
  const showColourLegend = () => {
    const metric = colourBy.value;
    $("legend-heat").hidden = !metric;
    $("legend-heat-title").textContent = metric === "cpu" ? "Colour by CPU" : "Colour by memory";
    $("legend-heat-of").textContent = metric === "cpu" ? "of one core" : "of its limit (or the engine's memory)";
  };
  colourBy.value = ["cpu", "mem"].includes(params.get("colour")) ? params.get("colour") : "";
  meters.setColourBy(colourBy.value);
  showColourLegend();
  colourBy.addEventListener("change", () => {
    setParam("colour", colourBy.value);
    meters.setColourBy(colourBy.value);
    showColourLegend();
  });

  const exportButton = $("export-button");
  const exportMenu = $("export-menu");
  function toggleExportMenu(open) {
    exportMenu.hidden = !open;
    exportButton.setAttribute("aria-expanded", String(open));
  }
  exportButton.addEventListener("click", (event) => {
    event.stopPropagation();
    toggleExportMenu(exportMenu.hidden);
  });
  document.addEventListener("click", (event) => {
    if (!exportMenu.hidden && !exportMenu.contains(event.target)) toggleExportMenu(false);
  });
  exportMenu.addEventListener("click", async (event) => {
    const choice = event.target.closest("[data-export]")?.dataset.export;
    if (!choice) return;
    toggleExportMenu(false);
    try {
      if (choice === "png") await exportPng(view.cy, store.version);
      else if (choice === "svg") exportSvg(view.cy, store.version);
      else if (choice === "json") exportJson(shown, isShown);
      else if (choice === "dot") await exportDot(config.dotUrl, store.version);
    } catch (error) {
      console.error("topology: export failed", error);
      window.alert(`The export failed: ${error.message}`);
    }
  });

  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, select, textarea");
    if (event.key === "/" && !typing) {
      event.preventDefault();
      $("search").focus();
    } else if (event.key === "Escape") {
      if (!exportMenu.hidden) toggleExportMenu(false);
      else if (typing) event.target.blur();
      else if (details.open) select(null);
      else if (highlighter.active) clearHighlight();
    }
  });
}

if (!kiosk) wireControls();
fillIcons(document);
refreshVisibility();
connection.start();

view.detail.hooks.busy = () => filters.userActive || highlighter.active;
view.detail.onRestored(() => filters.apply(view.cy, shown));

// A handle for the browser tests and benchmarks (and the console).
window.topology = { cy: view.cy, store, shown, view, filters, connection, timings, highlighter, layers: () => layers, book, watch, insight, meters };
