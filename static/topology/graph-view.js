// The Cytoscape picture of the graph (the store's, or the part of it a dashboard's scope holds):
// applies changes in place and runs the layouts.

import { nestedGrid, placeArrivals } from "./layout.js";
import { BUS_HEIGHT, busBands, busRoute } from "./network-layout.js";
import { attachmentsAround, graphLinks, portPinId, rerouteBuses } from "./network-view.js";
import { boxLabelFont, displayLabel, LEAF_HEIGHT, LEAF_WIDTH, stylesheet } from "./style.js";

const ARRIVAL_HIGHLIGHT_MS = 1600;
/**
 * Cytoscape draws a leaf's 11px text only above zoom 0.5 (times the pixel ratio: it rounds the
 * zoom up to a power of two and draws text from 6px on), on screen and in exports alike. Quiet
 * leaves (see `revealLabels`) get their text a little before that.
 */
const LABELS_FROM_ZOOM = 0.45;
const REVEAL_DELAY_MS = 60;
const REVEAL_MARGIN = 0.25; // of the view's size, on each side
const MAX_FIT_ZOOM = 1.1; // a small graph is not blown up to fill a wall

export const LAYOUTS = {
  nested: "Nested grid",
  hierarchical: "Hierarchical",
  force: "Force-directed",
};

/** The node a DooD edge ends at: the daemon's socket, drawn inside the daemon's box. */
export function socketPinId(daemonId) {
  return `socket-pin:${daemonId}`;
}

/** Which exposure badge a container wears: "public", "socket", "both" or none. */
function exposureBadge(node) {
  const exposure = Array.isArray(node.exposure) ? node.exposure : [];
  const publicPort = exposure.includes("public");
  const socket = exposure.includes("socket");
  if (publicPort && socket) return "both";
  return publicPort ? "public" : socket ? "socket" : undefined;
}

/**
 * Compute the style of a freshly built graph in one pass. Once a graph has compound nodes,
 * Cytoscape clears the style cache of every ancestor and descendant for each property it
 * applies to an element: for thousands of new elements that is most of the first render. And
 * each property applied runs its triggers (clear the element's caches and its edges', mark
 * bounds and z-order stale), a few dozen times per element. Nothing derived from an element's
 * style can be cached before that style is first computed, so for new elements all of that is
 * skipped; compound bounds and the drawing order are marked stale once afterwards.
 */
function styleFreshGraph(cy) {
  const style = cy.style();
  cy.startBatch(); // the renderer hears of the new bounds once, not once per property
  cy.hasCompoundNodes = () => false;
  style.checkTriggers = () => {};
  try {
    cy.elements().forEach((element) => element.pstyle("display"));
  } finally {
    delete style.checkTriggers; // the prototype's own methods again
    delete cy.hasCompoundNodes;
    cy.notify("zorder");
    cy.endBatch();
  }
  cy.nodes().dirtyCompoundBoundsCache(true);
}

/**
 * End a batch without restyling whole boxes. When a child joins a box, Cytoscape restyles the
 * box and, for selectors that look at ancestors or descendants, everything inside it: hundreds of
 * nodes for one new container. No rule of this stylesheet looks beyond a node's own children,
 * so restyling what the batch touched (the box included) is enough.
 */
export function endBatchShallow(cy) {
  cy.hasCompoundNodes = () => false;
  try {
    cy.endBatch();
  } finally {
    delete cy.hasCompoundNodes; // the prototype's own method again
  }
}

/** Parents before their children, whatever order the nodes came in. */
function parentsFirst(nodes, known) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const ordered = [];
  const done = new Set();
  const visit = (node, trail) => {
    if (done.has(node.id) || trail.has(node.id)) return;
    trail.add(node.id);
    const parent = node.parent && byId.get(node.parent);
    if (parent && !known(parent.id)) visit(parent, trail);
    done.add(node.id);
    ordered.push(node);
  };
  for (const node of nodes) visit(node, new Set());
  return ordered;
}

/** Mark the leaves among elements about to be added as quiet (see `GraphView.revealLabels`). */
function quietLeaves(additions) {
  const parents = new Set();
  for (const { data } of additions) if (data.parent) parents.add(data.parent);
  for (const { data } of additions) if (!parents.has(data.id)) data.quiet = true;
}

