// The DinD vs DooD table on the demo pages: read from /api/demos/comparison/ (the server reads
// the engines at that moment), drawn with textContent only, read again when a demo changes.
// The build experiment runs on demand: the button queues it; its result arrives by the demos
// socket (demos.js passes each change on as a `topology:demo` event).

import { highlightHref } from "./highlight.js";
import { requestJson } from "./http.js";

const KINDS = ["dind", "dood"];
const NAMES = { dind: "DinD", dood: "DooD" };

function element(tag, { text, className, ...attributes } = {}, children = []) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export class ComparisonTable {
  constructor(root) {
    this.root = root;
    this.pinned = root.dataset.pinned || "";
    this.body = root.querySelector("tbody");
    this.status = root.querySelector(".comparison-read");
    this.loading = null;
    this.again = false;
    this.builds = new Map(); // demo id -> last build status seen
    root.querySelector(".comparison-refresh")?.addEventListener("click", () => this.load());
    document.addEventListener("topology:demo", (event) => this.demoChanged(event.detail));
  }

  url() {
    return this.pinned ? `/api/demos/comparison/?demo=${encodeURIComponent(this.pinned)}` : "/api/demos/comparison/";
  }

  /** Read the table again (one read at a time; a change during a read asks for one more). */
  async load() {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.status.textContent = "Reading the engines…";
    this.root.setAttribute("aria-busy", "true");
    this.loading = (async () => {
      try {
        const { ok, payload, statusText } = await requestJson("GET", this.url());
        if (!ok) throw new Error(payload.detail || statusText);
        this.render(payload);
        this.status.textContent = `Read from the engines at ${new Date(payload.read_at).toLocaleTimeString()}.`;
      } catch (error) {
        this.status.textContent = `The engines could not be read: ${error.message}`;
      } finally {
        this.root.removeAttribute("aria-busy");
        this.loading = null;
      }
      if (this.again) {
        this.again = false;
        await this.load();
      }
    })();
    return this.loading;
  }

  /** A demo changed (progress socket): read again when it could change a cell. */
  demoChanged(demo) {
    const build = demo.build ? `${demo.build.id}:${demo.build.status}` : "";
    const before = this.builds.get(demo.id);
    this.builds.set(demo.id, `${demo.status}|${build}`);
    if (before !== `${demo.status}|${build}`) this.load();
  }

  render(payload) {
    this.root.dataset.read = "true";
    for (const kind of KINDS) {
      const column = payload.columns[kind];
      const head = this.root.querySelector(`thead th[data-kind="${kind}"]`);
      const demo = column.demo;
      if (demo) this.builds.set(demo.id, `${demo.status}|${demo.build ? `${demo.build.id}:${demo.build.status}` : ""}`);
      const title = element("span", { className: "comparison-kind", text: NAMES[kind] });
      const which = demo && demo.id === this.pinned ? "this demo" : `demo ${demo?.id.slice(0, 8)}`;
      const sub = demo
        ? element("a", { href: `/demos/${demo.id}/`, text: `${which} · ${demo.status}` })
        : element("span", { className: "muted", text: "no running demo" });
      head.replaceChildren(title, " ", sub);
      head.dataset.demo = demo ? demo.id : "";
    }
    this.body.replaceChildren(...payload.rows.map((row) => this.rowElement(row, payload.columns)));
  }

  rowElement(row, columns) {
    const header = element("th", { scope: "row" }, [element("span", { className: "comparison-question", text: row.title })]);
    if (row.highlight.length) {
      header.append(
        element("a", { className: "comparison-map", href: highlightHref(row.highlight), text: "Show on the map" }),
      );
    }
    const cells = KINDS.map((kind) => this.cellElement(row, kind, row.cells[kind], columns[kind]));
    return element("tr", { "data-row": row.key }, [header, ...cells]);
  }

  cellElement(row, kind, cell, column) {
    const td = element("td", { "data-kind": kind, className: cell.tone ? `tone-${cell.tone}` : "" });
    if (cell.missing) td.classList.add("missing");
    td.append(element("div", { className: "comparison-summary", text: cell.summary }));
    if (cell.details.length) {
      td.append(element("ul", { className: "comparison-details" }, cell.details.map((line) => element("li", { text: line }))));
    }
    if (row.key === "build" && column.demo && column.may_build && !cell.missing) {
      const pending = cell.build && ["queued", "running"].includes(cell.build.status);
      const button = element("button", {
        type: "button",
        className: "ghost build-twice",
        text: pending ? "Building…" : cell.build ? "Build twice again" : "Build twice now",
      });
      button.disabled = pending;
      button.addEventListener("click", () => this.build(column.demo.id, button));
      td.append(button);
    }
    return td;
  }

  async build(demoId, button) {
    button.disabled = true;
    button.textContent = "Building…";
    const { ok, payload, statusText } = await requestJson("POST", `/api/demos/${demoId}/build/`);
    if (!ok) {
      button.disabled = false;
      button.textContent = "Build twice now";
      this.status.textContent = payload.detail || statusText;
    }
  }
}

const root = document.querySelector(".comparison");
if (root) {
  const table = new ComparisonTable(root);
  table.load();
  window.topologyComparison = table; // for the browser tests
}
