// Nodes lit up on the map from a link (`/?highlight=<id>,<id>`), such as a row of the DinD vs DooD
// comparison: those nodes stand out, what holds them and what they hold stays, the rest dims.

export const HIGHLIGHT_PARAM = "highlight";
export const MAX_HIGHLIGHT = 60;
const NODE_ID = /^(host|daemon|container|network|volume|path|image|registry):[^\s,]{1,300}$/;

/** The node ids a page address asks to highlight: checked, without repeats, at most 60. */
export function parseHighlight(search) {
  const params = new URLSearchParams(search);
  const ids = params
    .getAll(HIGHLIGHT_PARAM)
    .flatMap((value) => value.split(","))
    .map((id) => id.trim())
    .filter((id) => NODE_ID.test(id));
  return [...new Set(ids)].slice(0, MAX_HIGHLIGHT);
}

/** The map's address with `ids` highlighted. */
export function highlightHref(ids, base = "/") {
  const wanted = [...new Set(ids)].filter((id) => NODE_ID.test(id)).slice(0, MAX_HIGHLIGHT);
  if (!wanted.length) return base;
  return `${base}?${HIGHLIGHT_PARAM}=${wanted.map(encodeURIComponent).join(",")}`;
}

/**
 * What stays lit around the highlighted ids, given each node's parent: the ids themselves,
 * their ancestors (the boxes they sit in) and their descendants (what they hold).
 */
export function keptAround(ids, parentOf, allIds) {
  const kept = new Set();
  const wanted = new Set(ids);
  for (const id of ids) {
    let at = id;
    const seen = new Set();
    while (at && !seen.has(at)) {
      seen.add(at);
      kept.add(at);
      at = parentOf(at);
    }
  }
  for (const id of allIds) {
    let at = parentOf(id);
    const seen = new Set();
    while (at && !seen.has(at)) {
      if (wanted.has(at)) {
        kept.add(id);
        break;
      }
      seen.add(at);
      at = parentOf(at);
    }
  }
  return kept;
}

/** The map side: classes on Cytoscape elements (`highlighted`, `dimmed`), kept as nodes come. */
export class Highlighter {
  constructor(cy, ids) {
    this.cy = cy;
    this.ids = ids;
    this.shown = 0;
  }

  get active() {
    return this.ids.length > 0;
  }

  /** Mark the elements; returns how many of the wanted nodes are on the map. */
  apply() {
    const cy = this.cy;
    if (!this.active) return 0;
    const present = this.ids.filter((id) => cy.getElementById(id).nonempty());
    const parentOf = (id) => {
      const parent = cy.getElementById(id).parent();
      return parent.nonempty() ? parent.id() : null;
    };
    const kept = keptAround(present, parentOf, cy.nodes().map((node) => node.id()));
    const wanted = new Set(present);
    cy.batch(() => {
      cy.nodes().forEach((node) => {
        const id = node.id();
        const lit = wanted.has(id);
        const dim = present.length > 0 && !kept.has(id) && !(node.data("kind") === "socket" && kept.has(parentOf(id)));
        if (node.hasClass("highlighted") !== lit) node.toggleClass("highlighted", lit);
        if (node.hasClass("dimmed") !== dim) node.toggleClass("dimmed", dim);
      });
      cy.edges().forEach((edge) => {
        const dim = present.length > 0 && !(wanted.has(edge.source().id()) || wanted.has(edge.target().id()));
        if (edge.hasClass("dimmed") !== dim) edge.toggleClass("dimmed", dim);
      });
    });
    this.shown = present.length;
    return present.length;
  }

  /** The wanted nodes on the map, for fitting the view to them. */
  elements() {
    return this.cy.collection(this.ids.map((id) => this.cy.getElementById(id)).filter((node) => node.nonempty()));
  }

  clear() {
    this.ids = [];
    this.shown = 0;
    this.cy.batch(() => this.cy.elements().removeClass("highlighted dimmed"));
  }
}
