// A saved dashboard's filters: the part of the graph the dashboard is about (its scope).
//
// A node is in scope when every filter the dashboard sets holds for it; a list holds when any of
// its values does:
//   hosts    its host (the top of its chain of parents) is one of these host node ids;
//   daemons  it is one of these daemon node ids or lies inside one (nested daemons included);
//   roles    a container whose role (plain, dind, dood) is one of these;
//   states   a container whose state (running, exited, ..., stale) is one of these;
//   name     its name or label, ignoring case: a glob (`*` any run of characters, `?` one) that
//            must match the whole name when it has a wildcard, else a part of the name;
//   label    a container with a matching label, case as typed: `key=value` is a glob matched
//            against each whole `key=value`; a bare `key` (globs allowed) asks only that the label
//            is there.
// The page's own filters narrow the scope further; what is in neither is hidden as they hide it.

const LIST_KEYS = ["hosts", "daemons", "roles", "states"];

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
    const { hosts, daemons, roles, states } = this.lists;
    if (roles && (node.kind !== "container" || !roles.has(node.role))) return false;
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
