// Level of detail for large maps. Seen from far, with thousands of leaves, each daemon on a host
// is drawn as one summary box (its counts) where its containers would be; zooming in gives back
// the containers of the daemons in and around the view, and those far from it are summarised
// again. Drawing 20,000 elements costs seconds a frame in a browser without a GPU; a few hundred
// summaries and the boxes in view cost milliseconds. Small maps are never summarised, nor a map
// being filtered, searched, highlighted or laid out anew (`busy`).
//
// A summarised daemon keeps its place and size: its box holds one summary node as large as its
// contents were. Its contents (nodes and their edges) are taken out of Cytoscape and kept aside.
// A change that happens all inside one summarised daemon waits with them (its summary counts it
// at once) and is applied, in order, when they are given back; any other change that touches
// them gives them back, is applied as usual, and they are summarised again.

export const SUMMARY_FROM_LEAVES = 3000;
export const SUMMARISE_BELOW_ZOOM = 0.38;
export const EXPAND_FROM_ZOOM = 0.45;
const SETTLE_MS = 90;
const NEAR_VIEW = 0.1; // of the view's size, on each side
const SUMMARY_KIND = "summary";

/** The stylesheet's rule for summaries: as large as the contents they stand for. */
export const SUMMARY_STYLE = {
  selector: `node[kind = "${SUMMARY_KIND}"]`,
  style: {
    shape: "round-rectangle",
    width: "data(summaryWidth)",
    height: "data(summaryHeight)",
    "background-color": "#17222e",
    "background-image": "none",
    "border-width": 0,
    label: "data(display)",
    color: "#9fb3c8",
    "font-size": "data(summaryFont)",
    "text-valign": "center",
    "text-halign": "center",
    "text-margin-x": 0,
    "text-wrap": "wrap",
    "text-max-width": "data(summaryTextWidth)",
    "font-weight": 600,
    "min-zoomed-font-size": 0,
    "transition-property": "none",
    events: "no",
  },
};

/**
 * Whether a daemon is to be summarised: only maps of at least `SUMMARY_FROM_LEAVES` leaves;
 * below `SUMMARISE_BELOW_ZOOM` every daemon, from `EXPAND_FROM_ZOOM` those not near the view;
 * in between each stays as it is (no flicker at the threshold).
 *
 * @returns {boolean|null} true: summarise, false: expand, null: leave as it is
 */
export function wantsSummary({ leaves, zoom, near, busy = false }) {
  if (busy || leaves < SUMMARY_FROM_LEAVES) return false;
  if (zoom < SUMMARISE_BELOW_ZOOM) return true;
  if (zoom >= EXPAND_FROM_ZOOM) return !near;
  return null;
}

