// Exposure in the dashboards' tiles and scope (node --test).

import assert from "node:assert/strict";
import { test } from "node:test";

import { Scope } from "../../static/topology/scope.js";
import { summarise } from "../../static/topology/tiles.js";

const container = (id, exposure) => ({ id, kind: "container", role: "plain", status: "running", exposure });

test("the exposure tile counts exposed containers and each way", () => {
  const nodes = [
    container("a", ["public"]),
    container("b", ["public", "socket"]),
    container("c", []),
    container("d", undefined),
    { id: "n", kind: "network" },
  ];
  const summary = summarise(nodes, () => true);
  assert.deepEqual(summary.exposure, { total: 2, public: 2, socket: 1 });
});

test("an exposure scope holds the containers exposed in one of its ways", () => {
  const scope = new Scope({ exposure: ["socket"] });
  const store = { ancestors: () => [] };
  assert.ok(scope.active);
  assert.ok(scope.matches(container("b", ["public", "socket"]), store));
  assert.ok(!scope.matches(container("a", ["public"]), store));
  assert.ok(!scope.matches({ id: "n", kind: "network" }, store));
});
