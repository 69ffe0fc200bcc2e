// static/topology/detail-level.js: when daemons are drawn as summaries, and a summary round trip
// on a real (headless) Cytoscape gives back exactly what it took.

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import cytoscape from "cytoscape";

import {
  DetailLevel,
  SUMMARY_STYLE,
  EXPAND_FROM_ZOOM,
  SUMMARISE_BELOW_ZOOM,
  SUMMARY_FROM_LEAVES,
  summaryCounts,
  summaryFontSize,
  summaryText,
  summaryTitle,
  wantsSummary,
} from "../../static/topology/detail-level.js";
import { edgeData, socketPinId, syncSocketPins } from "../../static/topology/pins.js";
import { GraphStore } from "../../static/topology/store.js";
import { LEAF_HEIGHT, LEAF_WIDTH } from "../../static/topology/style.js";
import { container, sampleGraph } from "./graphs.js";

const LARGE = SUMMARY_FROM_LEAVES;

test("summaries only for a large map seen from far, with a band where nothing changes", () => {
  assert.equal(wantsSummary({ leaves: LARGE - 1, zoom: 0.01, near: false }), false);
  assert.equal(wantsSummary({ leaves: LARGE, zoom: SUMMARISE_BELOW_ZOOM / 2, near: true }), true);
  assert.equal(wantsSummary({ leaves: LARGE, zoom: SUMMARISE_BELOW_ZOOM / 2, near: true, busy: true }), false);
  const between = (SUMMARISE_BELOW_ZOOM + EXPAND_FROM_ZOOM) / 2;
  assert.equal(wantsSummary({ leaves: LARGE, zoom: between, near: true }), null);
  assert.equal(wantsSummary({ leaves: LARGE, zoom: EXPAND_FROM_ZOOM, near: true }), false);
  assert.equal(wantsSummary({ leaves: LARGE, zoom: EXPAND_FROM_ZOOM, near: false }), true);
});

test("a summary counts containers, running ones, DinD, DooD, nested daemons and networks", () => {
  const inside = new Set(["daemon:root", "container:dind", "daemon:inner"]);
  const nodes = sampleGraph().nodes.filter((node) => inside.has(node.parent));
  nodes.push({ id: "network:n", kind: "network", parent: "daemon:root" });
  const counts = summaryCounts(nodes);
  assert.deepEqual(counts, { containers: 5, running: 4, dind: 1, dood: 1, networks: 1, daemons: 1 });
  const text = summaryText(counts);
  assert.equal(text, "5 containers\n4 running · 1 DinD · 1 DooD\n1 network · 1 nested daemon");
  assert.equal(summaryText(summaryCounts([container("a", "daemon:d")])), "1 container\nall running");
  assert.equal(summaryText(summaryCounts([]), "lab").split("\n")[0], "lab");
  const [lab, root] = [{ label: "lab" }, { label: "root" }];
  assert.equal(summaryTitle(root, lab), "lab");
  assert.equal(summaryTitle(root, lab, 2), "lab · root");
  assert.equal(summaryTitle(root, null), "root");
  assert.ok(summaryFontSize({ w: 6000, h: 3000 }) <= 400 && summaryFontSize({ w: 10, h: 10 }) >= 24);
});

let cy = null;
afterEach(() => {
  cy?.destroy();
  cy = null;
});

/** The sample graph drawn as the page draws it: leaves in a row in each box, the socket pin. */
function drawn() {
  const store = new GraphStore();
  store.replace(sampleGraph());
  cy = cytoscape({
    headless: true,
    styleEnabled: true,
    style: [{ selector: "node", style: { width: LEAF_WIDTH, height: LEAF_HEIGHT } }, SUMMARY_STYLE],
  });
  const nodes = [...store.nodes.values()];
  cy.add(nodes.map((node, index) => ({
    group: "nodes",
    data: { ...node },
    position: { x: index * (LEAF_WIDTH + 20), y: 0 },
  })));
  syncSocketPins(cy, store, []);
  cy.add([...store.edges.values()].map((edge) => ({ group: "edges", data: edgeData(edge) })));
  return store;
}

