import assert from "node:assert/strict";
import { test } from "node:test";

import { edgeData, socketPinId, wantedPins } from "../../static/topology/pins.js";
import { GraphStore } from "../../static/topology/store.js";
import { container, sampleGraph, socketEdge } from "./graphs.js";

test("a socket edge ends at its daemon's pin and remembers the daemon", () => {
  const data = edgeData(socketEdge("dood", "root"));
  assert.equal(data.target, socketPinId("daemon:root"));
  assert.equal(data.daemon, "daemon:root");
  assert.equal(data.source, "container:dood");
  const other = { id: "created:a->b", kind: "created", source: "container:a", target: "container:b" };
  assert.deepEqual(edgeData(other), other);
});

test("one pin for each drawn daemon that a socket edge reaches", () => {
  const graph = sampleGraph();
  graph.nodes.push(container("dood2", "daemon:far", { role: "dood" }));
  graph.edges.push(socketEdge("dood2", "root"), socketEdge("dood2", "far"));
  const store = new GraphStore();
  store.replace(graph);
  const drawn = new Set(["daemon:root"]);
  const pins = wantedPins(store, (id) => drawn.has(id));
  assert.deepEqual([...pins.keys()], ["daemon:root"]);
  const pin = pins.get("daemon:root");
  assert.equal(pin.id, "socket-pin:daemon:root");
  assert.equal(pin.kind, "socket");
  assert.equal(typeof pin.display, "string");
  drawn.add("daemon:far");
  assert.deepEqual([...wantedPins(store, (id) => drawn.has(id)).keys()].sort(), ["daemon:far", "daemon:root"]);
});
