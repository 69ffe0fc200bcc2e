// Rectangles of the picture: how boxes in boxes are measured, how siblings that overlap are moved
// apart, and what makes a picture faulty (overlapping boxes, covered or clipped labels, a graph
// under a panel). Pure: no DOM, no Cytoscape; rectangles are {x1, y1, x2, y2}.

/** Whether `a` and `b` share any area once each is grown by `gap / 2` on every side. */
export function intersects(a, b, gap = 0) {
  return a.x1 < b.x2 + gap && b.x1 < a.x2 + gap && a.y1 < b.y2 + gap && b.y1 < a.y2 + gap;
}

/** Whether `inner` lies within `outer` (give or take `slack`). */
export function contains(outer, inner, slack = 0) {
  return (
    inner.x1 >= outer.x1 - slack &&
    inner.y1 >= outer.y1 - slack &&
    inner.x2 <= outer.x2 + slack &&
    inner.y2 <= outer.y2 + slack
  );
}

export function union(rects) {
  let box = null;
  for (const r of rects) {
    if (!r) continue;
    box = box
      ? { x1: Math.min(box.x1, r.x1), y1: Math.min(box.y1, r.y1), x2: Math.max(box.x2, r.x2), y2: Math.max(box.y2, r.y2) }
      : { x1: r.x1, y1: r.y1, x2: r.x2, y2: r.y2 };
  }
  return box;
}

export function shift(r, dx, dy) {
  return { x1: r.x1 + dx, y1: r.y1 + dy, x2: r.x2 + dx, y2: r.y2 + dy };
}

export function grow(r, by) {
  return { x1: r.x1 - by, y1: r.y1 - by, x2: r.x2 + by, y2: r.y2 + by };
}

/** The area `a` and `b` share, or null. */
export function overlap(a, b) {
  const r = { x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1), x2: Math.min(a.x2, b.x2), y2: Math.min(a.y2, b.y2) };
  return r.x1 < r.x2 && r.y1 < r.y2 ? r : null;
}

/** Rectangles bucketed on a square grid, so that asking what lies near one costs O(1) on average. */
export class RectIndex {
  constructor(cell = 256) {
    this.cell = cell;
    this.buckets = new Map();
    this.rects = new Map();
  }

  *cellsOf(r) {
    const c = this.cell;
    for (let i = Math.floor(r.x1 / c); i <= Math.floor(r.x2 / c); i += 1) {
      for (let j = Math.floor(r.y1 / c); j <= Math.floor(r.y2 / c); j += 1) yield `${i},${j}`;
    }
  }

  insert(id, r) {
    this.rects.set(id, r);
    for (const key of this.cellsOf(r)) {
      if (!this.buckets.has(key)) this.buckets.set(key, []);
      this.buckets.get(key).push(id);
    }
  }

  /** Ids of the rectangles that share area with `r` grown by `gap / 2`. */
  query(r, gap = 0) {
    const found = new Set();
    for (const key of this.cellsOf(grow(r, gap))) {
      for (const id of this.buckets.get(key) || []) {
        if (!found.has(id) && intersects(r, this.rects.get(id), gap)) found.add(id);
      }
    }
    return found;
  }
}

/**
 * Move siblings apart: each keeps at least `gap` from every other (one that moves is put
 * `spacing` away from what it clears). Items are taken in order
 * (those in `stay`, which never move, then those in `first`, then the rest top to bottom, left
 * to right); an item that overlaps one taken before it moves right or down past it, whichever
 * is the shorter way, until it overlaps none. So a box that grew keeps its place and pushes what
 * it reaches; nothing moves up or left, and nothing that overlaps nothing moves at all.
 *
 * With `onlyIf`, the items were apart but for those named: if none of them overlaps another,
 * nothing moves and the rest is not looked at. With `room(id, distance)`, an item pushed by one
 * in `first` goes that much further (room to grow for what pushed it, so that a box growing
 * delta by delta does not push its neighbour at every step).
 *
 * @param {{id: string, rect: object}[]} items
 * @param {{gap?: number, spacing?: number, first?: Iterable<string>, stay?: Iterable<string>,
 *   onlyIf?: Iterable<string>, room?: (id: string, distance: number) => number}} options
 * @returns {Map<string, {dx: number, dy: number}>} how far each moved item moved
 */
