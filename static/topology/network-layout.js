// Networks drawn as buses. Inside a daemon's box each network is a band: its bus (a bar as wide
// as the band) on top, the containers attached to it in rows below; a container on several
// networks sits in the band of the first, in its last rows, next to the bus of the next. Each
// attachment runs as a short stub out of the container's side into the gap between columns and
// along it to the bus (up the left gap to a bus above, down the right gap to one below): lines
// never cross a container and never cross each other. Pure functions: no Cytoscape here.

import { LEAF_HEIGHT, LEAF_WIDTH } from "./style.js";

export const BUS_HEIGHT = 24;
const BUS_GAP = 14; // from a bus to the first row of its members
const BAND_GAP = 26; // from the last row of a band to the next bus
const SIDE = 16; // room left and right of a band, for the gaps beside its outer columns
const DROP = 8; // how far into the gap beside a container its line runs
const LEAF_GAP_X = 16;
const LEAF_GAP_Y = 14;
const WIDE = 3;

/**
 * The networks of a box's children, who goes in which band, and in what order.
 *
 * @param {object[]} nodes  a box's children (contract nodes, sorted as the grid sorts them)
 * @param {{networksOf: (id: string) => string[], netnsOf: (id: string) => string|null,
 *          volumesOf: (id: string) => string[]}} links  a container's networks, the container
 *   whose network stack it shares, and the volumes it mounts (node ids)
 * @returns {{bus: string|null, members: string[]}[]|null}  null when no network is among them
 */
export function networkBands(nodes, links) {
  const networks = nodes.filter((node) => node.kind === "network");
  if (networks.length === 0) return null;
  const here = new Set(nodes.map((node) => node.id));
  const containers = nodes.filter((node) => node.kind === "container");
  const netsOf = new Map(containers.map((node) => [node.id, links.networksOf(node.id).filter((id) => here.has(id))]));
  const order = busOrder(networks, containers, netsOf);
  const rank = new Map(order.map((id, index) => [id, index]));
  const bands = new Map(order.map((id) => [id, []]));
  const bandOf = new Map();
  const rest = [];
  for (const node of containers) {
    const nets = netsOf.get(node.id);
    if (!nets.length) continue;
    const first = nets.reduce((best, id) => (rank.get(id) < rank.get(best) ? id : best));
    bandOf.set(node.id, first);
  }
  // A container sharing another's network stack sits with it (as far as that one has a band).
  for (const node of containers) {
    if (bandOf.has(node.id)) continue;
    const target = links.netnsOf(node.id);
    if (target && bandOf.has(target)) bandOf.set(node.id, bandOf.get(target));
  }
  const lastRow = (id) => (netsOf.get(id) || []).some((net) => rank.get(net) > rank.get(bandOf.get(id)));
  for (const node of containers) {
    const band = bandOf.get(node.id);
    if (band) bands.get(band).push(node.id);
    else rest.push(node.id);
  }
  for (const members of bands.values()) {
    // Containers that also reach a later bus go last, next to it; a sidecar follows its host.
    const position = new Map(members.map((id, index) => [id, index]));
    const key = (id) => {
      const target = links.netnsOf(id);
      const anchor = target && position.has(target) ? target : id;
      return [lastRow(anchor) ? 1 : 0, position.get(anchor), anchor === id ? 0 : 1];
    };
    members.sort((a, b) => {
      const [ka, kb] = [key(a), key(b)];
      return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2];
    });
  }
  // A volume goes to the band most of its users are in; everything else after the bands.
  for (const node of nodes) {
    if (node.kind === "network" || node.kind === "container") continue;
    if (node.kind === "volume") {
      const votes = new Map();
      for (const container of containers) {
        if (!links.volumesOf(container.id).includes(node.id) || !bandOf.has(container.id)) continue;
        const band = bandOf.get(container.id);
        votes.set(band, (votes.get(band) || 0) + 1);
      }
      const best = [...votes].sort((a, b) => b[1] - a[1] || rank.get(a[0]) - rank.get(b[0]))[0];
      if (best) {
        bands.get(best[0]).push(node.id);
        continue;
      }
    }
    rest.unshift(node.id);
  }
  const result = order.map((id) => ({ bus: id, members: bands.get(id) }));
  if (rest.length) result.push({ bus: null, members: rest });
  return result;
}

/**
 * Buses top to bottom: user networks before the built-in ones (bridge, host, none: drawn
 * quieter, last); each next bus the one sharing most containers with the last placed, so that a
 * container on two networks sits between their buses.
 */
