// The Cytoscape picture of the graph (the store's, or the part of it a dashboard's scope holds):
// applies changes in place, step by step, and runs the layouts. The viewport (viewport.js), node
// text (labels.js), pins (pins.js) and networks as buses (network-layout.js, network-view.js) are
// concerns of their own.

import { endBatchShallow, styleFreshGraph } from "./batches.js";
import { DetailLevel } from "./detail-level.js";
import { labelMeasurer, QuietLabels, textOf } from "./labels.js";
import { nestedGrid, placeArrivals, separateOverlaps } from "./layout.js";
import { BUS_HEIGHT, busBands, busRoute } from "./network-layout.js";
import {
  attachmentsAround,
  busTextWidth,
  connectivityEdgeData,
  exposureBadge,
  graphLinks,
  QuietLines,
  rerouteBuses,
} from "./network-view.js";
import { edgeData, syncSocketPins, wantedPins } from "./pins.js";
import { displayLabel, LEAF_HEIGHT, LEAF_WIDTH, stylesheet } from "./style.js";
import { Viewport } from "./viewport.js";

const ARRIVAL_HIGHLIGHT_MS = 1600;

export const LAYOUTS = {
  nested: "Nested grid",
  hierarchical: "Hierarchical",
  force: "Force-directed",
};

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

/**
 * What one `apply` has done so far, for the steps that follow: the nodes that arrived (new, or
 * in a new box), the boxes whose children changed, the boxes whose title changed (and with it,
 * maybe, their width), and whether a node changed boxes.
 */
