import assert from "node:assert/strict";
import { test } from "node:test";

import { Viewport } from "../../static/topology/viewport.js";

/** Just what framing asks of Cytoscape: the view's size and its zoom limits. */
function screen(width = 1000, height = 600) {
  return { width: () => width, height: () => height, minZoom: () => 0.05, zoom: () => 1, pan: () => ({ x: 0, y: 0 }) };
}

/** Where `bounds` lands on screen at a framing (view pixels). */
function onScreen({ zoom, pan }, bounds) {
  return {
    left: pan.x + zoom * bounds.x1,
    right: pan.x + zoom * bounds.x2,
    top: pan.y + zoom * bounds.y1,
    bottom: pan.y + zoom * bounds.y2,
  };
}

const WIDE = { x1: 0, y1: 0, x2: 4000, y2: 1000 };

test("a graph is fitted inside the padding, centred", () => {
  const view = new Viewport(screen());
  const framing = view.framing(WIDE);
  const drawn = onScreen(framing, WIDE);
  assert.ok(drawn.left >= 32 - 1e-9 && drawn.right <= 1000 - 32 + 1e-9, JSON.stringify(drawn));
  assert.ok(Math.abs(drawn.left - (1000 - drawn.right)) < 1e-6);
  assert.ok(drawn.top >= 32 && drawn.bottom <= 600 - 32);
});

test("a small graph is not blown up past the fit zoom; a wall screen may allow more", () => {
  const small = { x1: 0, y1: 0, x2: 100, y2: 50 };
  const view = new Viewport(screen());
  assert.equal(view.framing(small).zoom, 1.1);
  view.maxFitZoom = 3;
  assert.equal(view.framing(small).zoom, 3);
});

test("the graph keeps clear of a panel over it, beside or above, whichever leaves it bigger", () => {
  const view = new Viewport(screen());
  view.overlays = () => [{ left: 0, right: 300, top: 300, bottom: 600 }]; // a legend, bottom left
  const drawn = onScreen(view.framing(WIDE), WIDE);
  const clearBeside = drawn.left >= 300;
  const clearAbove = drawn.bottom <= 300;
  assert.ok(clearBeside || clearAbove, JSON.stringify(drawn));
});

test("with no room at all, the viewport stays as it is", () => {
  const view = new Viewport(screen(100, 100));
  assert.deepEqual(view.framing(WIDE), { zoom: 1, pan: { x: 0, y: 0 } });
});