/** Widths of box labels, measured as Cytoscape will draw them (cached by font and text). */
function labelMeasurer() {
  const context = document.createElement("canvas").getContext("2d");
  const widths = new Map();
  return (node) => {
    if (!node || !node.kind) return 0;
    const font = boxLabelFont(node);
    const text = displayLabel(node, true);
    const key = `${font}|${text}`;
    if (!widths.has(key)) {
      context.font = font;
      widths.set(key, context.measureText(text).width);
    }
    return widths.get(key);
  };
}

export class GraphView {
  /**
   * @param {HTMLElement} container
   * @param {import("./store.js").GraphReads} graph  what is drawn: the store, or a scoped part
   *   of it (see `ScopedGraph`); the changes given to `apply` are this graph's
   */
  constructor(container, graph) {
    this.graph = graph;
    this.layoutName = "nested";
    this.laidOut = false;
    this.gridBounds = null;
    this.labelWidth = labelMeasurer();
    this.revealTimer = null;
    this.quietLeft = false; // whether some leaves may still be quiet
    /** Rectangles over the graph (view pixels, like getBoundingClientRect) that fits avoid. */
    this.overlays = () => [];
    /** How far a fit may zoom in (a wall screen blows a small graph up more). */
    this.maxFitZoom = MAX_FIT_ZOOM;
    this.cy = window.cytoscape({
      container,
      style: stylesheet(),
      elements: [],
      minZoom: 0.05,
      maxZoom: 3,
      boxSelectionEnabled: false,
      selectionType: "single",
      pixelRatio: "auto",
    });
    this.cy.on("viewport", () => this.scheduleReveal());
    // A dragged node (or box) takes its attachment lines along.
    this.cy.on("drag", "node", (event) => rerouteBuses(this.cy, attachmentsAround(event.target)));
  }

  /** Whether leaf text can be drawn at `zoom`. */
  labelsReadableAt(zoom) {
    return zoom * (window.devicePixelRatio || 1) > LABELS_FROM_ZOOM;
  }

  scheduleReveal() {
    if (this.revealTimer !== null) return;
    this.revealTimer = setTimeout(() => {
      this.revealTimer = null;
      this.revealLabels();
    }, REVEAL_DELAY_MS);
  }

  /**
   * Give their text back to the quiet leaves in and around the view, once text can be read.
   * A large first snapshot is shown from far away, where no leaf text is drawn: its leaves are
   * added quiet (data `quiet`: no label and no text properties), which spares Cytoscape styling,
   * wrapping, measuring and placing thousands of labels before the first frame.
   */
  revealLabels() {
    const cy = this.cy;
    if (!this.quietLeft || !this.labelsReadableAt(cy.zoom())) return;
    const quiet = cy.nodes("[?quiet]");
    this.quietLeft = quiet.nonempty();
    if (!this.quietLeft) return;
    const view = cy.extent();
    const [marginX, marginY] = [view.w * REVEAL_MARGIN, view.h * REVEAL_MARGIN];
    const near = quiet.filter((node) => {
      const at = node.position();
      return at.x > view.x1 - marginX && at.x < view.x2 + marginX && at.y > view.y1 - marginY && at.y < view.y2 + marginY;
    });
    if (near.empty()) return;
    cy.startBatch();
    try {
      near.data("quiet", false); // (removeData would not restyle them)
    } finally {
      endBatchShallow(cy);
    }
  }

  nodeData(node) {
    const data = { ...node, display: displayLabel(node, false) };
    delete data.parent;
    if (node.kind === "container") data.exposed = exposureBadge(node);
    else if (node.kind === "network") data.busWidth = this.cy.getElementById(node.id).data("busWidth") || LEAF_WIDTH;
    return data;
  }

  /**
   * Edge data for Cytoscape. A socket edge ends at the daemon's socket pin, a published-port
   * path at the ports pin of the box it reaches: Cytoscape draws an edge from a node to a box
   * around it only as a loop outside the box. `daemon` (or `box`) keeps the contract's target.
   */
  edgeData(edge) {
    if (edge.kind === "publishes") {
      const ports = (edge.ports || []).map((port) => `${port.ip || "*"}:${port.public} → ${port.private}/${port.protocol || "tcp"}`);
      return { ...edge, box: edge.target, target: portPinId(edge.target), portsLabel: ports.join(", ") };
    }
    if (edge.kind === "network") return { ...edge, builtin: Boolean(this.graph.nodes.get(edge.target)?.builtin) };
    if (edge.kind === "mount") return { ...edge, mountLabel: edge.read_only ? "read-only" : "" };
    if (edge.kind !== "socket") return { ...edge };
    return { ...edge, daemon: edge.target, target: socketPinId(edge.target) };
  }

