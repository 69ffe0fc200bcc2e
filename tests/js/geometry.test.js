// static/topology/geometry.js: rectangles, moving siblings apart, and what makes a picture faulty.

import assert from "node:assert/strict";
import test from "node:test";

import {
  boxAround,
  contains,
  foldRows,
  intersects,
  panelFaults,
  pictureFaults,
  RectIndex,
  separate,
  separateTree,
  union,
} from "../../static/topology/geometry.js";

const rect = (x1, y1, x2, y2) => ({ x1, y1, x2, y2 });

/** Every pair of rectangles keeps `gap` apart. */
function assertApart(rects, gap) {
  const entries = Object.entries(rects);
  for (const [i, [a, ra]] of entries.entries()) {
    for (const [b, rb] of entries.slice(i + 1)) {
      assert.ok(!intersects(ra, rb, gap - 1e-9), `${a} ${JSON.stringify(ra)} and ${b} ${JSON.stringify(rb)}`);
    }
  }
}

test("rectangles that touch do not intersect; a gap makes them", () => {
  assert.equal(intersects(rect(0, 0, 10, 10), rect(10, 0, 20, 10)), false);
  assert.equal(intersects(rect(0, 0, 10, 10), rect(10, 0, 20, 10), 1), true);
  assert.equal(intersects(rect(0, 0, 10, 10), rect(5, 5, 6, 6)), true);
  assert.equal(contains(rect(0, 0, 10, 10), rect(1, 1, 10, 10)), true);
  assert.equal(contains(rect(0, 0, 10, 10), rect(1, 1, 10.4, 10), 0.5), true);
  assert.equal(contains(rect(0, 0, 10, 10), rect(1, 1, 11, 10)), false);
  assert.deepEqual(union([rect(0, 0, 1, 1), null, rect(5, -2, 6, 0)]), rect(0, -2, 6, 1));
});

test("the index finds what lies near, and nothing else", () => {
  const index = new RectIndex(50);
  index.insert("a", rect(0, 0, 40, 40));
  index.insert("b", rect(100, 100, 400, 140));
  index.insert("c", rect(45, 0, 60, 40));
  assert.deepEqual([...index.query(rect(30, 30, 44, 44))], ["a"]);
  assert.deepEqual([...index.query(rect(30, 30, 44, 44), 2)].sort(), ["a", "c"]);
  assert.deepEqual([...index.query(rect(350, 120, 360, 130))], ["b"]);
  assert.equal(index.query(rect(500, 500, 510, 510)).size, 0);
});

test("siblings that overlap nothing stay where they are", () => {
  const items = [0, 1, 2].map((n) => ({ id: `leaf${n}`, rect: rect(n * 200, 0, n * 200 + 184, 46) }));
  assert.equal(separate(items, { gap: 14 }).size, 0);
});

test("a box that grew keeps its place and pushes down what it reaches", () => {
  // A leaf grid of two rows; the first leaf became a box as tall as both rows and more.
  const items = [
    { id: "box", rect: rect(0, 0, 400, 200) },
    { id: "right", rect: rect(200, 0, 384, 46) },
    { id: "below", rect: rect(0, 60, 184, 106) },
    { id: "far", rect: rect(700, 0, 884, 46) },
  ];
  const moves = separate(items, { gap: 14, first: ["box"] });
  assert.equal(moves.has("box"), false);
  assert.equal(moves.has("far"), false);
  const placed = Object.fromEntries(items.map(({ id, rect: r }) => {
    const move = moves.get(id) || { dx: 0, dy: 0 };
    return [id, { x1: r.x1 + move.dx, y1: r.y1 + move.dy, x2: r.x2 + move.dx, y2: r.y2 + move.dy }];
  }));
  assertApart(placed, 14);
  assert.deepEqual(moves.get("below"), { dx: 0, dy: 154 }); // down, the shorter way
  assert.deepEqual(moves.get("right"), { dx: 214, dy: 0 }); // right, the shorter way
});

test("a box pushed by one that grew gets room to grow", () => {
  const items = [
    { id: "grown", rect: rect(0, 0, 400, 200) },
    { id: "below", rect: rect(0, 190, 400, 400) },
  ];
  const moves = separate(items, { spacing: 14, first: ["grown"], room: () => 100 });
  assert.deepEqual(moves.get("below"), { dx: 0, dy: 24 + 100 });
});