/** What a daemon holds, counted from contract nodes (its descendants, any order). */
export function summaryCounts(nodes) {
  const counts = { containers: 0, running: 0, dind: 0, dood: 0, networks: 0, daemons: 0 };
  for (const node of nodes) {
    if (node.kind === "container") {
      counts.containers += 1;
      if (node.status === "running") counts.running += 1;
      if (node.role === "dind") counts.dind += 1;
      if (node.role === "dood") counts.dood += 1;
    } else if (node.kind === "network") counts.networks += 1;
    else if (node.kind === "daemon") counts.daemons += 1;
  }
  return counts;
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** The text of a summary box: short lines, to be read from far (where box titles are not
 * drawn): what it is (`title`), then its counts. */
export function summaryText(counts, title = "") {
  const lines = title ? [title, plural(counts.containers, "container")] : [plural(counts.containers, "container")];
  const kinds = [counts.running === counts.containers ? "all running" : `${counts.running} running`];
  if (counts.dind) kinds.push(`${counts.dind} DinD`);
  if (counts.dood) kinds.push(`${counts.dood} DooD`);
  lines.push(kinds.join(" · "));
  const more = [];
  if (counts.networks) more.push(plural(counts.networks, "network"));
  if (counts.daemons) more.push(plural(counts.daemons, "nested daemon"));
  if (more.length) lines.push(more.join(" · "));
  return lines.join("\n");
}

/** A font size that reads from far and keeps the longest line inside the box. */
export function summaryFontSize(box) {
  return Math.round(Math.max(24, Math.min(box.w / 18, box.h / 6, 400)));
}

/** The name a summary goes by: its host's, and the daemon's when the host has several. */
export function summaryTitle(daemon, host, daemonsOnHost = 1) {
  const hostName = host?.label || "";
  if (!daemon) return hostName;
  return daemonsOnHost > 1 || !hostName ? [hostName, daemon.label].filter(Boolean).join(" · ") : hostName;
}

/** The daemons that summaries stand for: those directly on a host (nested ones go with them). */
function summarisable(cy) {
  return cy.nodes('[kind = "daemon"]').filter((daemon) => daemon.parent().data("kind") === "host");
}

export class DetailLevel {
  /**
   * @param {object} cy
   * @param {{graph: import("./store.js").GraphReads, busy?: () => boolean,
   *          applyDeferred?: (change: object) => void}} hooks  `busy`: summaries are not
   *   wanted now (a filter, a highlight); `applyDeferred`: apply a change that waited
   */
  constructor(cy, hooks) {
    this.cy = cy;
    this.hooks = { busy: () => false, applyDeferred: () => {}, ...hooks };
    this.enabled = new URLSearchParams(globalThis.location?.search || "").get("detail") !== "full";
    /** daemon id -> {nodes, edges}: what its summary stands for (Cytoscape collections). */
    this.kept = new Map();
    /** node id -> the daemon whose summary stands for it. */
    this.keptIds = new Map();
    /** Edges added while one of their ends was summarised: drawn once both ends are. */
    this.waitingEdges = new Map();
    this.restoredListeners = [];
    /** daemon id -> the changes that wait for its contents, oldest first. */
    this.deferred = new Map();
    this.leaves = 0;
    this.timer = null;
    cy.on("viewport", () => this.schedule());
  }

  get active() {
    return this.kept.size > 0;
  }

  isKept(id) {
    return this.keptIds.has(id);
  }

  /** Call `listener` whenever summarised nodes are drawn again (filters and quiet text follow). */
  onRestored(listener) {
    this.restoredListeners.push(listener);
  }

  /** An edge to draw once both its ends are (one is summarised now). */
  waitForEnds(data) {
    this.waitingEdges.set(data.id, data);
  }

  forgetEdge(id) {
    this.waitingEdges.delete(id);
  }

  schedule() {
    if (!this.enabled || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.update();
    }, SETTLE_MS);
  }

  /** Summarise or expand each daemon as the zoom and the view want. */
  update() {
    if (!this.enabled) return;
    const cy = this.cy;
    const leaves = this.countLeaves();
    const busy = this.hooks.busy();
    const view = cy.extent();
    const [mx, my] = [view.w * NEAR_VIEW, view.h * NEAR_VIEW];
    const near = (box) => box.x2 > view.x1 - mx && box.x1 < view.x2 + mx && box.y2 > view.y1 - my && box.y1 < view.y2 + my;
    const expand = [];
    const summarise = [];
    summarisable(cy).forEach((daemon) => {
      const summarised = this.kept.has(daemon.id());
      const box = daemon.boundingBox({ includeLabels: false, includeOverlays: false });
      const wanted = wantsSummary({ leaves, zoom: cy.zoom(), near: near(box), busy });
      if (wanted === true && !summarised) summarise.push(daemon);
      else if (wanted === false && summarised) expand.push(daemon.id());
    });
    if (expand.length) this.expand(expand);
    if (summarise.length) this.summarise(summarise);
  }

  /** Leaves on the map, kept ones included (what decides whether summaries are wanted at all). */
  countLeaves() {
    let leaves = 0;
    for (const node of this.hooks.graph.nodes.values()) if (node.kind === "container") leaves += 1;
    this.leaves = leaves;
    return leaves;
  }

  /** Take the contents of `daemons` out of the picture and draw a summary box instead. */
  summarise(daemons) {
    const cy = this.cy;
    cy.startBatch();
    try {
      for (const daemon of daemons) {
        const inside = daemon.descendants();
        if (inside.empty()) continue;
        const box = inside.boundingBox({ includeLabels: false, includeOverlays: false });
        const graph = this.hooks.graph;
        const counts = summaryCounts(inside.map((node) => graph.nodes.get(node.id()) || node.data()));
        const host = daemon.parent();
        const title = summaryTitle(graph.nodes.get(daemon.id()), graph.nodes.get(host.id()), host.children().length);
        const edges = inside.connectedEdges();
        this.kept.set(daemon.id(), { nodes: inside, edges });
        inside.forEach((node) => this.keptIds.set(node.id(), daemon.id()));
        cy.remove(inside); // and their edges
        cy.add({
          group: "nodes",
          data: {
            id: `${SUMMARY_KIND}:${daemon.id()}`,
            kind: SUMMARY_KIND,
            parent: daemon.id(),
            display: summaryText(counts, title),
            // (Cytoscape's bounds are a pixel larger on each side than the shapes they hold.)
            summaryWidth: Math.max(1, box.w - 2),
            summaryHeight: Math.max(1, box.h - 2),
            summaryFont: summaryFontSize(box),
            summaryTextWidth: Math.max(1, box.w * 0.92),
          },
          position: { x: (box.x1 + box.x2) / 2, y: (box.y1 + box.y2) / 2 },
        });
      }
    } finally {
      cy.endBatch();
    }
  }

  /** Give back the contents of `ids` (daemon ids; all when omitted). */
  expand(ids = [...this.kept.keys()]) {
    const cy = this.cy;
    const edges = [];
    cy.startBatch();
    try {
      for (const id of ids) {
        const kept = this.kept.get(id);
        if (!kept) continue;
        this.kept.delete(id);
        kept.nodes.forEach((node) => this.keptIds.delete(node.id()));
        cy.getElementById(`${SUMMARY_KIND}:${id}`).remove();
        kept.nodes.restore();
        edges.push(kept.edges);
      }
      // An edge comes back once both its ends are drawn (a DooD socket edge may cross daemons).
      for (const collection of edges) {
        collection.forEach((edge) => {
          if (edge.removed() && this.drawn(edge.data("source")) && this.drawn(edge.data("target"))) edge.restore();
        });
      }
      for (const { edges: waiting } of this.kept.values()) {
        waiting.forEach((edge) => {
          if (edge.removed() && this.drawn(edge.data("source")) && this.drawn(edge.data("target"))) edge.restore();
        });
      }
      const ready = [...this.waitingEdges.values()].filter((data) => this.drawn(data.source) && this.drawn(data.target));
      for (const data of ready) this.waitingEdges.delete(data.id);
      if (ready.length) cy.add(ready.map((data) => ({ group: "edges", data })));
    } finally {
      cy.endBatch();
    }
    for (const id of ids) {
      const waiting = this.deferred.get(id) || [];
      this.deferred.delete(id);
      for (const change of waiting) this.hooks.applyDeferred(change);
    }
    if (ids.length) for (const listener of this.restoredListeners) listener();
  }

  drawn(id) {
    const element = this.cy.getElementById(id);
    return element.nonempty() && !element.removed();
  }

  /** Give back the daemon that holds `id`, if it is summarised (it is to be selected, say). */
  reveal(id) {
    if (!id || !this.active || this.drawn(id)) return;
    const daemons = this.touchedBy({ addedNodes: [], updatedNodes: [], removedNodes: [id], addedEdges: [], updatedEdges: [], removedEdges: [] });
    this.expand(daemons);
  }

  /** The summarised daemon `id` is in (a node or a daemon itself), as far as the picture and
   * the graph say: a set, empty when none (or two when a node moved out of one). */
  daemonsOf(id) {
    const found = new Set();
    if (this.keptIds.has(id)) found.add(this.keptIds.get(id));
    if (this.kept.has(id)) found.add(id);
    for (const ancestor of this.hooks.graph.ancestors(id)) if (this.kept.has(ancestor.id)) found.add(ancestor.id);
    return found;
  }

  /**
   * Keep `change` (a store change) for later if all of it happens inside one summarised daemon:
   * nothing drawn is touched. Its summary is counted again. Returns whether it was kept.
   */
  defer(change) {
    if (!this.active) return false;
    const daemons = new Set();
    const ids = [
      ...change.addedNodes.map((node) => node.id),
      ...change.updatedNodes.map((node) => node.id),
      ...change.removedNodes,
    ];
    for (const id of ids) {
      const found = this.daemonsOf(id);
      if (found.size !== 1 || this.kept.has(id)) return false; // a daemon itself is drawn
      daemons.add([...found][0]);
    }
    for (const edge of [...change.addedEdges, ...change.updatedEdges]) {
      for (const end of [edge.source, edge.target]) {
        const found = this.daemonsOf(end);
        if (found.size !== 1) return false;
        daemons.add([...found][0]);
      }
    }
    for (const id of change.removedEdges) {
      const holder = [...this.kept].find(([, { edges }]) => edges.getElementById(id).nonempty());
      if (!holder) return false;
      daemons.add(holder[0]);
    }
    if (daemons.size !== 1) return false;
    const [daemon] = daemons;
    if (!this.deferred.has(daemon)) this.deferred.set(daemon, []);
    this.deferred.get(daemon).push(change);
    this.recount(daemon);
    return true;
  }

  /** The summary of `daemon` says what the graph holds in it now. */
  recount(daemon) {
    const graph = this.hooks.graph;
    const inside = [];
    for (const node of graph.nodes.values()) {
      if (node.parent && graph.ancestors(node.id).some((ancestor) => ancestor.id === daemon)) inside.push(node);
    }
    const summary = this.cy.getElementById(`${SUMMARY_KIND}:${daemon}`);
    const box = this.cy.getElementById(daemon);
    const host = box.parent();
    const title = summaryTitle(graph.nodes.get(daemon), graph.nodes.get(host.id()), host.children().length);
    summary.data("display", summaryText(summaryCounts(inside), title));
  }

  /** The summarised daemons that `change` (a store change) touches: their contents, or them. */
  touchedBy(change) {
    if (!this.active) return [];
    const graph = this.hooks.graph;
    const touched = new Set();
    const daemonOf = (id) => {
      if (this.keptIds.has(id)) return this.keptIds.get(id);
      for (const ancestor of graph.ancestors(id)) if (this.kept.has(ancestor.id)) return ancestor.id;
      return null;
    };
    const note = (id) => {
      const daemon = id && daemonOf(id);
      if (daemon) touched.add(daemon);
    };
    for (const node of [...change.addedNodes, ...change.updatedNodes]) note(node.id);
    for (const id of change.removedNodes) note(id);
    for (const edge of [...change.addedEdges, ...change.updatedEdges]) {
      note(edge.source);
      note(edge.target);
    }
    for (const id of change.removedEdges) {
      for (const [daemon, { edges }] of this.kept) if (edges.getElementById(id).nonempty()) touched.add(daemon);
    }
    return [...touched];
  }
}
