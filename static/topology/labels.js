// Node text: a box's title is not a leaf's text; box titles are measured as Cytoscape draws them;
// and leaf text waits until it can be read (quiet leaves).

import { endBatchShallow } from "./batches.js";
import { boxLabelFont, displayLabel } from "./style.js";

/**
 * Cytoscape draws a leaf's 11px text only above zoom 0.5 (times the pixel ratio: it rounds the
 * zoom up to a power of two and draws text from 6px on), on screen and in exports alike. Quiet
 * leaves (see `QuietLabels`) get their text a little before that.
 */
const LABELS_FROM_ZOOM = 0.45;
const REVEAL_DELAY_MS = 60;
const REVEAL_MARGIN = 0.25; // of the view's size, on each side

/** Whether a leaf's text can be drawn at `zoom` (on this screen's pixel ratio). */
export function textReadableAt(zoom) {
  return zoom * (window.devicePixelRatio || 1) > LABELS_FROM_ZOOM;
}

/** Whether `node` is in the view or near it (a quarter of the view's size around it). */
export function nearView(cy, node) {
  const view = cy.extent();
  const [marginX, marginY] = [view.w * REVEAL_MARGIN, view.h * REVEAL_MARGIN];
  const at = node.position();
  return at.x > view.x1 - marginX && at.x < view.x2 + marginX && at.y > view.y1 - marginY && at.y < view.y2 + marginY;
}

/** `(node) => text` for the nodes of `graph`: a node with children is drawn as a box, titled. */
export function textOf(graph) {
  const hasChildren = new Set();
  for (const node of graph.nodes.values()) if (node.parent) hasChildren.add(node.parent);
  return (node) => displayLabel(node, hasChildren.has(node.id));
}

/** Widths of box labels, measured as Cytoscape will draw them (cached by font and text). */
export function labelMeasurer() {
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

/**
 * Leaves added without their text, given it back once text can be read. A large first snapshot
 * is shown from far away, where no leaf text is drawn: its leaves are added quiet (data `quiet`:
 * no label and no text properties), which spares Cytoscape styling, wrapping, measuring and
 * placing thousands of labels before the first frame. Each change of the viewport gives their
 * text to those in and around the view.
 */
export class QuietLabels {
  constructor(cy) {
    this.cy = cy;
    this.left = false; // whether some leaves may still be quiet
    this.timer = null;
    cy.on("viewport", () => this.schedule());
  }

  /** Whether leaf text can be drawn at `zoom`. */
  readableAt(zoom) {
    return textReadableAt(zoom);
  }

  /** Mark the leaves among elements about to be added quiet, unless text is readable at `zoom`. */
  quietUnlessReadable(additions, zoom) {
    this.left = !this.readableAt(zoom);
    if (!this.left) return;
    const parents = new Set();
    for (const { data } of additions) if (data.parent) parents.add(data.parent);
    for (const { data } of additions) if (!parents.has(data.id)) data.quiet = true;
  }

  schedule() {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reveal();
    }, REVEAL_DELAY_MS);
  }

  /** Give their text back to the quiet leaves in and around the view, once text can be read. */
  reveal() {
    const cy = this.cy;
    if (!this.left || !this.readableAt(cy.zoom())) return;
    const quiet = cy.nodes("[?quiet]");
    this.left = quiet.nonempty();
    if (!this.left) return;
    const near = quiet.filter((node) => nearView(cy, node));
    if (near.empty()) return;
    cy.startBatch();
    try {
      near.data("quiet", false); // (removeData would not restyle them)
    } finally {
      endBatchShallow(cy);
    }
  }
}
