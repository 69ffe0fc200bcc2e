// Exports: the view as PNG or SVG (what is on screen), the graph as JSON or DOT (all of it).

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

export function exportJson(store) {
  const text = JSON.stringify(store.toJSON(), null, 2);
  download(new Blob([text], { type: "application/json" }), `${stamp(store.version)}.json`);
}

export async function exportDot(url, version) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/vnd.graphviz" } });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  download(await response.blob(), `${stamp(version)}.dot`);
}
