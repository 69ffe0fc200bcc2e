// Positions: the nested grid (boxes in boxes, computed in one pass) and a place for each node
// that arrives later, next to its siblings, without moving anything already on screen.

import { boxAround, separateTree, union } from "./geometry.js";
import { BUS_HEIGHT } from "./network-layout.js";
import { boxTitleSpace, COMPOUND_LABEL_SPACE, COMPOUND_PADDING, LEAF_HEIGHT, LEAF_WIDTH } from "./style.js";

const LEAF_GAP_X = 16;
const LEAF_GAP_Y = 14;
const BOX_GAP = 30;
const WIDE = 3; // aspect ratio aimed at when boxes are packed in rows
const KIND_ORDER = { socket: -1, host: 0, daemon: 1, network: 2, container: 3, volume: 4, image: 5, registry: 6 };

const ROLE_ORDER = { dood: 0, plain: 1, dind: 2 }; // DooD containers next to the socket they use

function byKindThenLabel(a, b) {
  return (
    (KIND_ORDER[a.kind] ?? 9) - (KIND_ORDER[b.kind] ?? 9) ||
    (ROLE_ORDER[a.role] ?? 1) - (ROLE_ORDER[b.role] ?? 1) ||
    String(a.name || a.label).localeCompare(String(b.name || b.label)) ||
    a.id.localeCompare(b.id)
  );
}

/**
 * Measure and arrange the subtrees under `rootIds`.
 *
 * @param {string[]} rootIds
 * @param {(id: string) => string[]} childrenOf
 * @param {(id: string) => object} nodeOf  the contract node (for sorting)
 * @param {(node: object) => number} labelWidth  how wide a box's label is: a box is drawn at
 *   least as wide as its children's labels, so a label wider than its box widens its place
 * @param {{bands?: Function}} [options]  `bands(nodes, tools)` may arrange a box's children
 *   itself (networks as buses, see network-layout.js): it returns an arrangement, or null
 * @returns {{positions: Map<string, {x: number, y: number}>, width: number, height: number,
 *   sizes: Map<string, {w: number, h: number}>}} leaf centres relative to the top-left corner of
 *   the arrangement (labels included), and the size of each leaf drawn at another size (a bus)
 */