function busOrder(networks, containers, netsOf) {
  const size = new Map(networks.map((node) => [node.id, 0]));
  const shared = new Map();
  const pair = (a, b) => (a < b ? `${a}\n${b}` : `${b}\n${a}`);
  for (const node of containers) {
    const nets = netsOf.get(node.id);
    for (const id of nets) size.set(id, (size.get(id) || 0) + 1);
    for (let i = 0; i < nets.length; i += 1) {
      for (let j = i + 1; j < nets.length; j += 1) shared.set(pair(nets[i], nets[j]), (shared.get(pair(nets[i], nets[j])) || 0) + 1);
    }
  }
  const byNode = new Map(networks.map((node) => [node.id, node]));
  const score = (id) => [byNode.get(id).builtin ? 1 : 0, -size.get(id), String(byNode.get(id).name || byNode.get(id).label)];
  const compare = (a, b) => {
    const [sa, sb] = [score(a), score(b)];
    return sa[0] - sb[0] || sa[1] - sb[1] || sa[2].localeCompare(sb[2]) || a.localeCompare(b);
  };
  const left = new Set(networks.map((node) => node.id));
  const order = [];
  while (left.size) {
    const last = order[order.length - 1];
    const candidates = [...left].sort((a, b) => {
      const builtin = score(a)[0] - score(b)[0];
      if (builtin) return builtin;
      const affinity = last ? (shared.get(pair(last, b)) || 0) - (shared.get(pair(last, a)) || 0) : 0;
      return affinity || compare(a, b);
    });
    order.push(candidates[0]);
    left.delete(candidates[0]);
  }
  return order;
}

/**
 * Stack the bands of a box: one column count for all (so the gaps line up from bus to bus),
 * chosen for a landscape box; each bus as wide as the stack.
 *
 * @param {{bus: string|null, members: string[]}[]} bands
 * @param {{arrange: (nodes: object[], columns: number) => {width: number, height: number,
 *          items: {id: string, dx: number, dy: number}[]},
 *          sized: (id: string, w: number, h: number) => void}} tools  from `nestedGrid`
 * @param {(id: string) => object} nodeOf
 */
export function stackBands(bands, tools, nodeOf) {
  const cellW = LEAF_WIDTH + LEAF_GAP_X;
  const cellH = LEAF_HEIGHT + LEAF_GAP_Y;
  const count = bands.reduce((sum, band) => sum + band.members.length, 0);
  const tallest = Math.max(1, ...bands.map((band) => band.members.length));
  const rows = bands.length * (BUS_HEIGHT + BUS_GAP + BAND_GAP);
  // Width w for which (stack height) * WIDE is about w: w^2 = WIDE * (count * cellW * cellH + rows * w).
  const width = (WIDE * rows + Math.sqrt((WIDE * rows) ** 2 + 4 * WIDE * count * cellW * cellH)) / 2;
  const columns = Math.max(1, Math.min(tallest, Math.round(width / cellW)));
  const arranged = bands.map((band) => tools.arrange(band.members.map(nodeOf).filter(Boolean), columns));
  const inner = Math.max(columns * cellW - LEAF_GAP_X, ...arranged.map((part) => part.width));
  const stackWidth = inner + 2 * SIDE;
  const items = [];
  let y = 0;
  bands.forEach((band, index) => {
    const part = arranged[index];
    if (band.bus) {
      tools.sized(band.bus, stackWidth, BUS_HEIGHT);
      items.push({ id: band.bus, dx: 0, dy: y });
      y += BUS_HEIGHT + (part.items.length ? BUS_GAP : 0);
    }
    for (const item of part.items) items.push({ id: item.id, dx: item.dx + SIDE, dy: item.dy + y });
    y += part.height + BAND_GAP;
  });
  return { width: stackWidth, height: Math.max(0, y - BAND_GAP), items };
}

/**
 * The `bands` option of `nestedGrid` for a graph's links (see `networkBands`).
 */
export function busBands(links) {
  return (nodes, tools) => {
    const bands = networkBands(nodes, links);
    if (!bands) return null;
    const byId = new Map(nodes.map((node) => [node.id, node]));
    return stackBands(bands, tools, (id) => byId.get(id));
  };
}

/**
 * How an attachment edge is drawn from a container to a bus: out of the container's side, along
 * the gap beside it, into the bus. `source` and `bus` are boxes ({x, y, w, h}: centre and size).
 * Returns Cytoscape `segments` data (weights and distances relative to the line between the
 * centres, both endpoints), or null where the container is not under or over the bus (another
 * layout, a node dragged aside): such an edge is drawn straight.
 */
export function busRoute(source, bus) {
  const above = bus.y < source.y;
  const side = above ? source.x - source.w / 2 - DROP : source.x + source.w / 2 + DROP;
  const edgeY = bus.y + ((above ? 1 : -1) * bus.h) / 2;
  const reach = bus.w / 2 - 4;
  if (Math.abs(side - bus.x) > reach + 2 * DROP || (above ? source.y - source.h / 2 < edgeY : source.y + source.h / 2 > edgeY)) {
    return null;
  }
  const gapX = Math.min(bus.x + reach, Math.max(bus.x - reach, side));
  const points = [
    [gapX, source.y],
    [gapX, edgeY + (above ? 4 : -4)],
  ];
  const vx = bus.x - source.x;
  const vy = bus.y - source.y;
  const squared = vx * vx + vy * vy;
  const length = Math.sqrt(squared);
  const weights = [];
  const distances = [];
  for (const [px, py] of points) {
    const ax = px - source.x;
    const ay = py - source.y;
    weights.push(round((ax * vx + ay * vy) / squared, 5));
    distances.push(round((vx * ay - vy * ax) / length, 2));
  }
  return {
    weights: weights.join(" "),
    distances: distances.join(" "),
    sourceEnd: above ? "-50% 0%" : "50% 0%",
    busEnd: `${round(gapX - bus.x, 2)}px ${round(((above ? 1 : -1) * bus.h) / 2, 2)}px`,
  };
}

function round(value, digits) {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
