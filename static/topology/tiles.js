// A dashboard's summary tiles: counts over the graph as the page shows it (the server has already
// cut it to the user's teams, the dashboard's scope to what it holds; the filters hide the rest),
// refreshed with every change.
//
// Daemon text reaches these tiles only as text content (the health tile names the unhealthy
// containers); the rest are numbers, fixed words and times.

export const TILE_TITLES = {
  daemons: "Daemons",
  containers: "Containers",
  roles: "DinD · DooD",
  health: "Unhealthy",
  exposure: "Exposed",
  last_change: "Last change",
};
const HEALTH_NAMES_SHOWN = 4;

const STATE_ORDER = ["running", "restarting", "paused", "created", "exited", "removing", "dead", "stale"];
const STATE_TONE = { running: "good", restarting: "warn", paused: "warn", stale: "warn", dead: "bad" };

/**
 * Count what is visible.
 *
 * @param {Iterable<object>} nodes  contract nodes
 * @param {(id: string) => boolean} isVisible
 */
export function summarise(nodes, isVisible) {
  const summary = {
    daemons: { up: 0, unreachable: 0, stale: 0 },
    containers: { total: 0, byState: {} },
    roles: { dind: 0, dood: 0 },
    health: { unhealthy: [], starting: 0, checked: 0 },
    exposure: { total: 0, public: 0, socket: 0 },
  };
  for (const node of nodes) {
    if (!isVisible(node.id)) continue;
    if (node.kind === "daemon") {
      const status = node.status in summary.daemons ? node.status : "unreachable";
      summary.daemons[status] += 1;
    } else if (node.kind === "container") {
      summary.containers.total += 1;
      const state = node.status || node.state || "unknown";
      summary.containers.byState[state] = (summary.containers.byState[state] || 0) + 1;
      if (node.role === "dind" || node.role === "dood") summary.roles[node.role] += 1;
      if (node.health && node.health !== "none") summary.health.checked += 1;
      if (node.health === "unhealthy") summary.health.unhealthy.push(String(node.name || node.label));
      if (node.health === "starting") summary.health.starting += 1;
      const exposure = Array.isArray(node.exposure) ? node.exposure : [];
      if (exposure.length) summary.exposure.total += 1;
      for (const way of ["public", "socket"]) if (exposure.includes(way)) summary.exposure[way] += 1;
    }
  }
  return summary;
}

function agoText(date, now) {
  const seconds = Math.max(0, Math.round((now - date) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min ago`;
}

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

export class Tiles {
  /**
   * @param {HTMLElement} root  the tiles' container
   * @param {string[]} chosen  tile names, in the dashboard's order (unknown names are skipped)
   */
  constructor(root, chosen) {
    this.root = root;
    this.chosen = chosen.filter((name) => name in TILE_TITLES);
    this.cards = new Map();
    this.visibleIds = new Set();
    /** When the visible graph last changed (a snapshot counts as the first change). */
    this.lastChange = null;
    for (const name of this.chosen) {
      const card = element("div", "tile");
      card.dataset.tile = name;
      const value = element("div", "tile-value", "—");
      const detail = element("div", "tile-detail");
      card.append(element("div", "tile-title", TILE_TITLES[name]), value, detail);
      this.cards.set(name, { card, value, detail });
      root.append(card);
    }
    root.hidden = this.chosen.length === 0;
    if (this.cards.has("last_change")) setInterval(() => this.showLastChange(), 1000);
  }

  /**
   * Recount after a change has been drawn and filtered.
   *
   * @param {Iterable<object>} nodes  contract nodes (the store's)
   * @param {(id: string) => boolean} isVisible
   * @param {import("./store.js").Change|null} change  what just changed (null: only filters did)
   */
  update(nodes, isVisible, change) {
    const shown = [...nodes].filter((node) => isVisible(node.id));
    const summary = summarise(shown, () => true);
    const wasVisible = this.visibleIds;
    this.visibleIds = new Set(shown.map((node) => node.id));
    if (change && this.touchesVisible(change, wasVisible)) this.lastChange = new Date();
    this.show(summary);
    return summary;
  }

  touchesVisible(change, wasVisible) {
    if (this.lastChange === null) return true;
    const seen = (id) => this.visibleIds.has(id) || wasVisible.has(id);
    return (
      change.addedNodes.some((node) => seen(node.id)) ||
      change.updatedNodes.some((node) => seen(node.id)) ||
      change.removedNodes.some((id) => wasVisible.has(id))
    );
  }

  show(summary) {
    const daemons = this.cards.get("daemons");
    if (daemons) {
      const { up, unreachable, stale } = summary.daemons;
      daemons.value.textContent = `${up} up`;
      const parts = [`${unreachable} unreachable`];
      if (stale) parts.push(`${stale} stale`);
      daemons.detail.textContent = parts.join(" · ");
      daemons.card.dataset.tone = unreachable ? "bad" : stale ? "warn" : "good";
    }
    const containers = this.cards.get("containers");
    if (containers) {
      const { total, byState } = summary.containers;
      containers.value.textContent = String(total);
      const rank = (state) => (STATE_ORDER.includes(state) ? STATE_ORDER.indexOf(state) : STATE_ORDER.length);
      const states = Object.keys(byState).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
      containers.detail.replaceChildren(
        ...states.map((state) => {
          const part = element("span", `tile-state ${STATE_TONE[state] || "neutral"}`, `${byState[state]} ${state}`);
          part.dataset.state = state;
          return part;
        }),
      );
      if (!states.length) containers.detail.textContent = "none";
    }
    const roles = this.cards.get("roles");
    if (roles) {
      roles.value.textContent = `${summary.roles.dind} · ${summary.roles.dood}`;
      roles.detail.textContent = `${summary.roles.dind} DinD · ${summary.roles.dood} DooD`;
    }
    const health = this.cards.get("health");
    if (health) {
      const { unhealthy, starting, checked } = summary.health;
      const names = [...unhealthy].sort((a, b) => a.localeCompare(b));
      health.value.textContent = String(names.length);
      const shownNames = names.slice(0, HEALTH_NAMES_SHOWN).join(", ");
      const more = names.length > HEALTH_NAMES_SHOWN ? ` and ${names.length - HEALTH_NAMES_SHOWN} more` : "";
      health.detail.textContent = names.length
        ? `${shownNames}${more}`
        : `${checked} with a healthcheck${starting ? ` · ${starting} starting` : ""}, none unhealthy`;
      health.card.title = names.join("\n");
      health.card.dataset.tone = names.length ? "bad" : starting ? "warn" : "good";
    }
    const exposed = this.cards.get("exposure");
    if (exposed) {
      const { total, socket } = summary.exposure;
      exposed.value.textContent = String(total);
      exposed.detail.textContent = `${summary.exposure.public} public port · ${socket} engine socket`;
      exposed.card.dataset.tone = total ? "bad" : "good";
    }
    this.showLastChange();
  }

  showLastChange() {
    const tile = this.cards.get("last_change");
    if (!tile) return;
    if (!this.lastChange) {
      tile.value.textContent = "—";
      tile.detail.textContent = "waiting for the graph";
      return;
    }
    tile.value.textContent = this.lastChange.toLocaleTimeString();
    tile.detail.textContent = agoText(this.lastChange, Date.now());
  }
}