  /** The contract node for `id`, or the data of a view-only node (a socket pin). */
  nodeOf(id) {
    return this.graph.nodes.get(id) || this.cy.getElementById(id).data();
  }

  /**
   * The data of the pins edges end at, by the box that holds each: the socket pin of each daemon
   * a DooD edge reaches, the ports pin of each box (host, DinD container) a published-port path
   * reaches. `owner` is that box.
   */
  wantedPins(boxExists) {
    const pins = new Map();
    for (const edge of this.graph.edges.values()) {
      if (!["socket", "publishes"].includes(edge.kind) || !boxExists(edge.target)) continue;
      const id = edge.kind === "socket" ? socketPinId(edge.target) : portPinId(edge.target);
      if (pins.has(id)) continue;
      const box = this.graph.nodes.get(edge.target);
      const data =
        edge.kind === "socket"
          ? { id, kind: "socket", daemon: edge.target, owner: edge.target, label: "Docker socket", endpoint: box?.endpoint || "" }
          : { id, kind: "ports", owner: edge.target, label: "Published ports" };
      data.display = displayLabel(data);
      pins.set(id, data);
    }
    return pins;
  }

  /** One pin in each box that an edge of its kind reaches; none elsewhere. */
  syncSocketPins(arrived) {
    const cy = this.cy;
    const wanted = this.wantedPins((id) => cy.getElementById(id).nonempty());
    cy.nodes('[kind = "socket"], [kind = "ports"]').forEach((pin) => {
      if (!wanted.has(pin.id())) pin.remove();
    });
    const additions = [];
    for (const data of wanted.values()) {
      const pin = cy.getElementById(data.id);
      if (pin.empty()) {
        additions.push({ group: "nodes", data: { ...data, parent: data.owner } });
        arrived.push(data.id);
      } else if (pin.data("display") !== data.display) {
        pin.data(data);
      }
    }
    if (additions.length) cy.add(additions);
  }

