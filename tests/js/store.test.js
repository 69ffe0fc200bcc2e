import assert from "node:assert/strict";
import { test } from "node:test";

import { GraphStore } from "../../static/topology/store.js";
import { container, delta, sampleGraph, socketEdge } from "./graphs.js";

const ids = (items) => items.map((item) => (typeof item === "string" ? item : item.id)).sort();

test("a first snapshot adds everything", () => {
  const store = new GraphStore();
  const change = store.replace(sampleGraph());
  assert.equal(change.addedNodes.length, 11);
  assert.deepEqual(ids(change.addedEdges), ["socket:dood->root"]);
  assert.deepEqual([change.updatedNodes, change.removedNodes, change.removedEdges], [[], [], []]);
  assert.equal(store.version, 1);
  assert.equal(store.generatedAt, "2026-01-01T00:00:00Z");
});

test("a later snapshot changes only what differs", () => {
  const store = new GraphStore();
  store.replace(sampleGraph());
  const next = sampleGraph(5);
  next.nodes = next.nodes.filter((node) => node.id !== "container:db");
  next.nodes.find((node) => node.id === "container:web").status = "exited";
  next.nodes.push(container("new", "daemon:root"));
  next.edges = [];
  const change = store.replace(next);
  assert.deepEqual(ids(change.addedNodes), ["container:new"]);
  assert.deepEqual(ids(change.updatedNodes), ["container:web"]);
  assert.deepEqual(change.removedNodes, ["container:db"]);
  assert.deepEqual(change.removedEdges, ["socket:dood->root"]);
  assert.equal(store.version, 5);
});

test("a delta upserts and removes, and a removed node takes its edges along", () => {
  const store = new GraphStore();
  store.replace(sampleGraph());
  const web = { ...store.nodes.get("container:web"), status: "paused" };
  const change = store.applyDelta(
    delta(2, 1, { upsertNodes: [web, container("cache", "daemon:root")], removeNodes: ["container:dood"] }),
  );
  assert.deepEqual(ids(change.addedNodes), ["container:cache"]);
  assert.deepEqual(ids(change.updatedNodes), ["container:web"]);
  assert.deepEqual(change.removedNodes, ["container:dood"]);
  assert.deepEqual(change.removedEdges, ["socket:dood->root"]);
  assert.equal(store.edges.size, 0);
  assert.equal(store.nodes.get("container:web").status, "paused");
  assert.equal(store.version, 2);
});

test("a node both upserted and removed by one delta ends removed", () => {
  const store = new GraphStore();
  store.replace(sampleGraph());
  const gone = container("gone", "daemon:root");
  const change = store.applyDelta(delta(2, 1, { upsertNodes: [gone], removeNodes: ["container:gone"] }));
  assert.deepEqual([change.addedNodes, change.updatedNodes], [[], []]);
  assert.equal(store.nodes.has("container:gone"), false);
});

test("an edge upserted twice is updated, and removing an unknown edge changes nothing", () => {
  const store = new GraphStore();
  store.replace(sampleGraph());
  const change = store.applyDelta(
    delta(2, 1, { upsertEdges: [socketEdge("dood", "root")], removeEdges: ["socket:nope->none"] }),
  );
  assert.deepEqual(ids(change.updatedEdges), ["socket:dood->root"]);
  assert.deepEqual(change.removedEdges, []);
});

test("reads: children, the chain of parents, counts and the contract form", () => {
  const store = new GraphStore();
  store.replace(sampleGraph());
  assert.deepEqual(ids(store.children("daemon:root")), [
    "container:db",
    "container:dind",
    "container:dood",
    "container:web",
  ]);
  assert.deepEqual(
    store.ancestors("container:inner-app").map((node) => node.id),
    ["daemon:inner", "container:dind", "daemon:root", "host:lab"],
  );
  assert.deepEqual(store.counts(), { host: 2, daemon: 3, container: 6, running: 5 });
  const json = store.toJSON();
  assert.equal(json.version, 1);
  assert.equal(json.nodes.length, 11);
  assert.deepEqual(ids(json.edges), ["socket:dood->root"]);
});

test("a chain of parents that loops ends instead of running forever", () => {
  const store = new GraphStore();
  store.replace({
    version: 1,
    nodes: [container("a", "container:b"), container("b", "container:a")],
    edges: [],
  });
  assert.deepEqual(
    store.ancestors("container:a").map((node) => node.id),
    ["container:b"],
  );
});
