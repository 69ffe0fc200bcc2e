// Exports: the view as PNG or SVG (what is on screen), the graph as JSON (what the filters and a
// dashboard's scope leave shown) or DOT (all of it, from the server).

const BACKGROUND = "#0b1118";

function stamp(version) {
  const now = new Date().toISOString().replace(/[:]/g, "").replace(/\..*$/, "Z");
  return `topology-v${version ?? 0}-${now}`;
}

function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export async function exportPng(cy, version) {
  const blob = await cy.png({ output: "blob-promise", bg: BACKGROUND, full: false, scale: 2 });
  download(blob, `${stamp(version)}.png`);
}

export function exportSvg(cy, version) {
  const svg = cy.svg({ full: false, bg: BACKGROUND, scale: 1 });
  download(new Blob([svg], { type: "image/svg+xml" }), `${stamp(version)}.svg`);
}

/**
 * The shown part of the graph in contract form: shown nodes, and the edges between them.
 *
 * @param {import("./store.js").GraphStore} store
 * @param {(id: string) => boolean} isShown
 */
export function shownGraph(store, isShown) {
  const graph = store.toJSON();
  const nodes = graph.nodes.filter((node) => isShown(node.id));
  const ids = new Set(nodes.map((node) => node.id));
  const edges = graph.edges.filter((edge) => ids.has(edge.source) && ids.has(edge.target));
  return { ...graph, nodes, edges };
}

export function exportJson(store, isShown = () => true) {
  const text = JSON.stringify(shownGraph(store, isShown), null, 2);
  download(new Blob([text], { type: "application/json" }), `${stamp(store.version)}.json`);
}

export async function exportDot(url, version) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/vnd.graphviz" } });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  download(await response.blob(), `${stamp(version)}.dot`);
}
