import assert from "node:assert/strict";
import { test } from "node:test";

import { passes, searchText } from "../../static/topology/filters.js";
import { GraphStore } from "../../static/topology/store.js";
import { sampleGraph } from "./graphs.js";

const NONE = { q: "", host: "", daemon: "", role: "", state: "" };

function matching(values) {
  const store = new GraphStore();
  store.replace(sampleGraph());
  return [...store.nodes.values()]
    .filter((node) => passes({ ...NONE, ...values }, node, store))
    .map((node) => node.id)
    .sort();
}

test("no filter lets everything through", () => {
  assert.equal(matching({}).length, 11);
});

test("role and state filters keep containers only", () => {
  assert.deepEqual(matching({ role: "dind" }), ["container:dind"]);
  assert.deepEqual(matching({ state: "exited" }), ["container:db"]);
  assert.deepEqual(matching({ role: "plain", state: "running" }), ["container:far-app", "container:inner-app", "container:web"]);
});

test("host and daemon filters follow the chain of parents, nested daemons included", () => {
  assert.deepEqual(matching({ host: "host:other" }), ["container:far-app", "daemon:far", "host:other"]);
  assert.deepEqual(matching({ daemon: "daemon:inner" }), ["container:inner-app", "daemon:inner"]);
  assert.deepEqual(matching({ host: "host:lab", daemon: "daemon:far" }), []);
});

test("a search looks through names, images, labels and short ids, in any case", () => {
  assert.deepEqual(matching({ q: "INNER" }), ["container:inner-app", "daemon:inner"]);
  assert.deepEqual(matching({ q: "tier=back" }), ["container:db"]);
  assert.equal(matching({ q: "busybox" }).length, 6); // every container
  assert.deepEqual(matching({ q: "far-app", state: "exited" }), []);
  const text = searchText({ id: "container:0123456789abcdef", label: "Web", labels: { a: "b" } });
  assert.ok(text.includes("0123456789ab") && !text.includes("0123456789abc") && text.includes("a=b"));
});

test("a cached search text stands in for the node's own", () => {
  const store = new GraphStore();
  store.replace(sampleGraph());
  const web = store.nodes.get("container:web");
  assert.equal(passes({ ...NONE, q: "cached" }, web, store, () => "a cached text"), true);
});
