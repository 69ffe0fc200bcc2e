// A dashboard's pinned node positions: applied as the graph is drawn, and saved from the page by
// those who may change the dashboard (team admins, site admins) through the REST API.

import { requestJson } from "./http.js";

/** Saved places, given to nodes as they are drawn (at open, and whenever a pinned node returns). */
export class PinnedPositions {
  /**
   * @param {import("./graph-view.js").GraphView} view
   * @param {Record<string, {x: number, y: number}>} saved
   * @param {{lock: boolean}} options  lock pinned nodes where they are (for those who cannot
   *   save: layouts and dragging leave them alone)
   */
  constructor(view, saved, { lock }) {
    this.view = view;
    this.saved = saved || {};
    this.lock = lock;
  }

  get empty() {
    return Object.keys(this.saved).length === 0;
  }

  /** Place those of `ids` that have a saved place; returns how many were placed. */
  apply(ids) {
    if (this.empty || !ids.length) return 0;
    const wanted = {};
    for (const id of ids) if (Object.hasOwn(this.saved, id)) wanted[id] = this.saved[id];
    return this.view.pinPositions(wanted, { lock: this.lock }).length;
  }
}

function errorText(status, payload) {
  if (status === 403) return payload.detail || "You may not change this dashboard.";
  if (status === 400) {
    const reasons = Object.entries(payload).map(([field, errors]) => `${field}: ${[errors].flat().join(" ")}`);
    return `The server refused these positions (${reasons.join("; ") || "no reason given"}).`;
  }
  return payload.detail || `The server answered ${status}.`;
}

/**
 * The "Save positions" button: PATCHes every drawn leaf's place to the dashboard, keeping the
 * saved places of nodes that exist but are not drawn (outside the dashboard's scope for now).
 */
export class PositionSaver {
  /**
   * @param {{button: HTMLButtonElement, status: HTMLElement}} elements
   * @param {import("./graph-view.js").GraphView} view
   * @param {{apiUrl: string, csrfToken: string}} dashboard
   * @param {PinnedPositions} pinned  told about what was saved
   * @param {import("./store.js").GraphStore} store  the whole graph
   */
  constructor(elements, view, dashboard, pinned, store) {
    this.elements = elements;
    this.view = view;
    this.store = store;
    this.dashboard = dashboard;
    this.pinned = pinned;
    this.saving = false;
    elements.button.addEventListener("click", () => this.save());
    view.cy.on("dragfree", "node", () => this.markUnsaved());
  }

  /** Saved places of nodes the graph holds but the view does not draw. */
  undrawnPins() {
    const kept = {};
    for (const [id, at] of Object.entries(this.pinned.saved)) {
      if (this.store.nodes.has(id) && this.view.cy.getElementById(id).empty()) kept[id] = at;
    }
    return kept;
  }

  markUnsaved() {
    this.elements.button.classList.add("unsaved");
    this.say("Unsaved changes", "warn");
  }

  say(text, tone) {
    this.elements.status.textContent = text;
    this.elements.status.dataset.tone = tone;
  }

  async save() {
    if (this.saving) return;
    this.saving = true;
    this.elements.button.disabled = true;
    const positions = { ...this.undrawnPins(), ...this.view.leafPositions() };
    this.say("Saving…", "neutral");
    try {
      const { ok, status, payload } = await requestJson(
        "PATCH",
        this.dashboard.apiUrl,
        { positions },
        this.dashboard.csrfToken,
      );
      if (!ok) {
        // Nothing on screen is undone: the user can fix what was wrong and save again.
        this.say(errorText(status, payload), "bad");
        return;
      }
      this.pinned.saved = payload.positions || positions;
      this.elements.button.classList.remove("unsaved");
      this.say(`Saved ${Object.keys(positions).length} positions`, "good");
    } catch (error) {
      this.say(`Could not save: ${error.message}`, "bad");
    } finally {
      this.saving = false;
      this.elements.button.disabled = false;
    }
  }
}