export function separate(
  items,
  { gap = 0, spacing = gap, first = [], stay = [], onlyIf = null, room = null } = {},
) {
  const cell = Math.max(64, ...items.slice(0, 64).map(({ rect }) => rect.x2 - rect.x1));
  if (onlyIf) {
    const all = new RectIndex(cell);
    for (const { id, rect } of items) all.insert(id, rect);
    const clear = [...onlyIf].every((id) => !all.rects.has(id) || all.query(all.rects.get(id), gap).size <= 1);
    if (clear) return new Map();
  }
  const staying = new Set(stay);
  const leading = new Set(first);
  const rank = (item) => (staying.has(item.id) ? 0 : leading.has(item.id) ? 1 : 2);
  const ordered = [...items].sort((a, b) => rank(a) - rank(b) || a.rect.y1 - b.rect.y1 || a.rect.x1 - b.rect.x1);
  const index = new RectIndex(cell);
  const moves = new Map();
  for (const { id, rect } of ordered) {
    let r = rect;
    const hitsOf = (at) => (staying.has(id) ? new Set() : index.query(at, gap));
    for (let hits = hitsOf(r); hits.size; hits = hitsOf(r)) {
      let dx = 0;
      let dy = 0;
      for (const other of hits) {
        const o = index.rects.get(other);
        dx = Math.max(dx, o.x2 + spacing - r.x1);
        dy = Math.max(dy, o.y2 + spacing - r.y1);
      }
      r = dx <= dy ? shift(r, dx, 0) : shift(r, 0, dy);
    }
    if (room && r !== rect && !leading.has(id)) {
      const [dx, dy] = [r.x1 - rect.x1, r.y1 - rect.y1];
      r = shift(r, Math.sign(dx) * room(id, dx), Math.sign(dy) * room(id, dy));
    }
    index.insert(id, r);
    if (r.x1 !== rect.x1 || r.y1 !== rect.y1) moves.set(id, { dx: r.x1 - rect.x1, dy: r.y1 - rect.y1 });
  }
  return moves;
}

/**
 * Fold rows that are too wide to read into lines of at most `width` (a hierarchical layout puts
 * every container of a daemon on one rank: 200 of them make a row 40,000 pixels wide). Items
 * whose centres share a height form a row. When a row is wider than `width`, the rows are laid
 * out again top to bottom, each from the left on as many lines as it needs, every item in its
 * order; otherwise nothing moves.
 *
 * @param {{id: string, rect: object}[]} items
 * @param {{width: number, gap?: number}} options
 * @returns {Map<string, {dx: number, dy: number}>}
 */
export function foldRows(items, { width, gap = 14 }) {
  const rows = new Map();
  for (const item of items) {
    const key = Math.round((item.rect.y1 + item.rect.y2) / 2);
    if (!rows.has(key)) rows.set(key, []);
    rows.get(key).push(item);
  }
  const moves = new Map();
  if (!items.length) return moves;
  const left = Math.min(...items.map(({ rect }) => rect.x1));
  const ordered = [...rows.entries()].sort(([a], [b]) => a - b).map(([, row]) => row);
  for (const row of ordered) row.sort((a, b) => a.rect.x1 - b.rect.x1);
  if (ordered.every((row) => row[row.length - 1].rect.x2 - row[0].rect.x1 <= width)) return moves;
  let y = Math.min(...items.map(({ rect }) => rect.y1));
  for (const row of ordered) {
    let [x, line] = [left, 0];
    for (const { id, rect } of row) {
      const [w, h] = [rect.x2 - rect.x1, rect.y2 - rect.y1];
      if (x > left && x + w > left + width) [x, y, line] = [left, y + line + gap, 0];
      if (x !== rect.x1 || y !== rect.y1) moves.set(id, { dx: x - rect.x1, dy: y - rect.y1 });
      x += w + gap;
      line = Math.max(line, h);
    }
    y += line + gap;
  }
  return moves;
}

/** The room a pushed box is given beyond what it had to clear (see `separate`). */
const ROOM = 240;

/**
 * Boxes in boxes, measured from their leaves the way Cytoscape draws them: a box is drawn around
 * its children (their labels included) with its padding, and its title above it.
 *
 * @typedef {object} Tree
 * @property {string[]} roots
 * @property {(id: string) => string[]} childrenOf
 * @property {(id: string) => object} leafRect  a leaf's drawn rectangle (border included)
 * @property {(id: string) => number} inset  a box's padding plus border
 * @property {(id: string) => {w: number, h: number, gap: number}|null} title  a box's title
 *   (drawn centred, `gap` above the box)
 * @property {(id: string) => object|null} [known]  the rectangle (title included) of a box whose
 *   drawing is known to be up to date, which spares measuring everything inside it
 */