test("pushes cascade, and what stays never moves", () => {
  const items = [
    { id: "a", rect: rect(0, 0, 100, 100) },
    { id: "b", rect: rect(0, 90, 100, 190) },
    { id: "c", rect: rect(0, 180, 100, 280) },
    { id: "pin", rect: rect(50, 50, 150, 150) },
  ];
  const moves = separate(items, { gap: 10, stay: ["pin"] });
  assert.equal(moves.has("pin"), false);
  const placed = Object.fromEntries(items.map(({ id, rect: r }) => {
    const move = moves.get(id) || { dx: 0, dy: 0 };
    return [id, { x1: r.x1 + move.dx, y1: r.y1 + move.dy, x2: r.x2 + move.dx, y2: r.y2 + move.dy }];
  }));
  assertApart(placed, 10);
});

test("a hundred random boxes end up apart", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const items = Array.from({ length: 100 }, (_, n) => {
    const [x, y] = [random() * 800, random() * 600];
    return { id: `n${n}`, rect: rect(x, y, x + 20 + random() * 200, y + 20 + random() * 120) };
  });
  const moves = separate(items, { gap: 8 });
  const placed = Object.fromEntries(items.map(({ id, rect: r }) => {
    const move = moves.get(id) || { dx: 0, dy: 0 };
    assert.ok(move.dx >= 0 && move.dy >= 0);
    return [id, { x1: r.x1 + move.dx, y1: r.y1 + move.dy, x2: r.x2 + move.dx, y2: r.y2 + move.dy }];
  }));
  assertApart(placed, 8);
});

test("a row too wide to read is folded into lines, rows in order, every item in its order", () => {
  const top = { id: "dood", rect: rect(5000, 0, 5184, 50) };
  const rank = Array.from({ length: 30 }, (_, n) => ({ id: `c${n}`, rect: rect(n * 200, 100, n * 200 + 184, 150) }));
  const moves = foldRows([top, ...rank], { width: 1000, gap: 16 });
  const at = (item) => {
    const move = moves.get(item.id) || { dx: 0, dy: 0 };
    return { x: item.rect.x1 + move.dx, y: item.rect.y1 + move.dy };
  };
  assert.deepEqual(at(top), { x: 0, y: 0 }); // its row first, from the left
  assert.deepEqual(at(rank[0]), { x: 0, y: 66 });
  assert.deepEqual(at(rank[4]), { x: 800, y: 66 });
  assert.deepEqual(at(rank[5]), { x: 0, y: 132 }); // five of 200 + 16 fit in 1000
  assert.deepEqual(at(rank[29]), { x: 800, y: 66 * 6 });
  const narrow = rank.slice(0, 3);
  assert.equal(foldRows([top, ...narrow], { width: 6000 }).size, 0); // nothing too wide: as it was
});

test("a box is drawn around its children with its title above", () => {
  const { body, title, outer } = boxAround(rect(0, 0, 100, 50), 20, { w: 300, h: 16, gap: 2 });
  assert.deepEqual(body, rect(-20, -20, 120, 70));
  assert.deepEqual(title, rect(-100, -38, 200, -22));
  assert.deepEqual(outer, rect(-100, -38, 200, 70));
  assert.deepEqual(boxAround(rect(0, 0, 10, 10), 5, null).outer, rect(-5, -5, 15, 15));
});

/** host > daemon > {c1, c2, dind > nested > {c3, c4}}, positions given per leaf. */
function demoTree(leaves) {
  const children = {
    host: ["daemon"],
    daemon: ["c1", "c2", "dind"],
    dind: ["nested"],
    nested: ["c3", "c4"],
  };
  const parents = {};
  for (const [parent, kids] of Object.entries(children)) for (const kid of kids) parents[kid] = parent;
  return {
    roots: ["host"],
    childrenOf: (id) => children[id] || [],
    parentOf: (id) => parents[id] ?? null,
    leafRect: (id) => {
      const { x, y } = leaves[id];
      return rect(x - 94, y - 25, x + 94, y + 25);
    },
    inset: () => 20,
    title: (id) => ({ w: id === "dind" ? 420 : 200, h: 16, gap: 2 }),
  };
}

