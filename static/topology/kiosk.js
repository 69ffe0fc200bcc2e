// Wall-screen mode (`?kiosk=1`): no controls, the graph always fitted to the screen, large labels,
// a connection that never gives up, and a badge that says how fresh the picture is.

import { badge } from "./freshness.js";

/** A wall screen retries every few seconds at most, pings often, and keeps trying signed out. */
export const KIOSK_CONNECTION = {
  maxDelayMs: 4000,
  pingEveryMs: 5000,
  retryWhenSignedOut: true,
};

const MAX_FIT_ZOOM = 2.5;
const REFIT_DELAY_MS = 200;

/**
 * The filter controls, built off the page: a wall screen shows none, but the dashboard's
 * filters (in the URL) still apply through the same code as on the full page.
 */
export function offscreenFilterControls() {
  const make = (tag) => document.createElement(tag);
  return {
    form: make("form"),
    search: make("input"),
    host: make("select"),
    daemon: make("select"),
    role: make("select"),
    state: make("select"),
    health: make("select"),
    network: make("select"),
    exposure: make("select"),
    clear: make("button"),
  };
}

/** Labels readable across a room; no panning, zooming, dragging or selecting. */
export function setUpKioskView(view) {
  const cy = view.cy;
  view.viewport.maxFitZoom = MAX_FIT_ZOOM;
  cy.userZoomingEnabled(false);
  cy.userPanningEnabled(false);
  cy.boxSelectionEnabled(false);
  cy.autoungrabify(true);
  cy.autounselectify(true);
  // Leaves keep their text width (their boxes do not grow); the zoom does the rest.
  cy.style()
    .selector("node")
    .style({ "font-size": 12 })
    .selector(":parent")
    .style({ "font-size": 16 })
    .selector('node[kind = "host"]')
    .style({ "font-size": 19 })
    .update();
}

/**
 * Keep the graph fitted: when the window (or the graph's box) is resized and when the drawn
 * graph's extent changes (nodes arrive, leave or filters change what is shown).
 */
export class AutoFit {
  /**
   * @param {import("./graph-view.js").GraphView} view
   * @param {HTMLElement[]} watched  the graph's box and what lies over it (the kiosk bar)
   */
  constructor(view, watched) {
    this.view = view;
    this.timer = null;
    this.lastBounds = "";
    const observer = new ResizeObserver(() => this.schedule());
    for (const element of watched) if (element) observer.observe(element);
    window.addEventListener("resize", () => this.schedule());
  }

  /** Call after each change is drawn: refits if the extent of what is shown moved. */
  afterChange() {
    const bounds = this.view.viewport.visibleBounds();
    const key = [bounds.x1, bounds.y1, bounds.x2, bounds.y2].map(Math.round).join(",");
    if (key !== this.lastBounds) this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fit(), REFIT_DELAY_MS);
  }

  fit() {
    const cy = this.view.cy;
    cy.resize();
    if (cy.nodes().empty()) return;
    const bounds = this.view.viewport.visibleBounds();
    this.lastBounds = [bounds.x1, bounds.y1, bounds.x2, bounds.y2].map(Math.round).join(",");
    this.view.viewport.fitNow();
  }
}

/**
 * The badge in the corner: "live · updated 3 s ago" while snapshots, deltas and heartbeats keep
 * coming (pongs do not count); a warning when the link is down or has brought no news for three
 * heartbeats. `data-state` is the connection's state; `data-stale` marks the warning.
 */
export class Freshness {
  /**
   * @param {{root: HTMLElement, text: HTMLElement}} elements
   * @param {() => import("./freshness.js").FreshnessClock} clock  the connection's
   */
  constructor(elements, clock) {
    this.elements = elements;
    this.clock = clock;
    this.state = "connecting";
    this.retryAt = null;
    setInterval(() => this.show(), 1000);
  }

  onState(state, detail = {}) {
    this.state = state;
    this.retryAt = detail.retryAt || null;
    this.show();
  }

  show() {
    const { root, text } = this.elements;
    const { message, stale } = badge(this.state, this.clock(), Date.now(), this.retryAt);
    root.dataset.state = this.state;
    root.dataset.stale = String(stale);
    if (text.textContent !== message) text.textContent = message;
  }
}