  /**
   * Apply a change of the graph to the picture. Only what changed is touched; arrivals are placed
   * next to their siblings. The first change of all gets a full layout.
   *
   * @returns {string[]} the ids of the nodes that arrived
   */
  apply(change) {
    const cy = this.cy;
    const graph = this.graph;
    const initial = !this.laidOut;
    const arrived = [];
    const touched = new Set();
    const exists = (id) => cy.getElementById(id).nonempty();
    const hasChildren = new Set();
    for (const node of graph.nodes.values()) if (node.parent) hasChildren.add(node.parent);
    const label = (node) => displayLabel(node, hasChildren.has(node.id));

    let moved = false;
    let initialViewport = null;
    let routes = null; // attachment routes known before anything is drawn
    cy.startBatch();
    try {
      for (const id of change.removedEdges) cy.getElementById(id).remove();
      const removed = new Set(change.removedNodes);
      for (const id of change.removedNodes) {
        const element = cy.getElementById(id);
        if (element.empty()) continue;
        // Keep children that survive (they were moved elsewhere in the same change).
        element.children().forEach((child) => {
          if (!removed.has(child.id()) && graph.nodes.has(child.id())) {
            const next = graph.nodes.get(child.id())?.parent;
            child.move({ parent: next && next !== id && exists(next) ? next : null });
          }
        });
        if (element.parent().nonempty()) touched.add(element.parent().id());
        element.remove();
      }

      const additions = [];
      const adding = new Set();
      const updates = [];
      for (const node of change.updatedNodes) {
        if (exists(node.id)) updates.push(node);
        else change.addedNodes.push(node);
      }
      for (const node of parentsFirst(change.addedNodes, exists)) {
        if (exists(node.id) || adding.has(node.id)) continue;
        const parent = node.parent && (adding.has(node.parent) || exists(node.parent)) ? node.parent : undefined;
        additions.push({ group: "nodes", data: { ...this.nodeData(node), display: label(node), parent } });
        adding.add(node.id);
        arrived.push(node.id);
        if (parent) touched.add(parent);
      }
      if (initial && this.layoutName === "nested") {
        // Place everything before adding it: setting positions afterwards costs an event each.
        for (const data of this.wantedPins((id) => adding.has(id)).values()) {
          additions.push({ group: "nodes", data: { ...data, parent: data.owner } });
        }
        this.gridBounds = this.placeAll(additions);
        routes = this.plannedRoutes(additions, change.addedEdges);
        // The grid knows its own extent: fitting to it spares measuring every node.
        initialViewport = this.viewportFor(this.gridBounds);
        this.quietLeft = !this.labelsReadableAt(initialViewport.zoom);
        if (this.quietLeft) quietLeaves(additions);
      }
      if (additions.length) cy.add(additions);

      for (const node of updates) {
        const element = cy.getElementById(node.id);
        const wantedParent = node.parent && exists(node.parent) ? node.parent : null;
        const currentParent = element.parent().nonempty() ? element.parent().id() : null;
        if (wantedParent !== currentParent) {
          if (currentParent) touched.add(currentParent);
          element.move({ parent: wantedParent });
          moved = true;
          arrived.push(node.id);
          if (wantedParent) touched.add(wantedParent);
        }
        element.data({ ...this.nodeData(node), display: label(node) });
      }

      this.syncSocketPins(arrived);
      const edgeAdditions = [];
      for (const edge of [...change.addedEdges, ...change.updatedEdges]) {
        const data = this.edgeData(edge);
        if (!exists(data.source) || !exists(data.target)) continue;
        const element = cy.getElementById(edge.id);
        const route = routes?.get(edge.id);
        if (route && element.empty()) {
          const [segW, segD] = [route.weights, route.distances];
          edgeAdditions.push({ group: "edges", data: { ...data, segW, segD, sourceEnd: route.sourceEnd, busEnd: route.busEnd }, classes: "routed" });
        } else if (element.empty()) edgeAdditions.push({ group: "edges", data });
        else if (element.data("source") !== data.source || element.data("target") !== data.target) {
          element.remove();
          edgeAdditions.push({ group: "edges", data });
        } else element.data(data);
      }
      if (edgeAdditions.length) cy.add(edgeAdditions);
      if (!initial) {
        const around = cy.collection(arrived.map((id) => cy.getElementById(id)));
        this.rerouteLater = attachmentsAround(around).union(
          cy.collection(edgeAdditions.map(({ data }) => cy.getElementById(data.id))),
        );
      }

      // A node's text depends on whether it is drawn as a box (has children) or not.
      for (const id of touched) {
        const node = graph.nodes.get(id);
        const element = cy.getElementById(id);
        if (!node || element.empty()) continue;
        // Setting data restyles a box and everything in it: only when the text changes.
        const text = label(node);
        if (element.data("display") !== text) element.data("display", text);
      }

      if (!initial && arrived.length) {
        placeArrivals(cy, arrived, (id) => this.nodeOf(id), this.labelWidth);
      }
    } finally {
      // A node that changed boxes needs Cytoscape's full bookkeeping; anything else the short one
      // (on the first change every element is new, so nothing is left out either).
      if (moved) cy.endBatch();
      else endBatchShallow(cy);
    }

    if (initial && cy.nodes().nonempty()) {
      this.laidOut = true;
      styleFreshGraph(cy);
      if (initialViewport) {
        this.cy.viewport(initialViewport);
        // Lines out of boxes (DinD containers) follow once the boxes have been drawn.
        requestAnimationFrame(() =>
          rerouteBuses(cy, cy.edges('[kind = "network"]').filter((edge) => edge.source().isParent())),
        );
      } else this.runLayout(this.layoutName, { animate: false });
    } else if (!initial) {
      if (this.rerouteLater) rerouteBuses(cy, this.rerouteLater);
      if (arrived.length) this.highlight(arrived);
    }
    this.rerouteLater = null;
    return arrived;
  }

  /**
   * The bus routes of attachment edges whose ends are both leaves about to be added, from where
   * the grid put them (edges out of a box are routed once the box is drawn).
   */
  plannedRoutes(additions, edges) {
    const placed = new Map();
    const parents = new Set();
    for (const { data, position } of additions) {
      if (position) placed.set(data.id, { data, position });
      if (data.parent) parents.add(data.parent);
    }
    const routes = new Map();
    for (const edge of edges) {
      if (edge.kind !== "network" || parents.has(edge.source)) continue;
      const source = placed.get(edge.source);
      const bus = placed.get(edge.target);
      if (!source || !bus) continue;
      const route = busRoute(
        { ...source.position, w: LEAF_WIDTH, h: LEAF_HEIGHT },
        { ...bus.position, w: bus.data.busWidth || LEAF_WIDTH, h: BUS_HEIGHT },
      );
      if (route) routes.set(edge.id, route);
    }
    return routes;
  }

