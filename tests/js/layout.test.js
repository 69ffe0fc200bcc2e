import assert from "node:assert/strict";
import { test } from "node:test";

import { nestedGrid } from "../../static/topology/layout.js";
import { COMPOUND_LABEL_SPACE, COMPOUND_PADDING, LEAF_HEIGHT, LEAF_WIDTH } from "../../static/topology/style.js";
import { container, daemon, host } from "./graphs.js";

/** A tree of contract nodes, as the layouts are given it. */
function treeOf(nodes) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const kids = new Map();
  for (const node of nodes) {
    if (!kids.has(node.parent)) kids.set(node.parent, []);
    kids.get(node.parent).push(node.id);
  }
  return { roots: kids.get(null) || [], childrenOf: (id) => kids.get(id) || [], nodeOf: (id) => byId.get(id) };
}

/** A lab: two hosts, daemons, a dozen containers, a DinD holding a nested daemon of its own. */
function lab() {
  const nodes = [host("a"), daemon("a", "host:a"), host("b"), daemon("b", "host:b")];
  for (let i = 0; i < 12; i += 1) nodes.push(container(`a${i}`, "daemon:a"));
  nodes.push(container("dind", "daemon:a", { role: "dind" }), daemon("inner", "container:dind", { nesting: 1 }));
  for (let i = 0; i < 3; i += 1) nodes.push(container(`in${i}`, "daemon:inner"));
  nodes.push(container("b0", "daemon:b"));
  return nodes;
}

/** Each node's rectangle from the leaf centres: a box is its children's plus padding, and its
 * label sits in the band above it. */
function rectangles(tree, positions) {
  const rects = new Map();
  const rectOf = (id) => {
    const kids = tree.childrenOf(id);
    if (!kids.length) {
      const at = positions.get(id);
      return { x1: at.x - LEAF_WIDTH / 2, y1: at.y - LEAF_HEIGHT / 2, x2: at.x + LEAF_WIDTH / 2, y2: at.y + LEAF_HEIGHT / 2 };
    }
    const inner = kids.map(rectOf);
    return {
      x1: Math.min(...inner.map((r) => r.x1)) - COMPOUND_PADDING,
      y1: Math.min(...inner.map((r) => r.y1)) - COMPOUND_PADDING - COMPOUND_LABEL_SPACE,
      x2: Math.max(...inner.map((r) => r.x2)) + COMPOUND_PADDING,
      y2: Math.max(...inner.map((r) => r.y2)) + COMPOUND_PADDING,
    };
  };
  const visit = (id) => {
    rects.set(id, rectOf(id));
    tree.childrenOf(id).forEach(visit);
  };
  tree.roots.forEach(visit);
  return rects;
}

function overlap(a, b) {
  return a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
}

function overlappingSiblings(tree, rects) {
  const found = [];
  const check = (ids) => {
    for (let i = 0; i < ids.length; i += 1) {
      for (let j = i + 1; j < ids.length; j += 1) {
        if (overlap(rects.get(ids[i]), rects.get(ids[j]))) found.push([ids[i], ids[j]]);
      }
    }
    for (const id of ids) check(tree.childrenOf(id));
  };
  check(tree.roots);
  return found;
}

test("the nested grid places every leaf, and no two siblings' boxes overlap", () => {
  const tree = treeOf(lab());
  const { positions, width, height } = nestedGrid(tree.roots, tree.childrenOf, tree.nodeOf);
  const leaves = lab().filter((node) => !tree.childrenOf(node.id).length);
  assert.deepEqual([...positions.keys()].sort(), leaves.map((node) => node.id).sort());
  const rects = rectangles(tree, positions);
  assert.deepEqual(overlappingSiblings(tree, rects), []);
  for (const rect of rects.values()) {
    assert.ok(rect.x1 >= -COMPOUND_PADDING && rect.y1 >= -COMPOUND_PADDING - COMPOUND_LABEL_SPACE, JSON.stringify(rect));
    assert.ok(rect.x2 <= width + 1 && rect.y2 <= height + 1, JSON.stringify({ rect, width, height }));
  }
});

test("the nested grid is the same for the same graph, in any order", () => {
  const nodes = lab();
  const forward = treeOf(nodes);
  const backward = treeOf([...nodes].reverse());
  const one = nestedGrid(forward.roots, forward.childrenOf, forward.nodeOf).positions;
  const two = nestedGrid(backward.roots, backward.childrenOf, backward.nodeOf).positions;
  assert.deepEqual([...one].sort(), [...two].sort());
});

test("a box whose label is wider than its content is given room for the label", () => {
  const nodes = [host("a"), daemon("narrow", "host:a"), container("x", "daemon:narrow")];
  const tree = treeOf(nodes);
  const plain = nestedGrid(tree.roots, tree.childrenOf, tree.nodeOf);
  const labelled = nestedGrid(tree.roots, tree.childrenOf, tree.nodeOf, (node) => (node.id === "daemon:narrow" ? 900 : 0));
  assert.ok(plain.width < 900 && labelled.width >= 900, `${plain.width} ${labelled.width}`);
});
