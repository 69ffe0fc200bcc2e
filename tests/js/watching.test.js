import assert from "node:assert/strict";
import { test } from "node:test";

import { inView, sameSet } from "../../static/topology/watching.js";

test("a container is watched while any part of it is on screen", () => {
  const boxes = [
    { id: "container:in", x1: 10, y1: 10, x2: 50, y2: 30 },
    { id: "container:edge", x1: 90, y1: 0, x2: 130, y2: 20 },
    { id: "container:out", x1: 200, y1: 200, x2: 240, y2: 220 },
  ];
  assert.deepEqual(inView(boxes, { x1: 0, y1: 0, x2: 100, y2: 100 }), ["container:edge", "container:in"]);
  assert.deepEqual(inView(boxes, { x1: 500, y1: 500, x2: 600, y2: 600 }), []);
});

test("at most what the server takes", () => {
  const boxes = Array.from({ length: 900 }, (_, i) => ({ id: `container:${String(i).padStart(4, "0")}`, x1: 0, y1: 0, x2: 1, y2: 1 }));
  assert.equal(inView(boxes, { x1: 0, y1: 0, x2: 1, y2: 1 }).length, 800);
});

test("the same set in any order is no news", () => {
  assert.equal(sameSet(["a", "b"], ["b", "a"]), true);
  assert.equal(sameSet(["a"], ["a", "b"]), false);
});
