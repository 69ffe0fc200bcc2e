// The viewport: what to fit (the visible graph, box titles included), how to fit it clear of
// the panels over the graph, zooming and centring.

const MAX_FIT_ZOOM = 1.1; // a small graph is not blown up to fill a wall

export class Viewport {
  constructor(cy) {
    this.cy = cy;
    /** Rectangles over the graph (view pixels, like getBoundingClientRect) that fits avoid. */
    this.overlays = () => [];
    /** How far a fit may zoom in (a wall screen blows a small graph up more). */
    this.maxFitZoom = MAX_FIT_ZOOM;
  }

  /**
   * The part of the graph to fit: visible nodes, titles included. A leaf's text lies inside it,
   * and a box's title inside the box that holds it: only the outermost boxes are measured with
   * their labels (measuring thousands of labels costs seconds).
   */
  visibleBounds() {
    const visible = this.cy.nodes(":visible");
    const nodes = visible.nonempty() ? visible : this.cy.nodes();
    const shapes = { includeOverlays: false, includeUnderlays: false, includeOutlines: false };
    const outermost = nodes.orphans().filter((node) => node.isParent());
    const box = nodes.boundingBox({ ...shapes, includeLabels: false });
    if (outermost.empty()) return box;
    const titles = outermost.boundingBox({ ...shapes, includeLabels: true });
    return {
      x1: Math.min(box.x1, titles.x1),
      y1: Math.min(box.y1, titles.y1),
      x2: Math.max(box.x2, titles.x2),
      y2: Math.max(box.y2, titles.y2),
    };
  }

  /**
   * The zoom and pan at which `bounds` (model coordinates) fills the view, clear of the
   * overlays: `this.overlays()` gives the rectangles (in view pixels) to keep clear, such as the
   * legend; the graph goes beside or above each, whichever leaves it bigger.
   */
  framing(bounds, padding = 32) {
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

  /** Show `bounds` at once (no animation). */
  show(bounds, padding = 32) {
    this.cy.viewport(this.framing(bounds, padding));
  }

  fitNow() {
    this.show(this.visibleBounds());
  }

  fit() {
    this.cy.animate({ ...this.framing(this.visibleBounds()), duration: 300 });
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
}
