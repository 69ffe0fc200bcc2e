import assert from "node:assert/strict";
import { test } from "node:test";

import { globPattern, idsInView, labelMatcher, nameMatcher, Scope, ScopedGraph } from "../../static/topology/scope.js";
import { GraphStore } from "../../static/topology/store.js";
import { container, delta, sampleGraph } from "./graphs.js";

function storeOf(graph = sampleGraph()) {
  const store = new GraphStore();
  store.replace(graph);
  return store;
}

function inScope(filters, store = storeOf()) {
  const scope = new Scope(filters);
  return [...store.nodes.values()].filter((node) => scope.matches(node, store)).map((node) => node.id).sort();
}

test("globs match whole texts; everything but * and ? is literal", () => {
  assert.ok(globPattern("web-*").test("web-1"));
  assert.ok(!globPattern("web-*").test("my-web-1"));
  assert.ok(globPattern("a?c").test("abc"));
  assert.ok(!globPattern("a.c").test("abc"));
  assert.ok(globPattern("(x)+[y]").test("(x)+[y]"));
});

test("a name pattern is a part of the name, any case, unless it has a wildcard", () => {
  assert.ok(nameMatcher("WEB")("my-web-1"));
  assert.ok(nameMatcher("web*")("Web-1"));
  assert.ok(!nameMatcher("web*")("my-web"));
});

test("a label pattern is key=value (glob) or a bare key that must be there", () => {
  const labels = { tier: "front-end", "com.example.team": "ops" };
  assert.ok(labelMatcher("tier=front*")(labels));
  assert.ok(!labelMatcher("tier=back*")(labels));
  assert.ok(labelMatcher("com.example.*")(labels));
  assert.ok(!labelMatcher("missing")(labels));
  assert.ok(!labelMatcher("Tier=front-end")(labels)); // case as typed
});

test("no filter: everything is in scope", () => {
  const scope = new Scope({});
  assert.equal(scope.active, false);
  assert.equal(new Scope(null).active, false);
  assert.equal(inScope({}).length, 11);
});

test("each filter holds by itself, and together every one must", () => {
  assert.deepEqual(inScope({ roles: ["dind", "dood"] }), ["container:dind", "container:dood"]);
  assert.deepEqual(inScope({ states: ["exited"] }), ["container:db"]);
  assert.deepEqual(inScope({ label: "tier=front" }), ["container:web"]);
  assert.deepEqual(inScope({ name: "inner" }), ["container:inner-app", "daemon:inner"]);
  assert.deepEqual(inScope({ hosts: ["host:other"] }), ["container:far-app", "daemon:far", "host:other"]);
  assert.deepEqual(inScope({ daemons: ["daemon:inner"] }), ["container:inner-app", "daemon:inner"]);
  assert.deepEqual(inScope({ hosts: ["host:lab"], states: ["running"], roles: ["plain"] }), [
    "container:inner-app",
    "container:web",
  ]);
});

test("values of the wrong type are left out, never thrown on", () => {
  const scope = new Scope({ roles: "dind", states: [1, "exited"], name: 7 });
  assert.deepEqual(Object.keys(scope.lists), ["states"]);
  assert.equal(scope.nameMatches, null);
});

test("a scoped view holds what is in scope and the boxes around it", () => {
  const store = storeOf();
  const ids = [...idsInView(store, new Scope({ daemons: ["daemon:inner"] }))].sort();
  assert.deepEqual(ids, ["container:dind", "container:inner-app", "daemon:inner", "daemon:root", "host:lab"]);
  assert.equal(idsInView(store, new Scope({})).size, 11);
});

test("a scoped graph follows the store: arrivals in scope are added, what leaves is removed", () => {
  const store = storeOf();
  const scoped = new ScopedGraph(store, new Scope({ states: ["exited"] }));
  const first = scoped.follow(store.replace(sampleGraph()));
  assert.deepEqual(first.addedNodes.map((node) => node.id).sort(), ["container:db", "daemon:root", "host:lab"]);
  assert.equal(scoped.version, 1);

  const db = { ...store.nodes.get("container:db"), status: "running" };
  const stopped = container("late", "daemon:far", { status: "exited" });
  const change = scoped.follow(store.applyDelta(delta(2, 1, { upsertNodes: [db, stopped] })));
  assert.deepEqual(change.addedNodes.map((node) => node.id).sort(), ["container:late", "daemon:far", "host:other"]);
  assert.deepEqual(change.removedNodes.sort(), ["container:db", "daemon:root", "host:lab"]);
  assert.deepEqual([...scoped.nodes.keys()].sort(), ["container:late", "daemon:far", "host:other"]);
  assert.equal(scoped.edges.size, 0);
  assert.equal(scoped.version, 2);
});

test("an edge is in a scoped graph when both its ends are", () => {
  const store = storeOf();
  const scoped = new ScopedGraph(store, new Scope({ roles: ["dood"] }));
  const change = scoped.follow(store.replace(sampleGraph()));
  assert.deepEqual(change.addedEdges.map((edge) => edge.id), ["socket:dood->root"]);
});
