// static/topology/layout.js on a real (headless) Cytoscape: nodes that arrive live are placed
// next to their siblings, and what a grown box reaches is moved out of its way.

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import cytoscape from "cytoscape";

import { pictureFaults } from "../../static/topology/geometry.js";
import { nestedGrid, placeArrivals, separateOverlaps } from "../../static/topology/layout.js";
import { COMPOUND_PADDING, LEAF_HEIGHT, LEAF_WIDTH } from "../../static/topology/style.js";

const STYLE = [
  { selector: "node", style: { shape: "round-rectangle", width: LEAF_WIDTH, height: LEAF_HEIGHT, "border-width": 2 } },
  { selector: ":parent", style: { padding: COMPOUND_PADDING } },
];
const TITLE = 300; // every box's title, as wide as a DinD container's

let cy = null;
afterEach(() => {
  cy?.destroy();
  cy = null;
});

/** A picture laid out as the page first draws it: the nested grid. */
function picture(nodes) {
  cy = cytoscape({ headless: true, styleEnabled: true, style: STYLE });
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const view = { cy, byId, nodeOf: (id) => byId.get(id) };
  cy.add(nodes.map((node) => ({ group: "nodes", data: { ...node } })));
  const roots = cy.nodes().orphans().map((node) => node.id());
  const childrenOf = (id) => cy.getElementById(id).children().map((child) => child.id());
  const grid = nestedGrid(roots, childrenOf, view.nodeOf, labelWidth);
  for (const [id, at] of grid.positions) cy.getElementById(id).position(at);
  return view;
}

function labelWidth(node) {
  return node && node.kind !== "socket" ? TITLE : 0;
}

/** Nodes arrive in one change, as GraphView.apply adds and places them (inside a batch). */
function arrive(view, nodes) {
  cy.startBatch();
  for (const node of nodes) {
    view.byId.set(node.id, node);
    cy.add({ group: "nodes", data: { ...node } });
  }
  const placed = placeArrivals(cy, nodes.map((node) => node.id), view.nodeOf, labelWidth);
  separateOverlaps(cy, placed, view.nodeOf, labelWidth, { locks: cy.nodes(":locked").nonempty() });
  cy.endBatch();
}

const places = () =>
  Object.fromEntries(cy.nodes().filter((node) => node.isChildless()).map((node) => [node.id(), { ...node.position() }]));

/**
 * Overlaps and covered titles, as Cytoscape bounds the picture: shapes, and a title band above
 * each box. (Headless Cytoscape measures no text, so boxes do not widen for their children's
 * titles: whether a title stays inside its box is for the browser test to say.)
 */
function faults() {
  // Headless, nothing redraws: bring the boxes' bounds up to date, deepest first.
  const depth = (node) => node.ancestors().length;
  const boxes = cy.nodes(":parent").sort((a, b) => depth(b) - depth(a));
  boxes.forEach((box) => box.updateCompoundBounds(true));
  const nodes = cy.nodes().map((node) => {
    const body = node.boundingBox();
    const centre = (body.x1 + body.x2) / 2;
    const label = node.isParent() ? { x1: centre - TITLE / 2, x2: centre + TITLE / 2, y1: body.y1 - 18, y2: body.y1 - 1.5 } : null;
    return { id: node.id(), parent: node.parent().nonempty() ? node.parent().id() : null, isBox: node.isParent(), body, label: label || { ...body } };
  });
  return pictureFaults(nodes).filter((fault) => fault.kind !== "clipped");
}

const host = (id) => ({ id, kind: "host" });
const daemon = (id, parent, nesting = 0) => ({ id, kind: "daemon", parent, nesting });
const container = (id, parent, role = "plain") => ({ id, kind: "container", parent, role, name: id });