  /** The nested grid's options for the graph drawn: networks as buses in their boxes. */
  gridOptions() {
    return { bands: busBands(graphLinks(this.graph)) };
  }

  /**
   * The part of the graph to fit: visible nodes, measured without their labels (measuring
   * thousands of labels costs seconds; the padding leaves room for them).
   */
  visibleBounds() {
    const visible = this.cy.nodes(":visible");
    const nodes = visible.nonempty() ? visible : this.cy.nodes();
    return nodes.boundingBox({ includeLabels: false, includeOverlays: false, includeUnderlays: false });
  }

  /**
   * Zoom and pan so that `bounds` (model coordinates) fills the view, clear of the overlays:
   * `this.overlays()` gives the rectangles (in view pixels) to keep clear, such as the legend;
   * the graph goes beside or above each, whichever leaves it bigger.
   */
  viewportFor(bounds, padding = 32) {
    const cy = this.cy;
    const width = Math.max(bounds.x2 - bounds.x1, 1);
    const height = Math.max(bounds.y2 - bounds.y1, 1);
    const base = { left: padding, right: padding, top: padding + 44, bottom: padding + 16 };
    let choices = [base];
    for (const box of this.overlays()) {
      const beside = (insets) =>
        box.left + box.right < cy.width()
          ? { ...insets, left: Math.max(insets.left, box.right + padding) }
          : { ...insets, right: Math.max(insets.right, cy.width() - box.left + padding) };
      const above = (insets) => ({ ...insets, bottom: Math.max(insets.bottom, cy.height() - box.top + padding) });
      const below = (insets) => ({ ...insets, top: Math.max(insets.top, box.bottom + padding) });
      choices = [...choices.map(beside), ...choices.map(above), ...choices.map(below)];
    }
    let best = null;
    for (const insets of choices) {
      const room = { w: cy.width() - insets.left - insets.right, h: cy.height() - insets.top - insets.bottom };
      if (room.w < 80 || room.h < 80) continue;
      const zoom = Math.min(this.maxFitZoom, Math.max(cy.minZoom(), Math.min(room.w / width, room.h / height)));
      if (!best || zoom > best.zoom) {
        const pan = {
          x: insets.left + (room.w - zoom * width) / 2 - zoom * bounds.x1,
          y: insets.top + (room.h - zoom * height) / 2 - zoom * bounds.y1,
        };
        best = { zoom, pan };
      }
    }
    return best || { zoom: cy.zoom(), pan: cy.pan() };
  }

  fitNow() {
    this.cy.viewport(this.viewportFor(this.visibleBounds()));
  }

  /** Give the nested grid's positions to elements about to be added; returns its extent. */
  placeAll(additions) {
    const children = new Map();
    const byId = new Map();
    const roots = [];
    for (const { data } of additions) {
      byId.set(data.id, data);
      if (!data.parent) roots.push(data.id);
      else if (children.has(data.parent)) children.get(data.parent).push(data.id);
      else children.set(data.parent, [data.id]);
    }
    const grid = nestedGrid(roots, (id) => children.get(id) || [], (id) => byId.get(id), this.labelWidth, this.gridOptions());
    for (const addition of additions) {
      const at = grid.positions.get(addition.data.id);
      if (at) addition.position = at;
      const size = grid.sizes.get(addition.data.id);
      if (size) addition.data.busWidth = size.w;
    }
    return { x1: 0, y1: 0, x2: grid.width, y2: grid.height };
  }

  /** Mark arrivals for a moment (a class of their own: their boxes need no new style). */
  highlight(ids) {
    const cy = this.cy;
    const nodes = cy.collection(ids.map((id) => cy.getElementById(id)));
    const mark = (on) => {
      cy.startBatch();
      try {
        nodes.filter((node) => node.inside()).toggleClass("arrived", on);
      } finally {
        endBatchShallow(cy);
      }
    };
    mark(true);
    setTimeout(() => mark(false), ARRIVAL_HIGHLIGHT_MS);
  }

