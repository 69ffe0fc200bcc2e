// Which containers the page shows, for the server's stats sampler: each page tells it with a
// `watch` message (debounced while it pans and zooms), and only what some page shows is sampled.
// A wall screen watches everything it shows; a full page, the containers in its viewport.

const DEBOUNCE_MS = 400;
const MAX_WATCH = 800; // the server's limit

/**
 * The container ids among `boxes` ({id, x1, y1, x2, y2} in model coordinates) that overlap
 * `extent` (the model rectangle on screen). Pure.
 */
export function inView(boxes, extent) {
  const ids = [];
  for (const box of boxes) {
    if (box.x2 >= extent.x1 && box.x1 <= extent.x2 && box.y2 >= extent.y1 && box.y1 <= extent.y2) ids.push(box.id);
  }
  return ids.sort().slice(0, MAX_WATCH);
}

/** Whether two watch lists say the same. */
export function sameSet(a, b) {
  if (a.length !== b.length) return false;
  const known = new Set(a);
  return b.every((id) => known.has(id));
}

export class ViewportWatch {
  /**
   * @param {object} cy  the Cytoscape instance
   * @param {(message: object) => boolean} send  the websocket's send (false while offline)
   * @param {{everything?: boolean}} options  a wall screen watches all it shows
   */
  constructor(cy, send, { everything = false } = {}) {
    this.cy = cy;
    this.send = send;
    this.everything = everything;
    this.sent = null; // what the server last heard
    this.timer = null;
    cy.on("viewport", () => this.schedule());
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.update(), DEBOUNCE_MS);
  }

  /** The container ids shown now. */
  shown() {
    const containers = this.cy.nodes('[kind = "container"]').filter((node) => node.visible());
    if (this.everything) return containers.map((node) => node.id()).sort().slice(0, MAX_WATCH);
    const boxes = containers.map((node) => ({ id: node.id(), ...node.boundingBox({ includeLabels: false }) }));
    return inView(boxes, this.cy.extent());
  }

  update() {
    const ids = this.shown();
    if (this.sent !== null && sameSet(ids, this.sent)) return;
    if (this.send({ type: "watch", nodes: ids })) this.sent = ids;
  }

  /** After a reconnection the server knows nothing of this page: tell it again. */
  reset() {
    this.sent = null;
    this.schedule();
  }
}
