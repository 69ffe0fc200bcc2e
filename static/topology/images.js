// Images and registries (contract v2, the images layer): the text of an image chip, sizes in
// words, who runs an image and which image a container runs. Pure functions: no DOM.

const UNITS = ["B", "kB", "MB", "GB", "TB"];

/** Bytes as Docker writes them (decimal units): 4404019 -> "4.4 MB". */
export function formatBytes(bytes) {
  let value = Number(bytes);
  if (!Number.isFinite(value) || value < 0) return "?";
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits).replace(/\.0+$|(\.\d*?)0+$/, "$1")} ${UNITS[unit]}`;
}

function clip(text, max) {
  const value = String(text ?? "");
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

/** The two lines on an image's chip: its first tag (or `<none>` and its short ID), then its
 * size, how many more tags, and how many containers run it. */
export function imageChipText(node) {
  const tags = node.tags || [];
  const name = tags.length ? tags[0] : `<none> ${node.short_id || ""}`.trim();
  const more = tags.length > 1 ? `  +${tags.length - 1} tags` : "";
  const users = node.users ? `  ·  ${node.users} ${node.users === 1 ? "container" : "containers"}` : "";
  return `${clip(name, 26)}\n${formatBytes(node.size)}${more}${users}`;
}

/** A registry's text: its host, and Docker Hub said as such. */
export function registryText(node) {
  const host = clip(node.host || node.label, 28);
  return node.docker_hub ? `${host}\nDocker Hub` : `${host}\nregistry`;
}

/** The containers running image `imageId` (`edges`: the graph's edges, any iterable). */
export function imageUsers(edges, imageId) {
  const users = [];
  for (const edge of edges) if (edge.kind === "image" && edge.target === imageId) users.push(edge.source);
  return users;
}

/** The image node a container runs (by its `image` edge), or null. */
export function containerImage(edges, containerId) {
  for (const edge of edges) if (edge.kind === "image" && edge.source === containerId) return edge.target;
  return null;
}

/** The registry edges of an image, by registry id: where its repositories live. */
export function imageRegistries(edges, imageId) {
  const found = [];
  for (const edge of edges) if (edge.kind === "registry" && edge.source === imageId) found.push(edge);
  return found.sort((a, b) => String(a.target).localeCompare(String(b.target)));
}

/** The same image (by ID) in other daemons' caches: their image nodes (`nodes`: any iterable of
 * the graph's nodes). Each daemon keeps its own copy: a DinD's cache is not its host's. */
export function sameImageElsewhere(nodes, image) {
  const found = [];
  for (const node of nodes) {
    if (node.kind === "image" && node.id !== image.id && node.image_id === image.image_id) found.push(node);
  }
  return found.sort((a, b) => String(a.parent).localeCompare(String(b.parent)));
}

/** Compose's project, service and number as one line: "shop / web #2". */
export function composeText(compose) {
  if (!compose || !compose.project) return "";
  const service = compose.service ? ` / ${compose.service}` : "";
  const number = Number.isInteger(compose.number) ? ` #${compose.number}` : "";
  return `${compose.project}${service}${number}`;
}