export function nestedGrid(rootIds, childrenOf, nodeOf, labelWidth = () => 0, options = {}) {
  const boxes = new Map();
  const sizes = new Map();

  function measure(id) {
    const kids = childrenOf(id);
    if (kids.length === 0) {
      const box = { leaf: true, w: LEAF_WIDTH, h: LEAF_HEIGHT, items: [] };
      boxes.set(id, box);
      return box;
    }
    const content = arrange(kids);
    const box = {
      leaf: false,
      w: content.width + 2 * COMPOUND_PADDING,
      h: content.height + 2 * COMPOUND_PADDING,
      items: content.items,
    };
    boxes.set(id, box);
    return box;
  }

  function arrange(ids) {
    const nodes = ids.map(nodeOf).filter(Boolean).sort(byKindThenLabel);
    const banded = options.bands?.(nodes, { arrange: arrangeNodes, sized });
    return banded || arrangeNodes(nodes);
  }

  /** A leaf drawn at its own size (a bus as wide as its band). */
  function sized(id, w, h) {
    boxes.set(id, { leaf: true, w, h, items: [] });
    sizes.set(id, { w, h });
  }

  // Leaves in a grid first, then boxes (DinD containers, daemons) in rows below them; `columns`
  // fixes the leaf grid's width (bands share one).
  function arrangeNodes(nodes, columnsWanted = 0) {
    const measured = nodes.map((node) => ({ id: node.id, box: boxes.get(node.id) || measure(node.id) }));
    const leaves = measured.filter((item) => item.box.leaf);
    const compounds = measured.filter((item) => !item.box.leaf);
    const items = [];
    let width = 0;
    let height = 0;
    // One width for both parts, aimed at a landscape screen.
    const cellW = LEAF_WIDTH + LEAF_GAP_X;
    const cellH = LEAF_HEIGHT + LEAF_GAP_Y;
    const outer = compounds.map((item) => {
      const w = Math.max(item.box.w, labelWidth(nodeOf(item.id)) + 12);
      return { ...item, w, h: item.box.h + COMPOUND_LABEL_SPACE, inset: (w - item.box.w) / 2 };
    });
    const boxArea = outer.reduce((sum, item) => sum + (item.w + BOX_GAP) * (item.h + BOX_GAP), 0);
    const area = leaves.length * cellW * cellH + boxArea;
    const target = Math.max(Math.sqrt(area * WIDE), ...outer.map((item) => item.w));
    if (leaves.length) {
      const square = Math.ceil(Math.sqrt(leaves.length * 0.9));
      const fitting = Math.min(leaves.length, Math.max(square, Math.floor((target + LEAF_GAP_X) / cellW)));
      const columns = columnsWanted > 0 ? columnsWanted : fitting;
      leaves.forEach((item, index) => {
        items.push({ id: item.id, dx: (index % columns) * cellW, dy: Math.floor(index / columns) * cellH });
      });
      width = Math.min(columns, leaves.length) * cellW - LEAF_GAP_X;
      height = Math.ceil(leaves.length / columns) * cellH - LEAF_GAP_Y;
    }
    if (outer.length) {
      const rowWidth = Math.max(width, target);
      let x = 0;
      let y = leaves.length ? height + BOX_GAP : 0;
      let rowHeight = 0;
      for (const item of outer) {
        if (x > 0 && x + item.w > rowWidth) {
          x = 0;
          y += rowHeight + BOX_GAP;
          rowHeight = 0;
        }
        items.push({ id: item.id, dx: x + item.inset, dy: y + COMPOUND_LABEL_SPACE });
        x += item.w + BOX_GAP;
        rowHeight = Math.max(rowHeight, item.h);
        width = Math.max(width, x - BOX_GAP);
      }
      height = y + rowHeight;
    }
    return { width, height, items };
  }

  const top = arrange(rootIds);
  const positions = new Map();

  function place(id, left, top) {
    const box = boxes.get(id);
    if (box.leaf) {
      positions.set(id, { x: left + box.w / 2, y: top + box.h / 2 });
      return;
    }
    for (const item of box.items) place(item.id, left + COMPOUND_PADDING + item.dx, top + COMPOUND_PADDING + item.dy);
  }
  for (const item of top.items) place(item.id, item.dx, item.dy);
  return { positions, width: top.width, height: top.height, sizes };
}

/**
 * Free places among a parent's children, on the grid of leaf cells that starts at their
 * top-left corner. Built once per parent for a batch of arrivals, so placing n nodes among m
 * siblings costs O(n + m), not O(n * m).
 */
class Slots {
  /**
   * @param {object[]} taken  the siblings' rectangles
   * @param {number} leaves  how many leaves the parent will hold: a grid much narrower than
   *   square widens for them (as the nested grid would have drawn it) rather than grow row
   *   after row; any other grows downwards only, so that it reaches fewer neighbours
   */
  constructor(taken, leaves) {
    this.bounds = union(taken);
    this.origin = { x: this.bounds.x1, y: this.bounds.y1 };
    this.cellW = LEAF_WIDTH + LEAF_GAP_X;
    this.cellH = LEAF_HEIGHT + LEAF_GAP_Y;
    const fits = Math.floor((this.bounds.x2 - this.bounds.x1 + LEAF_GAP_X) / this.cellW);
    const square = Math.ceil(Math.sqrt(leaves * 0.9));
    this.columns = Math.max(1, fits >= square / 2 ? fits : square);
    this.occupied = new Set();
    this.cursor = 0;
    for (const rect of taken) this.occupy(rect);
  }

  occupy(rect) {
    const { x: x1, y: y1 } = this.origin;
    const firstColumn = Math.floor((rect.x1 - x1 + LEAF_GAP_X / 2) / this.cellW);
    const lastColumn = Math.floor((rect.x2 - x1 + LEAF_GAP_X / 2 - 1) / this.cellW);
    const firstRow = Math.floor((rect.y1 - y1 + LEAF_GAP_Y / 2) / this.cellH);
    const lastRow = Math.floor((rect.y2 - y1 + LEAF_GAP_Y / 2 - 1) / this.cellH);
    for (let row = Math.max(0, firstRow); row <= lastRow; row += 1) {
      for (let column = Math.max(0, firstColumn); column <= Math.min(lastColumn, this.columns - 1); column += 1) {
        this.occupied.add(row * this.columns + column);
      }
    }
    this.bounds = union([this.bounds, rect]);
  }

