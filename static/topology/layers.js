// The layer switch: which parts of the graph the map asks the server for (contract v2), kept in
// the URL (`?layers=containment,networks`). Hosts, daemons and containers are always drawn; each
// layer adds its own: containment the DooD socket edges, networks the buses, attachments and
// port paths, volumes the shared volumes and host folders with their mounts, images each
// daemon's image cache (chips in its box), the registries outside the hosts and the lines to them.

export const LAYERS = ["containment", "networks", "volumes", "images"];
export const DEFAULT_LAYERS = ["containment", "networks"];

/** The layers a URL's query asks for (unknown names dropped), or the default ones. */
export function layersFromQuery(search) {
  const asked = new URLSearchParams(search).get("layers");
  if (asked === null) return [...DEFAULT_LAYERS];
  const names = new Set(asked.split(",").map((name) => name.trim()));
  const chosen = LAYERS.filter((name) => names.has(name));
  return chosen.length ? chosen : [...DEFAULT_LAYERS];
}

/** The URL parameter for `layers`: empty for the default ones. */
export function layersParam(layers) {
  const chosen = LAYERS.filter((name) => layers.includes(name));
  const isDefault = chosen.length === DEFAULT_LAYERS.length && DEFAULT_LAYERS.every((name) => chosen.includes(name));
  return isDefault ? "" : chosen.join(",");
}

/** `layers` with `name` switched on or off; the last one left stays on. */
export function toggleLayer(layers, name) {
  if (!LAYERS.includes(name)) return [...layers];
  const on = layers.includes(name);
  if (on && layers.length === 1) return [...layers];
  const next = on ? layers.filter((layer) => layer !== name) : [...layers, name];
  return LAYERS.filter((layer) => next.includes(layer));
}

/** The websocket address with the layers to send from the first snapshot on. */
export function websocketUrl(url, layers) {
  const address = new URL(url);
  address.searchParams.set("layers", LAYERS.filter((name) => layers.includes(name)).join(","));
  return address.href;
}
