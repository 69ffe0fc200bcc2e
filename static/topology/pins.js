// Socket pins: where a DooD edge ends. Cytoscape draws an edge from a node to a box around it
// only as a loop outside the box, so each daemon that a socket edge reaches gets a pin, its
// socket drawn inside its box, and the edge ends there.

import { displayLabel } from "./style.js";

/** The node a DooD edge ends at: the daemon's socket, drawn inside the daemon's box. */
export function socketPinId(daemonId) {
  return `socket-pin:${daemonId}`;
}

/** Edge data for Cytoscape: a socket edge ends at the daemon's pin; `daemon` keeps its target. */
export function edgeData(edge) {
  if (edge.kind !== "socket") return { ...edge };
  return { ...edge, daemon: edge.target, target: socketPinId(edge.target) };
}

/**
 * The data of the socket pin for each daemon that a DooD edge reaches.
 *
 * @param {import("./store.js").GraphReads} graph
 * @param {(id: string) => boolean} daemonExists  whether the daemon is (or is about to be) drawn
 * @returns {Map<string, object>} by daemon id
 */
export function wantedPins(graph, daemonExists) {
  const pins = new Map();
  for (const edge of graph.edges.values()) {
    if (edge.kind !== "socket" || pins.has(edge.target) || !daemonExists(edge.target)) continue;
    const daemon = graph.nodes.get(edge.target);
    const data = {
      id: socketPinId(edge.target),
      kind: "socket",
      daemon: edge.target,
      label: "Docker socket",
      endpoint: daemon?.endpoint || "",
    };
    data.display = displayLabel(data);
    pins.set(edge.target, data);
  }
  return pins;
}

/** One socket pin in each drawn daemon that a DooD edge reaches, none elsewhere; new pins'
 * ids are added to `arrived`. */
export function syncSocketPins(cy, graph, arrived) {
  const wanted = wantedPins(graph, (id) => cy.getElementById(id).nonempty());
  cy.nodes('[kind = "socket"]').forEach((pin) => {
    if (!wanted.has(pin.data("daemon"))) pin.remove();
  });
  const additions = [];
  for (const [daemonId, data] of wanted) {
    const pin = cy.getElementById(data.id);
    if (pin.empty()) {
      additions.push({ group: "nodes", data: { ...data, parent: daemonId } });
      arrived.push(data.id);
    } else if (pin.data("display") !== data.display) {
      pin.data(data);
    }
  }
  if (additions.length) cy.add(additions);
}