test("a DinD container whose nested daemon appears moves to a row of its own; nothing else moves", () => {
  const view = picture([host("h"), daemon("d", "h"), container("c1", "d"), container("c2", "d"), container("c9", "d")]);
  arrive(view, [container("dind", "d", "dind")]);
  const before = places();
  arrive(view, [daemon("n1", "dind", 1)]);
  arrive(view, [container("c3", "n1")]);
  arrive(view, [container("c4", "n1")]);
  const after = places();
  for (const id of ["c1", "c2", "c9"]) assert.deepEqual(after[id], before[id], id);
  assert.deepEqual(faults(), []);
  const box = cy.getElementById("dind").boundingBox();
  const leaves = cy.collection(["c1", "c2", "c9"].map((id) => cy.getElementById(id))).boundingBox();
  assert.ok(box.y1 > leaves.y2, "below the leaves");
});

test("a box that grows pushes down what it reaches, and only that", () => {
  const view = picture([
    host("h"),
    daemon("d", "h"),
    container("dind", "d", "dind"),
    daemon("n1", "dind", 1),
    container("c3", "n1"),
    container("other", "d", "dind"),
    daemon("n2", "other", 1),
    container("c8", "n2"),
  ]);
  const before = places();
  arrive(view, Array.from({ length: 12 }, (_, n) => container(`x${n}`, "n1")));
  const after = places();
  assert.deepEqual(faults(), []);
  assert.deepEqual(after.c3, before.c3);
  const moved = Object.keys(before).filter((id) => after[id].x !== before[id].x || after[id].y !== before[id].y);
  assert.deepEqual(moved.sort(), moved.length ? ["c8"] : []);
});

test("a host that grows pushes the host below it down, as one", () => {
  const hosts = ["a", "b", "c", "d"].flatMap((name) => [
    host(name),
    daemon(`${name}-d`, name),
    ...Array.from({ length: 30 }, (_, n) => container(`${name}-${n}`, `${name}-d`)),
  ]);
  const view = picture(hosts);
  assert.deepEqual(faults(), []);
  const before = places();
  arrive(view, Array.from({ length: 60 }, (_, n) => container(`a-new-${n}`, "a-d")));
  assert.deepEqual(faults(), []);
  const after = places();
  const shifts = new Set(
    Object.keys(before)
      .filter((id) => id.startsWith("d-"))
      .map((id) => `${after[id].x - before[id].x},${after[id].y - before[id].y}`),
  );
  assert.equal(shifts.size, 1, "every leaf of a moved host moves by the same amount");
  for (const id of Object.keys(before).filter((id) => id.startsWith("a-"))) assert.deepEqual(after[id], before[id]);
});

test("fifty containers joining a daemon of four hundred move nothing already there", () => {
  const view = picture([host("h"), daemon("d", "h"), ...Array.from({ length: 400 }, (_, n) => container(`c${n}`, "d"))]);
  const before = places();
  arrive(view, Array.from({ length: 50 }, (_, n) => container(`new${n}`, "d")));
  const after = places();
  for (const [id, at] of Object.entries(before)) assert.deepEqual(after[id], at, id);
  assert.deepEqual(faults(), []);
});

test("a locked (pinned) node stays where it was pinned", () => {
  const view = picture([host("h"), daemon("d", "h"), container("c1", "d"), container("c2", "d")]);
  const pinned = cy.getElementById("c2");
  pinned.position({ x: 96, y: 200 }).lock();
  arrive(view, [container("dind", "d", "dind"), daemon("n1", "dind", 1), container("c3", "n1")]);
  assert.deepEqual(pinned.position(), { x: 96, y: 200 });
});

test("live, a box holding a pinned node is left alone: an old overlap with it is not fixed then", () => {
  const view = picture([host("a"), daemon("a-d", "a"), container("a1", "a-d"), host("b"), daemon("b-d", "b"), container("b1", "b-d")]);
  const pinned = cy.getElementById("b1");
  const a1 = { ...cy.getElementById("a1").position() };
  pinned.position({ x: a1.x + 40, y: a1.y + 30 }).lock(); // its user put it over host a
  const before = places();
  arrive(view, [container("a2", "a-d")]);
  const after = places();
  assert.deepEqual(after.a1, before.a1);
  assert.deepEqual(after.b1, before.b1);
});