/** A box's own rectangle and its title's, from the rectangle around its children. */
export function boxAround(content, inset, title) {
  const body = grow(content, inset);
  if (!title) return { body, title: null, outer: body };
  const centre = (body.x1 + body.x2) / 2;
  const label = { x1: centre - title.w / 2, x2: centre + title.w / 2, y2: body.y1 - title.gap, y1: body.y1 - title.gap - title.h };
  return { body, title: label, outer: union([body, label]) };
}

/**
 * Move apart whatever overlaps among the children of each box, deepest boxes first, so that no
 * two boxes overlap unless one holds the other, and no title is covered. With `changed`, only the
 * boxes that hold a changed node are looked at (the rest of the picture was clear already), and
 * the changed nodes keep their places while what they reach moves.
 *
 * @param {Tree & {parentOf: (id: string) => string|null}} tree
 * @param {{gap?: number, spacing?: number, changed?: Iterable<string>|null,
 *   fixed?: (id: string) => boolean, fold?: number}} options  `gap`, `spacing`: see `separate`;
 *   `fixed`: nodes that may not move (pinned in place), or null when none (after live changes,
 *   a box that holds one is left alone: neither pushed nor pushing); `fold`: first fold each box's rows to
 *   about this many times wider than the box would be tall as a square (see `foldRows`)
 * @returns {Map<string, {dx: number, dy: number}>} how far each leaf must move
 */
export function separateTree(tree, { gap = 2, spacing = 14, changed = null, fixed = null, fold = 0 } = {}) {
  const ROOT = "";
  const childrenOf = (id) => (id === ROOT ? tree.roots : tree.childrenOf(id));
  const offsets = new Map(); // id -> its move relative to its parent
  const outer = new Map(); // id -> rectangle (title included) before its own move
  let focus = null; // the boxes to look at (ids, ROOT for the top), null for all
  let seeds = new Set();
  if (changed) {
    focus = new Set([ROOT]);
    seeds = new Set(changed);
    for (const id of seeds) {
      for (let at = tree.parentOf(id); at !== null && !focus.has(at); at = tree.parentOf(at)) focus.add(at);
    }
  }
  const looked = (id) => focus === null || focus.has(id);

  function measure(id) {
    if (outer.has(id)) return outer.get(id);
    const kids = childrenOf(id);
    let rect;
    if (id !== ROOT && kids.length === 0) rect = tree.leafRect(id);
    else if (id === ROOT || looked(id) || seeds.has(id) || !(rect = tree.known?.(id) || null)) {
      if (looked(id)) arrange(id, kids);
      const content = union(kids.map(placed));
      rect = id === ROOT ? content : boxAround(content, tree.inset(id), tree.title(id)).outer;
    }
    outer.set(id, rect);
    return rect;
  }

  function placed(id) {
    const r = measure(id);
    const move = offsets.get(id);
    return move ? shift(r, move.dx, move.dy) : r;
  }

  /** Holds a fixed node somewhere inside. */
  const pinned = new Map();
  function holdsFixed(id) {
    if (!fixed) return false;
    if (!pinned.has(id)) pinned.set(id, fixed(id) || childrenOf(id).some(holdsFixed));
    return pinned.get(id);
  }

  function arrange(id, kids) {
    // Live, a box holding a pinned node is left out (neither pushed nor pushing: where its
    // nodes were pinned is its user's choice); a pinned leaf stays where it is, in the way.
    const moving = changed ? kids.filter((kid) => fixed?.(kid) || !holdsFixed(kid)) : kids;
    let items = moving.map((kid) => ({ id: kid, rect: measure(kid) }));
    const stay = moving.filter(holdsFixed);
    if (fold && items.length > 1) {
      const area = items.reduce((sum, { rect }) => sum + (rect.x2 - rect.x1 + spacing) * (rect.y2 - rect.y1 + spacing), 0);
      const width = Math.max(Math.sqrt(area * fold), ...items.map(({ rect }) => rect.x2 - rect.x1));
      const pinnedKids = new Set(stay);
      const folded = foldRows(items.filter((item) => !pinnedKids.has(item.id)), { width, gap: spacing });
      for (const [kid, move] of folded) offsets.set(kid, move);
      items = items.map((item) => ({ id: item.id, rect: placed(item.id) }));
    }
    const first = changed ? moving.filter((kid) => seeds.has(kid) || focus.has(kid)) : [];
    const onlyIf = changed && !fold ? first : null; // the rest was clear already
    // A box pushed by one that grew gets room for it to grow again (a leaf only what it needs).
    const room = changed ? (kid) => (childrenOf(kid).length ? ROOM : 0) : null;
    for (const [kid, move] of separate(items, { gap, spacing, first, stay, onlyIf, room })) {
      const before = offsets.get(kid);
      offsets.set(kid, before ? { dx: before.dx + move.dx, dy: before.dy + move.dy } : move);
    }
  }

  measure(ROOT);
  const moves = new Map();
  function spread(id, dx, dy) {
    const own = offsets.get(id);
    const [x, y] = own ? [dx + own.dx, dy + own.dy] : [dx, dy];
    const kids = childrenOf(id);
    if (id !== ROOT && kids.length === 0) {
      if (x || y) moves.set(id, { dx: x, dy: y });
      return;
    }
    if (x === 0 && y === 0 && !looked(id)) return; // nothing inside moved
    for (const kid of kids) spread(kid, x, y);
  }
  spread(ROOT, 0, 0);
  return moves;
}