  /** The top-left corner of the first free leaf cell, row by row. */
  leaf() {
    while (this.occupied.has(this.cursor)) this.cursor += 1;
    const column = this.cursor % this.columns;
    const row = Math.floor(this.cursor / this.columns);
    return { x: this.origin.x + column * this.cellW, y: this.origin.y + row * this.cellH };
  }

  /** The top-left corner of a new row under everything (for a box that will grow). */
  newRow() {
    return { x: this.origin.x, y: this.bounds.y2 + BOX_GAP };
  }
}

/**
 * Where a node stands among its siblings: a leaf's cell (its shape, as the nested grid places
 * it; measuring its drawing, border included, would shift the grid a little at every arrival),
 * a box's drawing with its label.
 */
function rectOf(node) {
  if (node.isParent()) {
    const box = node.boundingBox({
      includeLabels: true,
      includeOverlays: false,
      includeUnderlays: false,
      includeOutlines: false,
    });
    if (box.w > 0) return box;
  }
  const at = node.position();
  const bus = node.data("kind") === "network"; // as wide as its band (network-layout.js)
  const [halfW, halfH] = bus ? [(node.data("busWidth") || LEAF_WIDTH) / 2, BUS_HEIGHT / 2] : [LEAF_WIDTH / 2, LEAF_HEIGHT / 2];
  return { x1: at.x - halfW, y1: at.y - halfH, x2: at.x + halfW, y2: at.y + halfH };
}

/**
 * Give positions to nodes just added to `cy` (and to nodes that changed parent), leaving every
 * other node where it is. A new leaf takes the first free cell next to its siblings; a new box
 * (a subtree, arranged as a nested grid) starts a new row under them. A leaf that becomes a box
 * (a DinD container whose nested daemon just appeared) moves, with what it now holds, to a new
 * row under its siblings: it would cover them if it grew where it stood.
 *
 * @param {object} cy  the Cytoscape core
 * @param {string[]} ids  nodes to place (parents may be among them)
 * @param {(id: string) => object} nodeOf  the contract node
 * @param {(node: object) => number} labelWidth  see `nestedGrid`
 * @returns {string[]} the ids placed: those given, and the leaves that became boxes
 */
export function placeArrivals(cy, ids, nodeOf, labelWidth = () => 0) {
  const arriving = new Set(ids);
  const order = [...ids];
  const stood = new Map(); // leaves that became boxes -> where they stood
  // A parent that holds nothing but arrivals was a leaf until now (or held nothing that stays):
  // it is placed again, and so on up while its own parent holds nothing else.
  for (let index = 0; index < order.length; index += 1) {
    const parent = cy.getElementById(order[index]).parent();
    if (parent.empty() || arriving.has(parent.id())) continue;
    if (parent.children().every((child) => arriving.has(child.id()))) {
      arriving.add(parent.id());
      order.push(parent.id());
      stood.set(parent.id(), { ...parent.position() }); // (a batch keeps a new box's position)
    }
  }
  const childrenOf = (id) => cy.getElementById(id).children().map((child) => child.id());
  const slotsByParent = new Map(); // parent id (or "" for the top level) -> Slots
  for (const id of order) {
    const node = cy.getElementById(id);
    const parent = node.parent();
    if (parent.nonempty() && arriving.has(parent.id())) continue; // placed with its parent
    const arrangement = nestedGrid([id], childrenOf, nodeOf, labelWidth);
    const key = parent.nonempty() ? parent.id() : "";
    if (!slotsByParent.has(key)) {
      const children = parent.nonempty() ? parent.children() : cy.nodes().orphans();
      const siblings = children.filter((sibling) => !arriving.has(sibling.id()));
      const leaves = children.filter((child) => child.isChildless()).length;
      slotsByParent.set(key, siblings.nonempty() ? new Slots(siblings.map(rectOf), leaves) : null);
    }
    const slots = slotsByParent.get(key);
    let corner;
    if (!slots && parent.nonempty()) {
      // Nothing else in the parent: grow from the top-left corner of the leaf it was.
      const at = stood.get(id) || parent.position();
      corner = { x: at.x - LEAF_WIDTH / 2, y: at.y - LEAF_HEIGHT / 2 };
    } else if (!slots) {
      corner = { x: 0, y: 0 };
    } else if (!parent.nonempty()) {
      corner = { x: slots.bounds.x2 + BOX_GAP * 2, y: slots.origin.y };
    } else {
      const grows = arrangement.positions.size > 1 || node.isParent();
      corner = grows ? slots.newRow() : slots.leaf();
    }
    for (const [leafId, at] of arrangement.positions) {
      cy.getElementById(leafId).position({ x: corner.x + at.x, y: corner.y + at.y });
    }
    const rect = { x1: corner.x, y1: corner.y, x2: corner.x + arrangement.width, y2: corner.y + arrangement.height };
    if (slots) slots.occupy(rect);
    else slotsByParent.set(key, new Slots([rect], parent.nonempty() ? parent.children().length : 1));
  }
  return order;
}

