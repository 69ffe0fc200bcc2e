// The picture's side of networks and volumes: what each container is linked to (for the
// layouts), the bus routes of attachment edges (see network-layout.js), and the pins that
// published-port paths end at.

import { BUS_HEIGHT, busRoute } from "./network-layout.js";
import { LEAF_HEIGHT, LEAF_WIDTH } from "./style.js";

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

/** The node a published-port path ends at: a pin inside the box it reaches (host or DinD). */
export function portPinId(boxId) {
  return `port-pin:${boxId}`;
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