function placedLeaves(leaves, moves) {
  return Object.fromEntries(
    Object.entries(leaves).map(([id, at]) => {
      const move = moves.get(id) || { dx: 0, dy: 0 };
      return [id, { x: at.x + move.dx, y: at.y + move.dy }];
    }),
  );
}

/** The picture's boxes (body, title) from leaf positions, as `pictureFaults` takes them. */
function drawTree(tree, leaves) {
  const nodes = [];
  const walk = (id, parent) => {
    const kids = tree.childrenOf(id);
    if (!kids.length) {
      const body = { ...rect(leaves[id].x - 94, leaves[id].y - 25, leaves[id].x + 94, leaves[id].y + 25) };
      nodes.push({ id, parent, body, label: rect(body.x1 + 30, body.y1 + 8, body.x2 - 8, body.y2 - 8), isBox: false });
      return body;
    }
    const outers = kids.map((kid) => walk(kid, id));
    const drawn = boxAround(union(outers), tree.inset(id), tree.title(id));
    nodes.push({ id, parent, body: drawn.body, label: drawn.title, isBox: true, truncated: false });
    return drawn.outer;
  };
  for (const root of tree.roots) walk(root, null);
  return nodes;
}

test("the DinD box that grew over C1 and C2 pushes them out of its way, title included", () => {
  // C1, C2 in the leaf row; the DinD box was placed over both (as it grew from a leaf's place).
  const leaves = { c1: { x: 94, y: 25 }, c2: { x: 296, y: 25 }, c3: { x: 134, y: 90 }, c4: { x: 336, y: 90 } };
  const tree = demoTree(leaves);
  assert.ok(pictureFaults(drawTree(tree, leaves)).length > 0);
  const moves = separateTree(tree, { changed: ["c3", "c4", "nested", "dind"] });
  assert.equal(moves.has("c3"), false);
  assert.equal(moves.has("c4"), false);
  const after = placedLeaves(leaves, moves);
  assert.deepEqual(pictureFaults(drawTree(tree, after)), []);
});

test("folding a box's wide row keeps the picture clear", () => {
  const children = { host: ["daemon"], daemon: Array.from({ length: 40 }, (_, n) => `c${n}`) };
  const leaves = Object.fromEntries(children.daemon.map((id, n) => [id, { x: n * 200, y: 0 }]));
  const parents = Object.fromEntries(children.daemon.map((id) => [id, "daemon"]));
  parents.daemon = "host";
  const tree = {
    roots: ["host"],
    childrenOf: (id) => children[id] || [],
    parentOf: (id) => parents[id] ?? null,
    leafRect: (id) => rect(leaves[id].x - 94, leaves[id].y - 25, leaves[id].x + 94, leaves[id].y + 25),
    inset: () => 20,
    title: () => ({ w: 200, h: 16, gap: 2 }),
  };
  const after = placedLeaves(leaves, separateTree(tree, { fold: 3 }));
  const xs = Object.values(after).map(({ x }) => x);
  assert.ok(Math.max(...xs) - Math.min(...xs) < 3000, "folded into lines");
  assert.deepEqual(pictureFaults(drawTree(tree, after)), []);
});

test("the whole picture is separated when nothing is said to have changed", () => {
  const leaves = { c1: { x: 94, y: 25 }, c2: { x: 150, y: 40 }, c3: { x: 134, y: 90 }, c4: { x: 200, y: 95 } };
  const tree = demoTree(leaves);
  const after = placedLeaves(leaves, separateTree(tree));
  assert.deepEqual(pictureFaults(drawTree(tree, after)), []);
});

test("a fixed (pinned) leaf never moves; the others go round it", () => {
  const leaves = { c1: { x: 94, y: 25 }, c2: { x: 150, y: 40 }, c3: { x: 134, y: 300 }, c4: { x: 336, y: 300 } };
  const tree = demoTree(leaves);
  const moves = separateTree(tree, { fixed: (id) => id === "c2" });
  assert.equal(moves.has("c2"), false);
  assert.deepEqual(pictureFaults(drawTree(tree, placedLeaves(leaves, moves))), []);
});

