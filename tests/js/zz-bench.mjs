import cytoscape from "cytoscape";
import { nestedGrid, placeArrivals, separateOverlaps } from "../../static/topology/layout.js";
import { separateTree } from "../../static/topology/geometry.js";
const cy = cytoscape({ headless: true, styleEnabled: true, style: [{ selector: "node", style: { width: 184, height: 46, "border-width": 2 } }, { selector: ":parent", style: { padding: 18 } }] });
const nodes = [];
for (let h = 0; h < 4; h++) {
  nodes.push({ id: `h${h}`, kind: "host", label: `bench-host-${h}` }, { id: `d${h}`, kind: "daemon", parent: `h${h}` });
  for (let c = 0; c < 400; c++) {
    const dind = c < 10;
    nodes.push({ id: `c${h}-${c}`, kind: "container", parent: `d${h}`, role: dind ? "dind" : "plain", name: `app-${h}-${c}` });
    if (dind) { nodes.push({ id: `n${h}-${c}`, kind: "daemon", nesting: 1, parent: `c${h}-${c}` }); for (let k = 0; k < 9; k++) nodes.push({ id: `i${h}-${c}-${k}`, kind: "container", parent: `n${h}-${c}`, name: "x" }); }
  }
}
const byId = new Map(nodes.map((n) => [n.id, n])); const nodeOf = (id) => byId.get(id); const lw = () => 250;
cy.add(nodes.map((n) => ({ group: "nodes", data: { ...n } })));
const g = nestedGrid(cy.nodes().orphans().map((n) => n.id()), (id) => cy.getElementById(id).children().map((c) => c.id()), nodeOf, lw);
for (const [id, at] of g.positions) cy.getElementById(id).position(at);
for (let r = 0; r < 12; r++) {
  cy.startBatch();
  const ids = [];
  for (let k = 0; k < 50; k++) { const n = { id: `b${r}-${k}`, kind: "container", parent: "d0", name: "burst" }; byId.set(n.id, n); cy.add({ group: "nodes", data: { ...n } }); ids.push(n.id); }
  const t0 = performance.now();
  const placed = placeArrivals(cy, ids, nodeOf, lw);
  const t1 = performance.now();
  const moved = separateOverlaps(cy, placed, nodeOf, lw);
  const t2 = performance.now();
  cy.endBatch();
  console.log(`round ${r}: place ${(t1 - t0).toFixed(1)} ms, separate ${(t2 - t1).toFixed(1)} ms, moved ${moved}`);
}
cy.destroy();
