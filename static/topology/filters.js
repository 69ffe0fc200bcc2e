// Search and filters, kept in the URL so that a view can be shared.
//
// They act on the graph the view holds (with a saved dashboard, only what its scope holds: see
// scope.js). A node matches when it is in that scope and passes every active filter; matches are
// shown with the boxes that hold them (their ancestors), everything else is hidden where it
// stands (nothing moves).

import { endBatchShallow } from "./batches.js";

const FIELDS = ["q", "host", "daemon", "role", "state", "health", "network", "exposure"];
const SELECTS = ["host", "daemon", "role", "state", "health", "network", "exposure"];
const SEARCH_DELAY_MS = 120;

function optionFor(value, text) {
  const option = document.createElement("option");
  option.value = value;
  option.textContent = text;
  return option;
}

/** The words a search looks through: name, image, labels (as key=value) and the short id. */
export function searchText(node) {
  const parts = [node.label, node.name, node.image, node.endpoint, node.id.split(":")[1]?.slice(0, 12)];
  for (const [key, value] of Object.entries(node.labels || {})) parts.push(`${key}=${value}`);
  return parts.filter(Boolean).join("\n").toLowerCase();
}

/**
 * Whether `node` passes the filter `values` (`q` a search, `host` and `daemon` node ids, `role`,
 * `state`, `health` a container's health, or "checked" for any healthcheck, `network` a network
 * node id, `exposure` public, socket or any; an empty value filters nothing): a pure function of
 * the node and the graph it is in.
 *
 * @param {{q: string, host: string, daemon: string, role: string, state: string,
 *          health?: string, network?: string, exposure?: string}} values
 * @param {object} node  a contract node
 * @param {import("./store.js").GraphReads} store  for the node's chain of parents
 * @param {(node: object) => string} [textOf]  the node's search text (a cache may stand in)
 * @param {Set<string>} [members]  the containers attached to `values.network`
 */
export function passes(values, node, store, textOf = searchText, members = new Set()) {
  const { q, host, daemon, role, state, health, network, exposure } = values;
  if (role && (node.kind !== "container" || node.role !== role)) return false;
  if (state && (node.kind !== "container" || node.status !== state)) return false;
  if (health) {
    const own = node.kind === "container" ? node.health || "none" : null;
    if (own === null || (health === "checked" ? own === "none" : own !== health)) return false;
  }
  if (network && node.id !== network && !members.has(node.id)) return false;
  if (exposure) {
    const exposed = node.kind === "container" && Array.isArray(node.exposure) ? node.exposure : [];
    if (exposure === "any" ? exposed.length === 0 : !exposed.includes(exposure)) return false;
  }
  if (host || daemon) {
    const chain = [node, ...store.ancestors(node.id)];
    if (host && chain[chain.length - 1].id !== host) return false;
    if (daemon && !chain.some((link) => link.id === daemon)) return false;
  }
  return !q || textOf(node).includes(q.toLowerCase());
}