function picture() {
  return cy.elements().map((element) => `${element.id()}@${JSON.stringify(element.isNode() ? element.position() : null)}`).sort();
}

test("a summarised daemon keeps its box; expanding gives back every node and edge, in place", () => {
  const store = drawn();
  const detail = new DetailLevel(cy, { graph: store });
  const before = picture();
  const box = cy.getElementById("daemon:root").boundingBox();
  detail.summarise([cy.getElementById("daemon:root")]);
  assert.ok(detail.active);
  assert.ok(detail.isKept("container:inner-app") && detail.isKept(socketPinId("daemon:root")));
  assert.ok(cy.getElementById("container:web").empty() && cy.edges().empty());
  const summary = cy.getElementById("summary:daemon:root");
  assert.equal(summary.parent().id(), "daemon:root");
  assert.match(summary.data("display"), /^lab\n5 containers\n4 running/);
  const kept = cy.getElementById("daemon:root").boundingBox();
  assert.ok(Math.abs(kept.w - box.w) < 1 && Math.abs(kept.h - box.h) < 1, JSON.stringify({ kept, box }));
  assert.ok(cy.getElementById("container:far-app").nonempty(), "other daemons are left alone");

  // A pin is not drawn twice while its daemon's contents are kept aside.
  syncSocketPins(cy, store, [], (id) => detail.kept.has(id));
  assert.ok(cy.getElementById(socketPinId("daemon:root")).empty());

  detail.expand();
  assert.ok(!detail.active);
  assert.deepEqual(picture(), before);
});

test("a change inside a summarised daemon names it; a node there is revealed on demand", () => {
  const store = drawn();
  const detail = new DetailLevel(cy, { graph: store });
  detail.summarise([cy.getElementById("daemon:root"), cy.getElementById("daemon:far")]);
  const change = store.applyDelta({
    type: "delta",
    version: 2,
    since: 1,
    upsert: { nodes: [container("new", "daemon:inner")], edges: [] },
    remove: { nodes: ["container:far-app"], edges: [] },
  });
  assert.deepEqual(detail.touchedBy(change).sort(), ["daemon:far", "daemon:root"]);
  let restored = 0;
  detail.onRestored(() => (restored += 1));
  detail.reveal("container:inner-app");
  assert.ok(cy.getElementById("container:inner-app").nonempty() && restored === 1);
  assert.ok(cy.edges().nonempty(), "the socket edge is back with both its ends");
  assert.deepEqual([...detail.kept.keys()], ["daemon:far"]);
});

test("a change all inside one summarised daemon waits for it, counted in its summary at once", () => {
  const store = drawn();
  const applied = [];
  const detail = new DetailLevel(cy, { graph: store, applyDeferred: (change) => applied.push(change) });
  detail.summarise([cy.getElementById("daemon:root"), cy.getElementById("daemon:far")]);
  const inside = store.applyDelta({
    type: "delta",
    version: 2,
    since: 1,
    upsert: { nodes: [container("new", "daemon:inner")], edges: [] },
    remove: { nodes: [], edges: [] },
  });
  assert.ok(detail.defer(inside));
  assert.match(cy.getElementById("summary:daemon:root").data("display"), /^lab\n6 containers\n5 running/);
  const across = store.applyDelta({
    type: "delta",
    version: 3,
    since: 2,
    upsert: { nodes: [container("moved", "daemon:far")], edges: [] },
    remove: { nodes: ["container:web"], edges: [] },
  });
  assert.equal(detail.defer(across), false, "two daemons: given back and applied at once");
  const daemonChange = { ...inside, updatedNodes: [store.nodes.get("daemon:root")], addedNodes: [] };
  assert.equal(detail.defer(daemonChange), false, "the daemon itself is drawn");
  assert.deepEqual(applied, []);
  detail.expand(["daemon:root"]);
  assert.deepEqual(applied, [inside]);
  detail.expand(["daemon:root"]);
  assert.equal(applied.length, 1, "applied once");
});