/**
 * What is wrong with a picture, as drawn. Each node: `id`, `parent` (id or null), `body` (its
 * shape, border included), `label` (its text's rectangle, or null), `isBox`, and for a box
 * `truncated` (the renderer cut its title short). A fault is one of:
 *   overlap    two nodes, neither inside the other, whose drawings (labels included) share area
 *   covered    a node's label under another node that is not one of its boxes
 *   clipped    a box title cut short or reaching out of the box that holds it, or a leaf's
 *              text reaching out of its own shape
 *
 * @param {object[]} nodes
 * @param {{slack?: number}} options  how much shared area is forgiven (rounding)
 * @returns {{kind: string, ids: string[], detail?: string}[]}
 */
export function pictureFaults(nodes, { slack = 0.5 } = {}) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const ancestors = new Map();
  const chain = (node) => {
    if (!ancestors.has(node.id)) {
      const up = new Set();
      for (let at = byId.get(node.parent); at; at = byId.get(at.parent)) up.add(at.id);
      ancestors.set(node.id, up);
    }
    return ancestors.get(node.id);
  };
  const related = (a, b) => chain(a).has(b.id) || chain(b).has(a.id);
  const drawn = (node) => union([node.body, node.label]);
  const shrink = (r) => grow(r, -slack);
  const faults = [];

  const index = new RectIndex(256);
  for (const node of nodes) index.insert(node.id, shrink(drawn(node)));
  for (const node of nodes) {
    for (const other of index.query(shrink(drawn(node)))) {
      const them = byId.get(other);
      if (other <= node.id || related(node, them)) continue;
      faults.push({ kind: "overlap", ids: [node.id, other] });
    }
  }

  const bodies = new RectIndex(256);
  for (const node of nodes) bodies.insert(node.id, shrink(node.body));
  for (const node of nodes) {
    if (!node.label) continue;
    for (const other of bodies.query(shrink(node.label))) {
      if (other === node.id || chain(node).has(other)) continue;
      faults.push({ kind: "covered", ids: [node.id, other] });
    }
    if (node.isBox) {
      const holder = byId.get(node.parent);
      if (node.truncated) faults.push({ kind: "clipped", ids: [node.id], detail: "title cut short" });
      if (holder && !contains(holder.body, node.label, slack)) {
        faults.push({ kind: "clipped", ids: [node.id, holder.id], detail: "title out of its box" });
      }
    } else if (!contains(node.body, node.label, slack)) {
      faults.push({ kind: "clipped", ids: [node.id], detail: "text out of its shape" });
    }
  }
  return faults;
}

/**
 * The panels a drawn graph reaches into, and whether it leaves its view: `graph` and each panel
 * are rectangles in the same (page) coordinates.
 *
 * @param {object} graph
 * @param {{name: string, rect: object}[]} panels
 * @param {object|null} view  the rectangle the graph is drawn in
 * @returns {string[]} names of the panels reached ("view" when it leaves the view)
 */
export function panelFaults(graph, panels, view = null) {
  const reached = panels.filter(({ rect }) => intersects(graph, rect)).map(({ name }) => name);
  if (view && !contains(view, graph, 0.5)) reached.push("view");
  return reached;
}
