// Networks as buses: bands, their stacking and the route of an attachment (node --test).

import assert from "node:assert/strict";
import { test } from "node:test";

import { BUS_HEIGHT, busRoute, networkBands, stackBands } from "../../static/topology/network-layout.js";

const net = (id, extra = {}) => ({ id, kind: "network", name: id, ...extra });
const box = (id, kind = "container") => ({ id, kind, name: id });

function links(networks, netns = {}, volumes = {}) {
  return {
    networksOf: (id) => networks[id] || [],
    netnsOf: (id) => netns[id] || null,
    volumesOf: (id) => volumes[id] || [],
  };
}

test("no network among a box's children: the ordinary grid", () => {
  assert.equal(networkBands([box("a"), box("b")], links({})), null);
});

test("user networks first, the built-in ones last; a container on two sits between their buses", () => {
  const nodes = [net("bridge", { builtin: true }), net("back"), net("front"), box("web1"), box("web2"), box("db"), box("side"), box("web3")];
  const bands = networkBands(
    nodes,
    links({ web1: ["front", "back"], web2: ["front"], web3: ["front"], db: ["back"], side: [] }, { side: "web2" }),
  );
  assert.deepEqual(
    bands.map((band) => band.bus),
    ["front", "back", "bridge"],
  );
  // web2 and its sidecar first, web1 (also on back) last, next to back's bus.
  assert.deepEqual(bands[0].members, ["web2", "side", "web3", "web1"]);
  assert.deepEqual(bands[1].members, ["db"]);
  assert.deepEqual(bands[2].members, []);
});

test("the next bus is the one sharing most containers with the last", () => {
  const nodes = [net("a"), net("b"), net("c"), box("x"), box("y"), box("z"), box("w")];
  const bands = networkBands(nodes, links({ x: ["a"], y: ["a"], w: ["a", "c"], z: ["b"] }));
  assert.deepEqual(
    bands.map((band) => band.bus),
    ["a", "c", "b"],
  );
});

test("a shared volume joins the band of most of its users; the rest come last", () => {
  const nodes = [net("a"), box("x"), box("y"), box("vol", "volume"), box("lonely"), box("pin", "socket")];
  const bands = networkBands(nodes, links({ x: ["a"], y: ["a"] }, {}, { x: ["vol"], y: ["vol"] }));
  assert.deepEqual(bands[0].members, ["x", "y", "vol"]);
  assert.deepEqual(bands[1], { bus: null, members: ["pin", "lonely"] });
});

test("bands stack with one column count and buses as wide as the stack", () => {
  const sized = new Map();
  const tools = {
    arrange: (nodes, columns) => ({
      width: Math.min(columns, nodes.length) * 200 - 16,
      height: Math.ceil(nodes.length / columns) * 60 - 14,
      items: nodes.map((node, index) => ({ id: node.id, dx: (index % columns) * 200, dy: Math.floor(index / columns) * 60 })),
      columns,
    }),
    sized: (id, w, h) => sized.set(id, { w, h }),
  };
  const members = Array.from({ length: 12 }, (_, index) => `c${index}`);
  const nodeOf = (id) => ({ id, kind: "container" });
  const stack = stackBands([{ bus: "a", members: members.slice(0, 9) }, { bus: "b", members: members.slice(9) }], tools, nodeOf);
  const busA = stack.items.find((item) => item.id === "a");
  const busB = stack.items.find((item) => item.id === "b");
  assert.equal(sized.get("a").w, stack.width);
  assert.equal(sized.get("b").w, stack.width);
  assert.equal(sized.get("a").h, BUS_HEIGHT);
  const firstRow = stack.items.filter((item) => members.includes(item.id) && item.dy < busB.dy);
  assert.ok(firstRow.every((item) => item.dy > busA.dy + BUS_HEIGHT), "members below their bus");
  assert.ok(stack.width > stack.height, "landscape");
  const columns = new Set(stack.items.filter((item) => members.includes(item.id)).map((item) => item.dx));
  assert.ok(columns.size > 1 && columns.size < 12);
});

test("an attachment runs out of the container's side, along the gap, into the bus", () => {
  const source = { x: 300, y: 200, w: 184, h: 46 };
  const busAbove = { x: 500, y: 100, w: 1000, h: BUS_HEIGHT };
  const up = busRoute(source, busAbove);
  assert.equal(up.sourceEnd, "-50% 0%");
  assert.equal(up.busEnd, `${300 - 92 - 8 - 500}px 12px`);
  const busBelow = { x: 500, y: 320, w: 1000, h: BUS_HEIGHT };
  const down = busRoute(source, busBelow);
  assert.equal(down.sourceEnd, "50% 0%");
  assert.equal(down.busEnd, `${300 + 92 + 8 - 500}px -12px`);
  // Weights and distances put the corners at the gap: back to points along the centre line.
  const [w1, w2] = up.weights.split(" ").map(Number);
  const [d1, d2] = up.distances.split(" ").map(Number);
  const vx = busAbove.x - source.x;
  const vy = busAbove.y - source.y;
  const length = Math.hypot(vx, vy);
  const point = (w, d) => [source.x + w * vx - (d * vy) / length, source.y + w * vy + (d * vx) / length];
  const [x1, y1] = point(w1, d1);
  const [x2, y2] = point(w2, d2);
  assert.ok(Math.abs(x1 - 200) < 0.05 && Math.abs(y1 - 200) < 0.05, `${x1},${y1}`);
  assert.ok(Math.abs(x2 - 200) < 0.05 && Math.abs(y2 - 116) < 0.05, `${x2},${y2}`);
});

test("no route for a container beside the bus, or far from it", () => {
  const bus = { x: 500, y: 100, w: 400, h: BUS_HEIGHT };
  assert.equal(busRoute({ x: 500, y: 105, w: 184, h: 46 }, bus), null);
  assert.equal(busRoute({ x: 1500, y: 300, w: 184, h: 46 }, bus), null);
});
