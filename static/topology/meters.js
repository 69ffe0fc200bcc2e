// Live CPU and memory on the map: a two-line bar at the foot of each container that has a
// recent sample (drawn once the zoom lets its text be read), and, when the toolbar asks, each
// container filled by its CPU or memory (green to red; see the legend).
//
// The bars are drawn on a canvas over Cytoscape's, redrawn with each frame it renders; the
// colouring is node data (`heat`, `heatColour`) the stylesheet uses.

import { heatColour, share } from "./stats.js";

// In model units (scaled with the zoom): two bars just inside a leaf's bottom border, under its
// text (a leaf's two lines of 11px text end about 9 units above its bottom).
const BAR_HEIGHT = 2.2;
const BAR_GAP = 1;
const BOTTOM = 3;
const INSET = 10;
const READABLE_ZOOM = 0.45;

export class Meters {
  /**
   * @param {object} cy
   * @param {HTMLElement} container  the graph's element (the canvas goes over it)
   * @param {import("./stats.js").StatsBook} book
   */
  constructor(cy, container, book) {
    this.cy = cy;
    this.book = book;
    this.colourBy = "";
    this.canvas = document.createElement("canvas");
    this.canvas.className = "meters";
    this.canvas.setAttribute("aria-hidden", "true");
    container.append(this.canvas);
    this.pending = false;
    /** The bars drawn last, in view pixels ({id, x1, y1, x2, y2}), for tests of the picture. */
    this.drawn = [];
    cy.on("render", () => this.schedule());
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const { cy, canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = cy.width();
    const height = cy.height();
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    this.drawn = [];
    if (cy.zoom() * ratio < READABLE_ZOOM) return;
    for (const id of this.book.series.keys()) {
      const node = cy.getElementById(id);
      if (node.empty() || node.isParent() || !node.visible()) continue;
      const point = this.book.latest(id);
      if (!point) continue;
      const box = node.renderedBoundingBox({ includeLabels: false, includeOverlays: false, includeUnderlays: false, includeOutlines: false });
      if (box.x2 < 0 || box.y2 < 0 || box.x1 > width || box.y1 > height) continue;
      const zoom = cy.zoom();
      const inset = INSET * zoom;
      const barWidth = box.w - 2 * inset;
      const bottom = box.y2 - BOTTOM * zoom;
      const [barHeight, gap] = [BAR_HEIGHT * zoom, BAR_GAP * zoom];
      const rows = [
        [share(point, "cpu"), "#58a6ff"],
        [share(point, "mem"), "#c297ff"],
      ];
      const top = bottom - rows.length * barHeight - gap;
      this.drawn.push({ id, x1: box.x1 + inset, y1: top, x2: box.x1 + inset + barWidth, y2: bottom });
      rows.forEach(([value, colour], index) => {
        const y = top + index * (barHeight + gap);
        context.fillStyle = "rgba(255, 255, 255, 0.14)";
        context.fillRect(box.x1 + inset, y, barWidth, barHeight);
        if (value === null) return;
        context.fillStyle = colour;
        context.fillRect(box.x1 + inset, y, Math.max(1, barWidth * value), barHeight);
      });
    }
  }

  /** "" (state colours), "cpu" or "mem". */
  setColourBy(metric) {
    this.colourBy = metric;
    this.recolour();
  }

  /** Give each measured container its colour (or take colours off). */
  recolour() {
    const cy = this.cy;
    cy.startBatch();
    try {
      cy.nodes("[?heat]").forEach((node) => {
        if (!this.colourBy || !this.book.latest(node.id())) node.data("heat", 0);
      });
      if (this.colourBy) {
        for (const id of this.book.series.keys()) {
          const node = cy.getElementById(id);
          if (node.empty()) continue;
          const value = share(this.book.latest(id), this.colourBy);
          const colour = value === null ? null : heatColour(value);
          if (colour && (node.data("heatColour") !== colour || !node.data("heat"))) {
            node.data({ heat: 1, heatColour: colour });
          }
        }
      }
    } finally {
      cy.endBatch();
    }
  }
}