  applyNestedGrid(animate = false) {
    const cy = this.cy;
    const roots = cy.nodes().orphans().map((node) => node.id());
    const childrenOf = (id) => cy.getElementById(id).children().map((child) => child.id());
    const grid = nestedGrid(roots, childrenOf, (id) => this.nodeOf(id), this.labelWidth, this.gridOptions());
    const { positions, width, height } = grid;
    const bounds = { x1: 0, y1: 0, x2: width, y2: height };
    this.sizeBuses(grid.sizes);
    if (!animate) {
      cy.nodes()
        .filter((node) => positions.has(node.id()))
        .positions((node) => positions.get(node.id()));
      rerouteBuses(cy, cy.edges());
      return bounds;
    }
    this.unrouteBuses();
    cy.layout({
      name: "preset",
      positions: (node) => positions.get(node.id()) || node.position(),
      animate: true,
      animationDuration: 450,
      fit: false,
      stop: () => {
        rerouteBuses(cy, cy.edges());
        this.fit();
      },
    }).run();
    return bounds;
  }

  /** Buses as wide as the nested grid made them (`sizes`), or as a leaf for other layouts. */
  sizeBuses(sizes = new Map()) {
    const cy = this.cy;
    cy.startBatch();
    try {
      cy.nodes('[kind = "network"]').forEach((bus) => {
        const width = sizes.get(bus.id())?.w || LEAF_WIDTH;
        if (bus.data("busWidth") !== width) bus.data("busWidth", width);
      });
    } finally {
      cy.endBatch();
    }
  }

  /** Draw attachment edges straight (while nodes move under a layout). */
  unrouteBuses() {
    this.cy.edges(".routed").removeClass("routed");
  }

  /** Lay the whole graph out again with `name` (nested, hierarchical or force). */
  runLayout(name, { animate = true } = {}) {
    this.layoutName = name in LAYOUTS ? name : "nested";
    const cy = this.cy;
    if (cy.nodes().empty()) return;
    if (this.layoutName === "nested") {
      this.applyNestedGrid(animate);
      if (!animate) this.fitNow();
      return;
    }
    this.sizeBuses();
    this.unrouteBuses();
    const common = {
      animate,
      animationDuration: 500,
      fit: false,
      stop: () => {
        rerouteBuses(cy, cy.edges());
        if (animate) this.fit();
        else this.fitNow();
      },
    };
    const options =
      this.layoutName === "hierarchical"
        ? { name: "dagre", rankDir: "TB", nodeSep: 18, rankSep: 60, edgeSep: 12, ...common }
        : {
            name: "fcose",
            quality: "default",
            randomize: false,
            nodeSeparation: 40,
            idealEdgeLength: 90,
            nodeRepulsion: 6500,
            nestingFactor: 0.15,
            gravityCompound: 1.2,
            tile: true,
            tilingPaddingVertical: 14,
            tilingPaddingHorizontal: 14,
            packComponents: true,
            ...common,
          };
    cy.layout(options).run();
  }

  fit() {
    this.cy.animate({ ...this.viewportFor(this.visibleBounds()), duration: 300 });
  }

  zoomBy(factor) {
    const cy = this.cy;
    const centre = { x: cy.width() / 2, y: cy.height() / 2 };
    cy.animate({ zoom: { level: cy.zoom() * factor, renderedPosition: centre }, duration: 150 });
  }

  centerOn(id) {
    const node = this.cy.getElementById(id);
    if (node.nonempty() && node.visible()) {
      const zoom = Math.max(this.cy.zoom(), 0.8);
      this.cy.animate({ center: { eles: node }, zoom, duration: 300 });
    }
  }

  select(id) {
    this.cy.$(":selected").unselect();
    if (id) this.cy.getElementById(id).select();
  }

  /** Where each leaf is drawn (boxes are drawn around their leaves): {id: {x, y}}, rounded. */
  leafPositions() {
    const positions = {};
    this.cy.nodes().forEach((node) => {
      if (node.isParent()) return;
      const { x, y } = node.position();
      positions[node.id()] = { x: Math.round(x), y: Math.round(y) };
    });
    return positions;
  }

  /**
   * Put the leaves named in `positions` ({id: {x, y}}) there; boxes follow their leaves. With
   * `lock`, layouts and dragging leave them there. Nodes not named keep their places.
   *
   * @returns {string[]} the ids placed
   */
  pinPositions(positions, { lock = false } = {}) {
    const cy = this.cy;
    const placed = [];
    cy.startBatch();
    try {
      for (const [id, at] of Object.entries(positions || {})) {
        const node = cy.getElementById(id);
        if (node.empty() || node.isParent() || !Number.isFinite(at?.x) || !Number.isFinite(at?.y)) continue;
        node.unlock().position({ x: at.x, y: at.y });
        if (lock) node.lock();
        placed.push(id);
      }
    } finally {
      cy.endBatch();
    }
    return placed;
  }
}
