// static/topology/highlight.js: which nodes a link lights up, and what stays lit around them.

import assert from "node:assert/strict";
import test from "node:test";

import { highlightHref, keptAround, MAX_HIGHLIGHT, parseHighlight } from "../../static/topology/highlight.js";

const hex = (digit) => digit.repeat(64);

test("a link's ids are read back, checked, without repeats", () => {
  const ids = [`container:${hex("a")}`, "daemon:ABCD:EFGH", `container:${hex("a")}`];
  const href = highlightHref(ids);
  assert.equal(href, `/?highlight=container%3A${hex("a")},daemon%3AABCD%3AEFGH`);
  assert.deepEqual(parseHighlight(href.slice(1)), [`container:${hex("a")}`, "daemon:ABCD:EFGH"]);
});

test("anything that is not a node id is dropped", () => {
  const search = "?highlight=javascript:alert(1),<img>,container:,host:build-01&highlight=daemon:X";
  assert.deepEqual(parseHighlight(search), ["host:build-01", "daemon:X"]);
  assert.deepEqual(parseHighlight(""), []);
  assert.equal(highlightHref(["nonsense"]), "/");
});

test("at most MAX_HIGHLIGHT ids", () => {
  const many = Array.from({ length: 100 }, (_, index) => `container:${String(index).padStart(64, "0")}`);
  assert.equal(parseHighlight(`?highlight=${many.join(",")}`).length, MAX_HIGHLIGHT);
  assert.equal(highlightHref(many).split(",").length, MAX_HIGHLIGHT);
});

test("the boxes around a highlighted node and what it holds stay lit, nothing else", () => {
  const parents = {
    "host:h": null,
    "daemon:D": "host:h",
    "container:dind": "daemon:D",
    "daemon:N": "container:dind",
    "container:c3": "daemon:N",
    "container:c1": "daemon:D",
  };
  const parentOf = (id) => parents[id] ?? null;
  const kept = keptAround(["daemon:N"], parentOf, Object.keys(parents));
  assert.deepEqual([...kept].sort(), ["container:c3", "container:dind", "daemon:D", "daemon:N", "host:h"]);
  assert.equal(kept.has("container:c1"), false);
});
