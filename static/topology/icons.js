// Icons as self-contained SVG data URIs, so that they also survive an SVG or PNG export.

const PATHS = {
  host: '<rect x="3" y="3.5" width="18" height="7" rx="1.6"/><rect x="3" y="13.5" width="18" height="7" rx="1.6"/><path d="M7 7h.01M7 17h.01M11 7h6M11 17h6"/>',
  daemon: '<path d="M12 2.5l8.2 4.75v9.5L12 21.5l-8.2-4.75v-9.5z"/><circle cx="12" cy="12" r="3.4"/>',
  container: '<path d="M12 3l8 4.5v9L12 21l-8-4.5v-9z"/><path d="M4 7.5l8 4.5 8-4.5M12 12v9"/>',
  dind: '<path d="M12 2.8l8.5 4.6-8.5 4.6-8.5-4.6z"/><path d="M3.5 12l8.5 4.6 8.5-4.6"/><path d="M3.5 16.4l8.5 4.6 8.5-4.6"/>',
  dood: '<path d="M9 2.5v5M15 2.5v5"/><path d="M6 7.5h12v3.5a6 6 0 0 1-12 0z"/><path d="M12 17v4.5"/>',
  socket: '<rect x="3" y="3" width="18" height="18" rx="5"/><path d="M9 8.5v3.5M15 8.5v3.5M9.5 16h5"/>',
  network: '<path d="M2.5 12h19"/><path d="M6 12V6.5M12 12V6.5M18 12V6.5M9 12v5.5M15 12v5.5"/><circle cx="6" cy="5" r="1.5"/><circle cx="12" cy="5" r="1.5"/><circle cx="18" cy="5" r="1.5"/><circle cx="9" cy="19" r="1.5"/><circle cx="15" cy="19" r="1.5"/>',
  volume: '<ellipse cx="12" cy="5.5" rx="7.5" ry="2.5"/><path d="M4.5 5.5v13c0 1.4 3.4 2.5 7.5 2.5s7.5-1.1 7.5-2.5v-13"/><path d="M4.5 12c0 1.4 3.4 2.5 7.5 2.5s7.5-1.1 7.5-2.5"/>',
  folder: '<path d="M3 6.5a1.5 1.5 0 0 1 1.5-1.5h4.2l2 2.2h8.8A1.5 1.5 0 0 1 21 8.7v9.8a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 18.5z"/>',
  ports: '<path d="M4 12h11"/><path d="M11 7.5l4.5 4.5-4.5 4.5"/><rect x="16.5" y="5" width="4" height="14" rx="1.2"/>',
  image: '<rect x="3.5" y="3.5" width="17" height="17" rx="2.5"/><path d="M3.5 9h17M9 9v11.5"/>',
  registry: '<path d="M4 9.5L12 4l8 5.5"/><path d="M5.5 10v8M10 10v8M14 10v8M18.5 10v8"/><path d="M3.5 20h17"/>',
  public: '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c2.6 2.7 2.6 15.3 0 18M12 3c-2.6 2.7-2.6 15.3 0 18"/>',
};

const COLOURS = {
  host: "#9fb3c8",
  daemon: "#79b8ff",
  nested: "#c4a5ff",
  plain: "#c9d6e3",
  dind: "#c4a5ff",
  dood: "#ffab70",
  socket: "#ffab70",
  network: "#56d4dd",
  volume: "#d2a8ff",
  folder: "#e3b341",
  ports: "#ff7b72",
  public: "#ff7b72",
  image: "#7ee787",
  registry: "#f2cc60",
};

function svgText(path, colour) {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24" ` +
    `fill="none" stroke="${colour}" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">` +
    `${path}</svg>`
  );
}

function dataUri(path, colour) {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText(path, colour))}`;
}

const SOURCES = {
  host: [PATHS.host, COLOURS.host],
  daemon: [PATHS.daemon, COLOURS.daemon],
  nested: [PATHS.daemon, COLOURS.nested],
  plain: [PATHS.container, COLOURS.plain],
  dind: [PATHS.dind, COLOURS.dind],
  dood: [PATHS.dood, COLOURS.dood],
  socket: [PATHS.socket, COLOURS.socket],
  network: [PATHS.network, COLOURS.network],
  volume: [PATHS.volume, COLOURS.volume],
  folder: [PATHS.folder, COLOURS.folder],
  ports: [PATHS.ports, COLOURS.ports],
  public: [PATHS.public, COLOURS.public],
  image: [PATHS.image, COLOURS.image],
  registry: [PATHS.registry, COLOURS.registry],
  "exposed-socket": [PATHS.socket, COLOURS.public],
};

/**
 * Icon URIs by name: host, daemon, nested (daemon), plain, dind, dood (containers), socket,
 * network, volume, folder (a host path), image, registry, ports (a published-port pin), and the exposure badges
 * public and exposed-socket.
 */
export const ICONS = Object.freeze(
  Object.fromEntries(Object.entries(SOURCES).map(([name, [path, colour]]) => [name, dataUri(path, colour)])),
);

let blobUrls = null;
const preloaded = [];

/**
 * The same icons as short blob: URLs, for the graph's stylesheet. Cytoscape hashes every string
 * property of every element, character by character, when it styles it: a data URI of some 500
 * characters per node was a large share of the time a big snapshot took to appear. (Exports still
 * carry the pictures: they are drawn from the loaded images.)
 *
 * The images are loaded at once, the way Cytoscape will ask for them (CORS anonymous): a node
 * drawn before its image has loaded is styled again, and again when it arrives.
 */
export function iconUrls() {
  if (!blobUrls) {
    const urls = {};
    for (const [name, [path, colour]] of Object.entries(SOURCES)) {
      urls[name] = URL.createObjectURL(new Blob([svgText(path, colour)], { type: "image/svg+xml" }));
      const image = new Image();
      image.crossOrigin = "anonymous";
      image.src = urls[name];
      preloaded.push(image);
    }
    blobUrls = Object.freeze(urls);
  }
  return blobUrls;
}

/** The icon name for a contract node. */
export function iconFor(node) {
  if (node.kind === "host") return "host";
  if (node.kind === "daemon") return node.nesting > 0 ? "nested" : "daemon";
  if (node.kind === "container") return ICONS[node.role] ? node.role : "plain";
  if (node.kind === "network") return "network";
  if (node.kind === "volume") return node.type === "bind" ? "folder" : "volume";
  if (node.kind === "image" || node.kind === "registry") return node.kind;
  return "plain";
}

/** Fill every <img data-icon="..."> under `root` with its icon. */
export function fillIcons(root) {
  for (const img of root.querySelectorAll("img[data-icon]")) {
    const uri = ICONS[img.dataset.icon];
    if (uri) img.src = uri;
  }
}
