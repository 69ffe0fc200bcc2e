// Pins: where an edge into a box around its source ends. Cytoscape draws an edge from a node to a
// box around it only as a loop outside the box, so each daemon that a socket (DooD) edge reaches
// gets a pin, its socket drawn inside its box, and each box (host, DinD container) that a
// published-port path reaches a pin of its published ports; the edge ends there.

import { displayLabel } from "./style.js";

/** The node a DooD edge ends at: the daemon's socket, drawn inside the daemon's box. */
export function socketPinId(daemonId) {
  return `socket-pin:${daemonId}`;
}

/** The node a published-port path ends at: a pin inside the box it reaches (host or DinD). */
export function portPinId(boxId) {
  return `port-pin:${boxId}`;
}

/**
 * Edge data for Cytoscape: a socket edge ends at the daemon's pin (`daemon` keeps its target), a
 * published-port path at the ports pin of the box it reaches (`box` keeps it).
 */
export function edgeData(edge) {
  if (edge.kind === "publishes") return { ...edge, box: edge.target, target: portPinId(edge.target) };
  if (edge.kind !== "socket") return { ...edge };
  return { ...edge, daemon: edge.target, target: socketPinId(edge.target) };
}

/**
 * The data of the pin of each box an edge of its kind reaches: the socket pin of each daemon a
 * DooD edge reaches, the ports pin of each box a published-port path reaches. `owner` is the box
 * (a daemon reached by a socket edge is reached by no port path: one pin a box).
 *
 * @param {import("./store.js").GraphReads} graph
 * @param {(id: string) => boolean} boxExists  whether the box is (or is about to be) drawn
 * @returns {Map<string, object>} by box id
 */
export function wantedPins(graph, boxExists) {
  const pins = new Map();
  for (const edge of graph.edges.values()) {
    if (!["socket", "publishes"].includes(edge.kind) || pins.has(edge.target) || !boxExists(edge.target)) continue;
    const box = graph.nodes.get(edge.target);
    const data =
      edge.kind === "socket"
        ? {
            id: socketPinId(edge.target),
            kind: "socket",
            daemon: edge.target,
            owner: edge.target,
            label: "Docker socket",
            endpoint: box?.endpoint || "",
          }
        : { id: portPinId(edge.target), kind: "ports", owner: edge.target, label: "Published ports" };
    data.display = displayLabel(data);
    pins.set(edge.target, data);
  }
  return pins;
}

/** One pin in each drawn box that an edge of its kind reaches, none elsewhere; new pins' ids
 * are added to `arrived`. A box whose contents are `summarised` (a daemon drawn as a summary,
 * see detail-level.js) keeps its pin aside with them. */
export function syncSocketPins(cy, graph, arrived, summarised = () => false) {
  const wanted = wantedPins(graph, (id) => !summarised(id) && cy.getElementById(id).nonempty());
  cy.nodes('[kind = "socket"], [kind = "ports"]').forEach((pin) => {
    if (summarised(pin.data("owner"))) return;
    if (wanted.get(pin.data("owner"))?.id !== pin.id()) pin.remove();
  });
  const additions = [];
  for (const [owner, data] of wanted) {
    const pin = cy.getElementById(data.id);
    if (pin.empty()) {
      additions.push({ group: "nodes", data: { ...data, parent: owner } });
      arrived.push(data.id);
    } else if (pin.data("display") !== data.display) {
      pin.data(data);
    }
  }
  if (additions.length) cy.add(additions);
}