test("only the boxes that hold a change are looked at", () => {
  // C3 and C4 overlap inside the nested daemon; C1 (in the daemon above) is what changed.
  const leaves = { c1: { x: 94, y: 25 }, c2: { x: 296, y: 25 }, c3: { x: 134, y: 200 }, c4: { x: 200, y: 200 } };
  const tree = demoTree(leaves);
  assert.equal(separateTree(tree, { changed: ["c1"] }).size, 0);
  assert.deepEqual([...separateTree(tree, { changed: ["c3"] }).keys()], ["c4"]);
});

test("a box known to be up to date is not measured inside", () => {
  const leaves = { c1: { x: 94, y: 25 }, c2: { x: 296, y: 25 }, c3: { x: 134, y: 200 }, c4: { x: 336, y: 200 } };
  const tree = demoTree(leaves);
  const measured = new Set();
  const counting = {
    ...tree,
    leafRect: (id) => {
      measured.add(id);
      return tree.leafRect(id);
    },
    known: (id) => (id === "dind" ? rect(0, 100, 470, 265) : null),
  };
  assert.equal(separateTree(counting, { changed: ["c2"] }).size, 0);
  assert.deepEqual([...measured].sort(), ["c1", "c2"]);
  measured.clear();
  separateTree(counting, { changed: ["c3"] }); // inside it: measured after all
  assert.ok(measured.has("c3") && measured.has("c4"));
});

test("siblings apart but for the changed ones: nothing else is looked at", () => {
  const items = [
    { id: "a", rect: rect(0, 0, 100, 100) },
    { id: "b", rect: rect(50, 50, 150, 150) }, // overlaps a: an old fault, not this change's
    { id: "new", rect: rect(400, 0, 500, 100) },
  ];
  assert.equal(separate(items, { onlyIf: ["new"] }).size, 0);
  assert.equal(separate(items, { onlyIf: ["a"] }).size, 1);
});

test("faults: overlap, a covered title, a title out of its box, text out of its shape", () => {
  const nodes = [
    { id: "host", parent: null, body: rect(0, 0, 500, 300), label: rect(200, -20, 300, -2), isBox: true },
    { id: "dind", parent: "host", body: rect(20, 60, 300, 280), label: rect(40, 40, 520, 58), isBox: true },
    { id: "c1", parent: "host", body: rect(100, 30, 288, 80), label: rect(130, 40, 280, 70), isBox: false },
    { id: "c3", parent: "dind", body: rect(40, 100, 228, 150), label: rect(70, 110, 240, 140), isBox: false },
    { id: "c9", parent: "host", body: rect(320, 100, 480, 150), label: rect(330, 110, 470, 140), isBox: false },
  ];
  const faults = pictureFaults(nodes);
  const said = faults.map(({ kind, ids }) => `${kind} ${ids.join(" ")}`).sort();
  assert.deepEqual(said, [
    "clipped c3",
    "clipped dind host",
    "covered c1 dind",
    "covered dind c1",
    "overlap c1 dind",
    "overlap c9 dind",
  ].sort());
  assert.deepEqual(pictureFaults(nodes.filter((node) => node.id === "host" || node.id === "c9")), []);
});

test("a title the renderer cut short is clipped", () => {
  const nodes = [{ id: "d", parent: null, body: rect(0, 0, 10, 10), label: rect(0, -10, 10, -2), isBox: true, truncated: true }];
  assert.deepEqual(pictureFaults(nodes), [{ kind: "clipped", ids: ["d"], detail: "title cut short" }]);
});

test("a graph under a panel, or out of its view, is said", () => {
  const panels = [
    { name: "legend", rect: rect(0, 600, 350, 1000) },
    { name: "demos", rect: rect(1200, 700, 1600, 1000) },
  ];
  const view = rect(0, 0, 1600, 1000);
  assert.deepEqual(panelFaults(rect(360, 80, 1190, 990), panels, view), []);
  assert.deepEqual(panelFaults(rect(300, 80, 1190, 990), panels, view), ["legend"]);
  assert.deepEqual(panelFaults(rect(360, 80, 1590, 1001), panels, view), ["demos", "view"]);
});
