// The picture's side of networks and volumes: what each container is linked to (for the
// layouts), the bus routes of attachment edges (see network-layout.js), and the pins that
// published-port paths end at.

import { endBatchShallow } from "./batches.js";
import { nearView, textReadableAt } from "./labels.js";
import { BUS_HEIGHT, busRoute } from "./network-layout.js";
import { LEAF_HEIGHT, LEAF_WIDTH } from "./style.js";

const REVEAL_DELAY_MS = 60;

/** A container's networks, the container whose network stack it shares, its volumes. */
export function graphLinks(graph) {
  const networks = new Map();
  const netns = new Map();
  const volumes = new Map();
  const push = (map, key, value) => {
    if (map.has(key)) map.get(key).push(value);
    else map.set(key, [value]);
  };
  for (const edge of graph.edges.values()) {
    if (edge.kind === "network") push(networks, edge.source, edge.target);
    else if (edge.kind === "netns") netns.set(edge.source, edge.target);
    else if (edge.kind === "mount") push(volumes, edge.source, edge.target);
  }
  return {
    networksOf: (id) => networks.get(id) || [],
    netnsOf: (id) => netns.get(id) || null,
    volumesOf: (id) => volumes.get(id) || [],
  };
}

/** Which exposure badge a container wears: "public", "socket", "both" or none. */
export function exposureBadge(node) {
  const exposure = Array.isArray(node.exposure) ? node.exposure : [];
  const publicPort = exposure.includes("public");
  const socket = exposure.includes("socket");
  if (publicPort && socket) return "both";
  return publicPort ? "public" : socket ? "socket" : undefined;
}

/** How wide a bus's text may be: its bar, less its icon and some room (the rest is cut short). */
export function busTextWidth(busWidth) {
  return Math.max(40, busWidth - 44);
}

/** What the stylesheet reads of a connectivity edge beyond the contract's fields (given the
 * edge data as pins.js made it). */
export function connectivityEdgeData(data, graph) {
  if (data.kind === "network") return { ...data, builtin: Boolean(graph.nodes.get(data.target)?.builtin) };
  if (data.kind === "mount") return { ...data, mountLabel: data.read_only ? "read-only" : "" };
  if (data.kind === "publishes") {
    const ports = (data.ports || []).map((port) => `${port.ip || "*"}:${port.public} → ${port.private}/${port.protocol || "tcp"}`);
    return { ...data, portsLabel: ports.join(", ") };
  }
  return data;
}

function boxOf(element) {
  if (element.isParent()) {
    const box = element.boundingBox({ includeLabels: false, includeOverlays: false, includeUnderlays: false });
    return { x: (box.x1 + box.x2) / 2, y: (box.y1 + box.y2) / 2, w: box.w, h: box.h };
  }
  const at = element.position();
  if (element.data("kind") === "network") {
    return { ...at, w: element.data("busWidth") || LEAF_WIDTH, h: BUS_HEIGHT };
  }
  return { ...at, w: LEAF_WIDTH, h: LEAF_HEIGHT };
}

/** The route data of an attachment edge (source container to bus) where it has one, or null. */
export function routeOf(source, bus) {
  if (source.empty() || bus.empty() || bus.data("kind") !== "network") return null;
  return busRoute(boxOf(source), boxOf(bus));
}

/**
 * Give each attachment edge among `edges` its bus route (class `routed`), or draw it straight
 * where it has none. Call inside a batch or not: it batches itself.
 */
export function rerouteBuses(cy, edges) {
  const attachments = edges.filter('[kind = "network"]');
  if (attachments.empty()) return;
  cy.startBatch();
  try {
    attachments.forEach((edge) => {
      const route = routeOf(edge.source(), edge.target());
      if (!route) {
        if (edge.hasClass("routed")) edge.removeClass("routed");
        return;
      }
      if (edge.data("segW") !== route.weights || edge.data("busEnd") !== route.busEnd) {
        edge.data({ segW: route.weights, segD: route.distances, sourceEnd: route.sourceEnd, busEnd: route.busEnd });
      }
      if (!edge.hasClass("routed")) edge.addClass("routed");
    });
  } finally {
    cy.endBatch();
  }
}

/** Every attachment edge touching `nodes` or anything inside them. */
export function attachmentsAround(nodes) {
  return nodes.union(nodes.descendants()).connectedEdges('[kind = "network"]');
}

/**
 * Attachment lines that wait to be drawn. A large first snapshot is seen from far, where a line
 * is thinner than a pixel and the bands already show who is on which bus: its attachment edges
 * are not added yet (which spares styling and measuring thousands of them before the first
 * frame), and each is added, routed, with the container it leaves once that is near the view
 * and text can be read.
 */
export class QuietLines {
  constructor(cy) {
    this.cy = cy;
    this.waiting = new Map(); // edge id -> edge data
    this.timer = null;
    /** Whether a node is out of the picture for now only (summarised: see detail-level.js). */
    this.kept = () => false;
    cy.on("viewport", () => this.schedule());
  }

  has(id) {
    return this.waiting.has(id);
  }

  wait(id, data) {
    this.waiting.set(id, data);
  }

  forget(id) {
    this.waiting.delete(id);
  }

  schedule() {
    if (this.timer !== null || this.waiting.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (textReadableAt(this.cy.zoom())) this.add((source) => nearView(this.cy, source));
    }, REVEAL_DELAY_MS);
  }

  /** Add the waiting lines whose source `wanted` says (all, by default), routed; those whose
   * ends have gone are forgotten. */
  add(wanted = () => true) {
    const cy = this.cy;
    if (this.waiting.size === 0) return;
    const additions = [];
    for (const [id, data] of this.waiting) {
      const source = cy.getElementById(data.source);
      const target = cy.getElementById(data.target);
      if (source.empty() || target.empty()) {
        if (!this.kept(data.source) && !this.kept(data.target)) this.waiting.delete(id);
      } else if (wanted(source)) {
        additions.push({ group: "edges", data });
        this.waiting.delete(id);
      }
    }
    if (!additions.length) return;
    cy.startBatch();
    let added;
    try {
      added = cy.add(additions);
    } finally {
      endBatchShallow(cy);
    }
    rerouteBuses(cy, added);
  }
}
