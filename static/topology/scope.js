// A saved dashboard's filters: the part of the graph the dashboard is about (its scope).
//
// A node is in scope when every filter the dashboard sets holds for it; a list holds when any of
// its values does:
//   hosts    its host (the top of its chain of parents) is one of these host node ids;
//   daemons  it is one of these daemon node ids or lies inside one (nested daemons included);
//   roles    a container whose role (plain, dind, dood) is one of these;
//   states   a container whose state (running, exited, ..., stale) is one of these;
//   exposure a container exposed in one of these ways (public: a port on all interfaces,
//            socket: an engine socket mounted);
//   name     its name or label, ignoring case: a glob (`*` any run of characters, `?` one) that
//            must match the whole name when it has a wildcard, else a part of the name;
//   label    a container with a matching label, case as typed: `key=value` is a glob matched
//            against each whole `key=value`; a bare `key` (globs allowed) asks only that the label
//            is there.
//
// The scope decides what the map holds, not just what it shows: a scoped view draws the nodes in
// scope and the boxes around them (their ancestors) and nothing else, so its layouts place only
// those. The page's own filters narrow it further by hiding nodes where they stand.

import { emptyChange, GraphReads } from "./store.js";

const LIST_KEYS = ["hosts", "daemons", "roles", "states", "exposure"];

/** A whole-text matcher for a glob: `*` is any run of characters, `?` one; the rest is literal. */
export function globPattern(glob, flags = "") {
  const source = [...glob]
    .map((char) => (char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, flags);
}

function hasWildcard(pattern) {
  return /[*?]/.test(pattern);
}

/** `(text) => boolean` for a name pattern: a whole-name glob, or a part of the name. */
export function nameMatcher(pattern) {
  if (hasWildcard(pattern)) {
    const regex = globPattern(pattern, "is");
    return (text) => regex.test(text);
  }
  const part = pattern.toLowerCase();
  return (text) => text.toLowerCase().includes(part);
}

/** `(labels) => boolean` for a label pattern: `key=value` glob, or `key` (glob) present. */
export function labelMatcher(pattern) {
  if (pattern.includes("=")) {
    const regex = globPattern(pattern, "s");
    return (labels) => Object.entries(labels).some(([key, value]) => regex.test(`${key}=${value}`));
  }
  const regex = globPattern(pattern, "s");
  return (labels) => Object.keys(labels).some((key) => regex.test(key));
}

export class Scope {
  /** @param {object|null|undefined} filters  a dashboard's `filters` (as its model validates them) */
  constructor(filters) {
    const given = filters && typeof filters === "object" ? filters : {};
    this.lists = {};
    for (const key of LIST_KEYS) {
      const values = Array.isArray(given[key]) ? given[key].filter((value) => typeof value === "string") : [];
      if (values.length) this.lists[key] = new Set(values);
    }
    const name = typeof given.name === "string" ? given.name.trim() : "";
    const label = typeof given.label === "string" ? given.label.trim() : "";
    this.nameMatches = name ? nameMatcher(name) : null;
    this.labelMatches = label ? labelMatcher(label) : null;
    this.active = Object.keys(this.lists).length > 0 || Boolean(this.nameMatches || this.labelMatches);
  }

  /**
   * @param {object} node  a contract node
   * @param {import("./store.js").GraphStore} store  for the node's chain of parents
   */
  matches(node, store) {
    if (!this.active) return true;
    const { hosts, daemons, roles, states, exposure } = this.lists;
    if (roles && (node.kind !== "container" || !roles.has(node.role))) return false;
    if (exposure && (node.kind !== "container" || !(node.exposure || []).some((way) => exposure.has(way)))) return false;
    if (states && (node.kind !== "container" || !states.has(node.status))) return false;
    if (this.labelMatches && (node.kind !== "container" || !this.labelMatches(node.labels || {}))) return false;
    if (this.nameMatches) {
      const names = [node.name, node.label].filter((text) => typeof text === "string" && text);
      if (!names.some((text) => this.nameMatches(text))) return false;
    }
    if (hosts || daemons) {
      const chain = [node, ...store.ancestors(node.id)];
      if (hosts && !hosts.has(chain[chain.length - 1].id)) return false;
      if (daemons && !chain.some((link) => daemons.has(link.id))) return false;
    }
    return true;
  }
}

/**
 * The ids a view scoped to `scope` holds: every node in scope and the boxes around it (its
 * ancestors: host, daemon, DinD container, nested daemon), so that nesting stays drawn.
 *
 * @param {import("./store.js").GraphStore} store  the whole graph
 * @param {Scope} scope
 * @returns {Set<string>}
 */
export function idsInView(store, scope) {
  if (!scope.active) return new Set(store.nodes.keys());
  const ids = new Set();
  for (const node of store.nodes.values()) {
    if (ids.has(node.id) || !scope.matches(node, store)) continue;
    ids.add(node.id);
    for (const ancestor of store.ancestors(node.id)) {
      if (ids.has(ancestor.id)) break; // and so are the rest of the chain
      ids.add(ancestor.id);
    }
  }
  return ids;
}

/**
 * The part of the store a dashboard's scope holds (see `idsInView`), read like the store itself.
 * `follow` turns each change of the store into the change of this part: what enters the scope is
 * added, what leaves it (and boxes left holding nothing in scope) is removed.
 */
export class ScopedGraph extends GraphReads {
  /**
   * @param {import("./store.js").GraphStore} store
   * @param {Scope} scope
   */
  constructor(store, scope) {
    super();
    this.store = store;
    this.scope = scope;
    /** @type {Map<string, import("./store.js").GraphNode>} */
    this.nodes = new Map();
    /** @type {Map<string, import("./store.js").GraphEdge>} */
    this.edges = new Map();
  }

  get version() {
    return this.store.version;
  }

  get generatedAt() {
    return this.store.generatedAt;
  }

  get updatedAt() {
    return this.store.updatedAt;
  }

  /**
   * Take in a change the store has just applied.
   *
   * @param {import("./store.js").Change} change  the store's
   * @returns {import("./store.js").Change} the change to this part of the graph
   */
  follow(change) {
    const store = this.store;
    const wanted = idsInView(store, this.scope);
    const scoped = emptyChange();
    const updatedNodes = new Set(change.updatedNodes.map((node) => node.id));
    const nodes = new Map();
    for (const id of this.nodes.keys()) if (!wanted.has(id)) scoped.removedNodes.push(id);
    for (const id of wanted) {
      const node = store.nodes.get(id);
      nodes.set(id, node);
      if (!this.nodes.has(id)) scoped.addedNodes.push(node);
      else if (updatedNodes.has(id)) scoped.updatedNodes.push(node);
    }
    const updatedEdges = new Set(change.updatedEdges.map((edge) => edge.id));
    const edges = new Map();
    for (const [id, edge] of store.edges) {
      if (!wanted.has(edge.source) || !wanted.has(edge.target)) continue;
      edges.set(id, edge);
      if (!this.edges.has(id)) scoped.addedEdges.push(edge);
      else if (updatedEdges.has(id)) scoped.updatedEdges.push(edge);
    }
    for (const id of this.edges.keys()) if (!edges.has(id)) scoped.removedEdges.push(id);
    this.nodes = nodes;
    this.edges = edges;
    return scoped;
  }
}