export class Filters {
  /**
   * @param {{form: HTMLFormElement, search: HTMLInputElement, host: HTMLSelectElement,
   *          daemon: HTMLSelectElement, role: HTMLSelectElement, state: HTMLSelectElement,
   *          health: HTMLSelectElement, network: HTMLSelectElement,
   *          exposure: HTMLSelectElement, clear: HTMLButtonElement}} controls  (network: a
   *   container on that network, or the network itself; exposure: a container exposed so,
   *   "public", "socket" or "any")
   * @param {() => void} onChange
   * @param {import("./scope.js").Scope|null} [scope]  the saved dashboard's scope, if any: the
   *   graph given to `apply` holds it and the boxes around it, and only what is in it can match
   */
  constructor(controls, onChange, scope = null) {
    this.controls = controls;
    this.onChange = onChange;
    this.scope = scope;
    this.values = { q: "", host: "", daemon: "", role: "", state: "", health: "", network: "", exposure: "" };
    this.members = new Set(); // the selected network's containers, while one is
    this.searchCache = new Map();
    this.readUrl();
    let timer = null;
    controls.search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.update(), SEARCH_DELAY_MS);
    });
    for (const name of SELECTS) {
      controls[name].addEventListener("change", () => this.update());
    }
    controls.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.update();
    });
    controls.clear.addEventListener("click", () => this.clear());
  }

  /** Whether the user's own controls filter anything. */
  get userActive() {
    return FIELDS.some((name) => this.values[name]);
  }

  readUrl() {
    const params = new URLSearchParams(window.location.search);
    for (const name of FIELDS) this.values[name] = params.get(name) || "";
    this.controls.search.value = this.values.q;
    for (const name of SELECTS) this.ensureOption(name, this.values[name]);
    this.showControls();
  }

  /** A value from the URL that the data has not (yet) shown still needs an option to stay selected. */
  ensureOption(name, value) {
    const select = this.controls[name];
    if (value && ![...select.options].some((option) => option.value === value)) {
      select.append(optionFor(value, value));
    }
    select.value = value;
  }

  update() {
    this.values.q = this.controls.search.value.trim();
    for (const name of SELECTS) this.values[name] = this.controls[name].value;
    this.writeUrl();
    this.showControls();
    this.onChange();
  }

  clear() {
    this.controls.search.value = "";
    for (const name of SELECTS) this.controls[name].value = "";
    this.update();
  }

  writeUrl() {
    const url = new URL(window.location.href);
    for (const name of FIELDS) {
      if (this.values[name]) url.searchParams.set(name, this.values[name]);
      else url.searchParams.delete(name);
    }
    window.history.replaceState(null, "", url);
  }

  showControls() {
    for (const name of SELECTS) {
      this.controls[name].classList.toggle("active", Boolean(this.values[name]));
    }
    this.controls.clear.hidden = !this.userActive;
  }

  /** Refresh the host, daemon and network choices from the graph shown, keeping what is selected. */
  populate(graph) {
    const hosts = [];
    const daemons = [];
    const networks = [];
    for (const node of graph.nodes.values()) {
      if (node.kind === "host") hosts.push(node);
      else if (node.kind === "daemon") daemons.push(node);
      else if (node.kind === "network") networks.push(node);
    }
    const daemonLabel = new Map(daemons.map((node) => [node.id, node.label]));
    networks.sort(
      (a, b) =>
        Number(Boolean(a.builtin)) - Number(Boolean(b.builtin)) ||
        String(a.name).localeCompare(String(b.name)) ||
        a.id.localeCompare(b.id),
    );
    this.fill(
      "network",
      "All networks",
      networks.map((node) => [node.id, `${node.name} (${daemonLabel.get(node.parent) || "?"})`]),
    );
    hosts.sort((a, b) => String(a.label).localeCompare(String(b.label)));
    daemons.sort((a, b) => a.nesting - b.nesting || String(a.label).localeCompare(String(b.label)));
    this.fill("host", "All hosts", hosts.map((node) => [node.id, node.label]));
    this.fill(
      "daemon",
      "All daemons",
      daemons.map((node) => [node.id, node.nesting > 0 ? `${node.label} (nested ${node.nesting})` : node.label]),
    );
  }

  fill(name, allText, choices) {
    const select = this.controls[name];
    const signature = JSON.stringify(choices);
    if (select.dataset.signature === signature) return;
    select.dataset.signature = signature;
    const value = this.values[name];
    select.replaceChildren(optionFor("", allText), ...choices.map(([id, text]) => optionFor(id, text)));
    this.ensureOption(name, value);
  }

  matches(node, store) {
    if (this.scope && !this.scope.matches(node, store)) return false;
    return passes(this.values, node, store, (shown) => this.cachedText(shown), this.members);
  }

  cachedText(node) {
    let text = this.searchCache.get(node);
    if (text === undefined) {
      text = searchText(node);
      this.searchCache.set(node, text);
    }
    return text;
  }

  /**
   * Hide what does not match (keeping the boxes around matches); returns how many matched.
   *
   * @param {object} cy
   * @param {import("./store.js").GraphReads} store  the graph drawn in `cy`
   */
  apply(cy, store) {
    if (this.searchCache.size > store.nodes.size * 2) this.searchCache = new Map();
    if (!this.userActive) {
      cy.startBatch();
      try {
        cy.elements(".filtered-out").removeClass("filtered-out");
        cy.nodes(".search-hit").removeClass("search-hit");
      } finally {
        endBatchShallow(cy);
      }
      return store.nodes.size;
    }
    this.members = new Set();
    if (this.values.network) {
      for (const edge of store.edges.values()) {
        if (edge.kind === "network" && edge.target === this.values.network) this.members.add(edge.source);
      }
    }
    const visible = new Set();
    const hits = new Set();
    for (const node of store.nodes.values()) {
      if (!this.matches(node, store)) continue;
      hits.add(node.id);
      visible.add(node.id);
      for (const ancestor of store.ancestors(node.id)) visible.add(ancestor.id);
    }
    // A pin (a daemon's socket, a box's published ports) shows while its box and one of the
    // containers whose edges end there do.
    cy.nodes('[kind = "socket"], [kind = "ports"]').forEach((pin) => {
      if (visible.has(pin.data("owner")) && pin.connectedEdges().sources().some((s) => visible.has(s.id()))) {
        visible.add(pin.id());
      }
    });
    cy.startBatch();
    try {
      cy.nodes().forEach((element) => {
        const id = element.id();
        if (element.hasClass("filtered-out") === visible.has(id)) element.toggleClass("filtered-out", !visible.has(id));
        const hit = Boolean(this.values.q) && hits.has(id);
        if (element.hasClass("search-hit") !== hit) element.toggleClass("search-hit", hit);
      });
      cy.edges().forEach((edge) => {
        const shown = visible.has(edge.source().id()) && visible.has(edge.target().id());
        if (edge.hasClass("filtered-out") === shown) edge.toggleClass("filtered-out", !shown);
      });
    } finally {
      endBatchShallow(cy);
    }
    return hits.size;
  }
}