class Pass {
  constructor(graph) {
    this.lines = null; // the edges added (their routes follow the arrivals)
    this.arrived = [];
    this.touched = new Set();
    this.retitled = [];
    this.moved = false;
    this.text = textOf(graph);
  }
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
    /** Whether any node may be locked (pinned for a viewer): moving apart leaves those alone. */
    this.locks = false;
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
    this.viewport = new Viewport(this.cy);
    this.labels = new QuietLabels(this.cy);
    this.lines = new QuietLines(this.cy);
    this.routes = null; // attachment routes planned with the first graph (see placeFirstGraph)
    /** Summaries of daemons on a large map seen from far (see detail-level.js). */
    this.detail = new DetailLevel(this.cy, { graph, applyDeferred: (change) => this.applyDrawn(change) });
    this.lines.kept = (id) => this.detail.isKept(id);
    // Leaves and lines given back may still wait for their text or to be drawn.
    this.detail.onRestored(() => {
      this.labels.left = true;
      this.labels.schedule();
      this.lines.schedule();
    });
    // A dragged node (or box) takes its attachment lines along.
    this.cy.on("drag", "node", (event) => rerouteBuses(this.cy, attachmentsAround(event.target)));
  }

  nodeData(node) {
    const data = { ...node, display: displayLabel(node, false) };
    delete data.parent;
    if (node.kind === "container") data.exposed = exposureBadge(node);
    else if (node.kind === "network") {
      data.busWidth = this.cy.getElementById(node.id).data("busWidth") || LEAF_WIDTH;
      data.textWidth = busTextWidth(data.busWidth);
    }
    return data;
  }

  /** The contract node for `id`, or the data of a view-only node (a socket pin). */
  nodeOf(id) {
    return this.graph.nodes.get(id) || this.cy.getElementById(id).data();
  }

  exists(id) {
    return this.cy.getElementById(id).nonempty();
  }

  /**
   * Apply a change of the graph to the picture. Only what changed is touched; arrivals are placed
   * next to their siblings. The first change of all gets a full layout.
   *
   * @returns {string[]} the ids of the nodes that arrived
   */
  apply(change) {
    if (this.laidOut && this.detail.defer(change)) return []; // drawn when its daemon is
    const summarised = this.detail.touchedBy(change);
    if (summarised.length) this.detail.expand(summarised);
    const arrived = this.applyDrawn(change);
    // Summarised again once the view settles, if it still wants them so (a frame later).
    if (summarised.length) this.detail.schedule();
    return arrived;
  }

  /** `apply`, once everything the change touches is drawn. */
  applyDrawn(change) {
    const cy = this.cy;
    const initial = !this.laidOut;
    const pass = new Pass(this.graph);
    let initialViewport = null;
    cy.startBatch();
    try {
      this.removeGone(change, pass);
      const updates = this.updatesOf(change);
      const additions = this.additionsOf(change.addedNodes, pass);
      if (initial && this.layoutName === "nested") initialViewport = this.placeFirstGraph(additions);
      if (additions.length) cy.add(additions);
      this.updateNodes(updates, pass);
      syncSocketPins(cy, this.graph, pass.arrived, (id) => this.detail.kept.has(id));
      const added = this.syncEdges([...change.addedEdges, ...change.updatedEdges], initial);
      this.retitleTouched(pass);
      if (!initial) this.placeLive(pass);
      pass.lines = added;
    } finally {
      // A node that changed boxes needs Cytoscape's full bookkeeping; anything else the short one
      // (on the first change every element is new, so nothing is left out either).
      if (pass.moved) cy.endBatch();
      else endBatchShallow(cy);
    }

    this.routes = null;
    if (initial && cy.nodes().nonempty()) {
      this.laidOut = true;
      styleFreshGraph(cy);
      if (initialViewport) {
        cy.viewport(initialViewport);
        this.detail.update(); // a large map seen from far: summaries before the first frame
        // Lines out of boxes (DinD containers) follow once the boxes have been drawn.
        requestAnimationFrame(() =>
          rerouteBuses(cy, cy.edges('[kind = "network"]').filter((edge) => edge.source().isParent())),
        );
      } else this.runLayout(this.layoutName, { animate: false });
    } else if (!initial) {
      // Arrivals were placed (and what they reached moved apart): the lines in their boxes follow.
      const arrivals = cy.collection(pass.arrived.map((id) => cy.getElementById(id)));
      rerouteBuses(cy, pass.lines.union(attachmentsAround(arrivals.parent())));
      if (pass.arrived.length) this.highlight(pass.arrived);
    }
    return pass.arrived;
  }

  /** Remove the edges and nodes that are gone; children that survive (moved elsewhere in the
   * same change) are kept, in their new box. */
  removeGone(change, pass) {
    const cy = this.cy;
    const graph = this.graph;
    for (const id of change.removedEdges) {
      cy.getElementById(id).remove();
      this.lines.forget(id);
      this.detail.forgetEdge(id);
    }
    const removed = new Set(change.removedNodes);
    for (const id of change.removedNodes) {
      const element = cy.getElementById(id);
      if (element.empty()) continue;
      element.children().forEach((child) => {
        if (!removed.has(child.id()) && graph.nodes.has(child.id())) {
          const next = graph.nodes.get(child.id())?.parent;
          child.move({ parent: next && next !== id && this.exists(next) ? next : null });
        }
      });
      if (element.parent().nonempty()) pass.touched.add(element.parent().id());
      element.remove();
    }
  }

  /** The updated nodes that are drawn; one that is not (it was out of view) is added instead. */
  updatesOf(change) {
    const updates = [];
    for (const node of change.updatedNodes) {
      if (this.exists(node.id)) updates.push(node);
      else change.addedNodes.push(node);
    }
    return updates;
  }

  /** Cytoscape elements for the nodes to add, parents first, each in its box if that is drawn. */
  additionsOf(nodes, pass) {
    const additions = [];
    const adding = new Set();
    for (const node of parentsFirst(nodes, (id) => this.exists(id))) {
      if (this.exists(node.id) || adding.has(node.id)) continue;
      const parent = node.parent && (adding.has(node.parent) || this.exists(node.parent)) ? node.parent : undefined;
      additions.push({ group: "nodes", data: { ...this.nodeData(node), display: pass.text(node), parent } });
      adding.add(node.id);
      pass.arrived.push(node.id);
      if (parent) pass.touched.add(parent);
    }
    return additions;
  }

  /**
   * The first graph, laid out as a nested grid before it is added (setting positions afterwards
   * costs an event each), its socket pins included; returns the viewport that fits it. The grid
   * knows its own extent: fitting to it spares measuring every node.
   */
  placeFirstGraph(additions) {
    const adding = new Set(additions.map(({ data }) => data.id));
    for (const data of wantedPins(this.graph, (id) => adding.has(id)).values()) {
      additions.push({ group: "nodes", data: { ...data, parent: data.owner } });
    }
    this.gridBounds = this.placeAll(additions);
    const framing = this.viewport.framing(this.gridBounds);
    this.labels.quietUnlessReadable(additions, framing.zoom);
    // Seen from far, attachment lines wait (see QuietLines); else they are routed at once.
    this.routes = this.labels.left ? "wait" : this.plannedRoutes(additions);
    return framing;
  }

  /**
   * The bus routes of attachment edges whose ends are both leaves about to be added, from where
   * the grid put them (edges out of a box are routed once the box is drawn).
   */
  plannedRoutes(additions) {
    const placed = new Map();
    const parents = new Set();
    for (const { data, position } of additions) {
      if (position) placed.set(data.id, { data, position });
      if (data.parent) parents.add(data.parent);
    }
    const routes = new Map();
    for (const edge of this.graph.edges.values()) {
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

  /** New data for drawn nodes; a node whose box changed moves into it (and counts as arrived). */
  updateNodes(updates, pass) {
    const cy = this.cy;
    for (const node of updates) {
      const element = cy.getElementById(node.id);
      const wantedParent = node.parent && this.exists(node.parent) ? node.parent : null;
      const currentParent = element.parent().nonempty() ? element.parent().id() : null;
      if (wantedParent !== currentParent) {
        if (currentParent) pass.touched.add(currentParent);
        element.move({ parent: wantedParent });
        pass.moved = true;
        pass.arrived.push(node.id);
        if (wantedParent) pass.touched.add(wantedParent);
      }
      const text = pass.text(node);
      if (element.isParent() && element.data("display") !== text) pass.retitled.push(node.id);
      element.data({ ...this.nodeData(node), display: text });
    }
  }

  /**
   * Add or update the edges whose two ends are drawn; one whose ends changed is drawn anew. An
   * attachment line waits while the first graph is seen from far (and after, until it is
   * added), or starts routed as the first graph's grid planned it. Returns the edges added.
   */
  syncEdges(edges, initial) {
    const cy = this.cy;
    const additions = [];
    for (const edge of edges) {
      const data = connectivityEdgeData(edgeData(edge), this.graph);
      if (!this.exists(data.source) || !this.exists(data.target)) {
        if (this.detail.isKept(data.source) || this.detail.isKept(data.target)) this.detail.waitForEnds(data);
        continue;
      }
      if (this.lines.has(edge.id) || (initial && this.routes === "wait" && edge.kind === "network")) {
        this.lines.wait(edge.id, data);
        continue;
      }
      const element = cy.getElementById(edge.id);
      const route = this.routes instanceof Map ? this.routes.get(edge.id) : null;
      if (route && element.empty()) {
        const routed = { segW: route.weights, segD: route.distances, sourceEnd: route.sourceEnd, busEnd: route.busEnd };
        additions.push({ group: "edges", data: { ...data, ...routed }, classes: "routed" });
      } else if (element.empty()) additions.push({ group: "edges", data });
      else if (element.data("source") !== data.source || element.data("target") !== data.target) {
        element.remove();
        additions.push({ group: "edges", data });
      } else element.data(data);
    }
    return additions.length ? cy.add(additions) : cy.collection();
  }

  /** A node's text depends on whether it is drawn as a box (has children) or not: the boxes
   * that gained or lost children get theirs again. Setting data restyles a box and everything in
   * it: only when the text changes. */
  retitleTouched(pass) {
    for (const id of pass.touched) {
      const node = this.graph.nodes.get(id);
      const element = this.cy.getElementById(id);
      if (!node || element.empty()) continue;
      const text = pass.text(node);
      if (element.data("display") !== text) {
        element.data("display", text);
        pass.retitled.push(id);
      }
    }
  }

  /** Arrivals take free places next to their siblings; then whatever they (or a box that
   * widened with its title) overlap is moved out of their way. */
  placeLive(pass) {
    if (!pass.arrived.length && !pass.retitled.length) return;
    const nodeOf = (id) => this.nodeOf(id);
    const placed = pass.arrived.length ? placeArrivals(this.cy, pass.arrived, nodeOf, this.labelWidth) : [];
    separateOverlaps(this.cy, [...placed, ...pass.retitled], nodeOf, this.labelWidth, { locks: this.locks });
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
      if (size) Object.assign(addition.data, { busWidth: size.w, textWidth: busTextWidth(size.w) });
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

  /** Give every leaf its place in the nested grid (boxes follow their leaves). */
  applyNestedGrid() {
    const cy = this.cy;
    const roots = cy.nodes().orphans().map((node) => node.id());
    const childrenOf = (id) => cy.getElementById(id).children().map((child) => child.id());
    const { positions, sizes } = nestedGrid(roots, childrenOf, (id) => this.nodeOf(id), this.labelWidth, this.gridOptions());
    this.sizeBuses(sizes);
    cy.nodes()
      .filter((node) => positions.has(node.id()))
      .positions((node) => positions.get(node.id()));
  }

  /** The nested grid's options for the graph drawn: networks as buses in their boxes. */
  gridOptions() {
    return { bands: busBands(graphLinks(this.graph)) };
  }

  /**
   * Buses as wide as the nested grid made them (`sizes`); for other layouts, as wide as their
   * text (and at least a leaf).
   */
  sizeBuses(sizes = new Map()) {
    const cy = this.cy;
    const fitting = (bus) => Math.max(LEAF_WIDTH, Math.ceil(this.labelWidth(this.nodeOf(bus.id())) + 48));
    cy.startBatch();
    try {
      cy.nodes('[kind = "network"]').forEach((bus) => {
        const width = sizes.get(bus.id())?.w || fitting(bus);
        if (bus.data("busWidth") !== width) bus.data({ busWidth: width, textWidth: busTextWidth(width) });
      });
    } finally {
      cy.endBatch();
    }
  }

  /** Where each leaf is now (model coordinates). */
  leafPlaces() {
    const places = new Map();
    this.cy.nodes().forEach((node) => {
      if (node.isChildless()) places.set(node.id(), { ...node.position() });
    });
    return places;
  }

  /**
   * Lay the whole graph out again with `name` (nested, hierarchical or force), then move apart
   * whatever the layout left overlapping (a force or hierarchical layout knows nothing of box
   * titles; a hierarchical one puts all of a box's containers on one row, folded into lines). The layout is computed at once; with `animate`, the leaves then travel from where
   * they were to where they end up, in one movement.
   */
  runLayout(name, { animate = true } = {}) {
    this.layoutName = name in LAYOUTS ? name : "nested";
    const cy = this.cy;
    this.detail.expand();
    if (cy.nodes().empty()) return;
    const from = animate ? this.leafPlaces() : null;
    if (this.layoutName === "nested") this.applyNestedGrid();
    else {
      this.lines.add(); // these layouts pull along edges: all of them
      this.sizeBuses();
      cy.layout({ ...this.layoutOptions(this.layoutName), animate: false, fit: false }).run();
    }
    const fold = this.layoutName === "hierarchical"; // a rank of 200 containers is one row
    separateOverlaps(cy, null, (id) => this.nodeOf(id), this.labelWidth, { fold, locks: this.locks });
    if (!animate) {
      rerouteBuses(cy, cy.edges());
      this.viewport.fitNow();
      return;
    }
    cy.edges(".routed").removeClass("routed"); // straight while the leaves travel
    const to = this.leafPlaces();
    cy.startBatch();
    try {
      for (const [id, at] of from) cy.getElementById(id).position(at);
    } finally {
      cy.endBatch();
    }
    cy.layout({
      name: "preset",
      positions: (node) => to.get(node.id()) || node.position(),
      animate: true,
      animationDuration: 450,
      fit: false,
      stop: () => {
        rerouteBuses(cy, cy.edges());
        this.viewport.fit();
      },
    }).run();
  }

  /** The options of the Cytoscape layout behind `name` (hierarchical or force). */
  layoutOptions(name) {
    if (name === "hierarchical") return { name: "dagre", rankDir: "TB", nodeSep: 18, rankSep: 60, edgeSep: 12 };
    return {
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
    };
  }

  select(id) {
    this.detail.reveal(id);
    this.cy.$(":selected").unselect();
    if (id) this.cy.getElementById(id).select();
  }

  /** Where each leaf is drawn (boxes are drawn around their leaves): {id: {x, y}}, rounded. */
  leafPositions() {
    this.detail.expand();
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
    if (Object.keys(positions || {}).length) this.detail.expand();
    cy.startBatch();
    try {
      for (const [id, at] of Object.entries(positions || {})) {
        const node = cy.getElementById(id);
        if (node.empty() || node.isParent() || !Number.isFinite(at?.x) || !Number.isFinite(at?.y)) continue;
        node.unlock().position({ x: at.x, y: at.y });
        if (lock) {
          node.lock();
          this.locks = true;
        }
        placed.push(id);
      }
    } finally {
      cy.endBatch();
    }
    return placed;
  }
}