const LEAF_BORDER = 2.5; // drawn outside a leaf's width and height (a selected leaf's is wider)
const BOX_INSET = COMPOUND_PADDING + 2.5; // padding and border

/**
 * Move apart whatever overlaps in the picture (see `separateTree`): after a layout (`changed`
 * null: every box is looked at) or after live changes (`changed`: the nodes placed, grown or
 * retitled; only the boxes holding them are looked at, and what they reach moves out of their
 * way). Locked (pinned) nodes stay. Call it inside a batch or out of one: boxes are measured
 * from their leaves, not from Cytoscape's bounds, which a batch (or a frame not drawn yet)
 * leaves stale. With `fold`, rows
 * too wide to read are first folded into lines (see `foldRows`), as wide as the nested grid's.
 * `locks: false` says no node is locked (which spares asking each).
 *
 * @returns {number} how many leaves moved
 */
export function separateOverlaps(
  cy,
  changed,
  nodeOf,
  labelWidth = () => 0,
  { fold = false, locks = true } = {},
) {
  const element = (id) => cy.getElementById(id);
  const tree = {
    roots: cy.nodes().orphans().map((node) => node.id()),
    childrenOf: (id) => {
      const node = element(id);
      return node.isChildless() ? [] : node.children().map((child) => child.id());
    },
    parentOf: (id) => {
      const parent = element(id).parent();
      return parent.nonempty() ? parent.id() : null;
    },
    leafRect: (id) => {
      const node = element(id);
      const at = node.position();
      const bus = node.data("kind") === "network"; // as wide as its band (network-layout.js)
      const [w, h] = bus ? [node.data("busWidth") || LEAF_WIDTH, BUS_HEIGHT] : [LEAF_WIDTH, LEAF_HEIGHT];
      const [halfW, halfH] = [w / 2 + LEAF_BORDER, h / 2 + LEAF_BORDER];
      return { x1: at.x - halfW, y1: at.y - halfH, x2: at.x + halfW, y2: at.y + halfH };
    },
    inset: () => BOX_INSET,
    title: (id) => {
      const node = nodeOf(id);
      return node ? { w: labelWidth(node) + 2, ...boxTitleSpace(node) } : null;
    },
    known: (id) => {
      // Cytoscape's bounds of a box nothing inside has moved since they were last computed
      // (a batch, or a frame not drawn yet, leaves them stale otherwise: those are measured).
      const node = element(id);
      if (!node._private.compoundBoundsClean) return null;
      const shapes = { includeOverlays: false, includeUnderlays: false, includeOutlines: false };
      const drawn = node.boundingBox({ ...shapes, includeLabels: true });
      const body = node.boundingBox({ ...shapes, includeLabels: false });
      return drawn.w > 0 ? union([drawn, boxAround(body, 0, tree.title(id)).title]) : null;
    },
  };
  const moves = separateTree(tree, {
    changed: changed ? changed.filter((id) => element(id).nonempty()) : null,
    fixed: locks ? (id) => element(id).locked() : null,
    fold: fold ? WIDE : 0,
  });
  for (const [id, { dx, dy }] of moves) {
    const node = element(id);
    const at = node.position();
    node.position({ x: at.x + dx, y: at.y + dy });
  }
  return moves.size;
}
