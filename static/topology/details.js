// The side panel: everything known about one node, built with textContent only.
// It shows a fixed list of fields, so nothing else a node might carry (never an environment)
// reaches the screen.

import { ICONS, iconFor } from "./icons.js";

function element(tag, { text, className, title } = {}, children = []) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  if (title) node.title = title;
  node.append(...children);
  return node;
}

function none(text = "none") {
  return element("span", { text, className: "none" });
}

function pill(text, tone) {
  return element("span", { text, className: `pill ${tone}` });
}

function stateTone(status) {
  if (status === "running" || status === "up") return "good";
  if (["paused", "restarting", "stale", "created"].includes(status)) return "warn";
  if (["dead", "unreachable"].includes(status)) return "bad";
  return "neutral";
}

function formatTime(iso) {
  if (!iso) return none("unknown");
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return element("span", { text: iso });
  const seconds = Math.round((Date.now() - when.getTime()) / 1000);
  let ago = `${Math.round(seconds / 86400)} days ago`;
  if (seconds < 90) ago = `${seconds} s ago`;
  else if (seconds < 5400) ago = `${Math.round(seconds / 60)} min ago`;
  else if (seconds < 172800) ago = `${Math.round(seconds / 3600)} h ago`;
  return element("span", { text: `${when.toLocaleString()} (${ago})`, title: iso });
}

function code(text) {
  return element("code", { text });
}

function definitionList(rows) {
  const list = element("dl");
  for (const [term, value] of rows) {
    if (value === undefined) continue;
    const dd = element("dd");
    if (value instanceof Node) dd.append(value);
    else if (value === null || value === "") dd.append(none("—"));
    else dd.textContent = String(value);
    list.append(element("dt", { text: term }), dd);
  }
  return list;
}

function section(title, content) {
  return [element("h3", { text: title }), content];
}

const HEALTH_TONE = { healthy: "good", starting: "warn", unhealthy: "bad" };

const ROLE_TEXT = {
  plain: "plain",
  dind: "DinD: runs its own Docker daemon",
  dood: "DooD: drives a daemon through its socket",
};

/** The details row of an edge that starts at the container shown. */
const EDGE_OUT_TEXT = { socket: "Drives (DooD)", created: "Created (asked its daemon)" };

/** A list of texts, or "none". */
function listOf(texts) {
  return texts.length ? element("ul", { className: "plain" }, texts.map((text) => element("li", { text }))) : none();
}

/** A list of links to nodes, or "none". */
function linksTo(ids, link) {
  return ids.length ? element("ul", { className: "plain" }, ids.map((id) => element("li", {}, [link(id)]))) : none();
}

function portText(port) {
  const published = port.public ? `${port.ip || "0.0.0.0"}:${port.public} → ` : "";
  return `${published}${port.private}/${port.protocol || "tcp"}`;
}

function mountText(mount) {
  const mode = mount.rw === false ? "ro" : "rw";
  return `${mount.type}: ${mount.source || "(anonymous)"} → ${mount.destination} (${mode})`;
}

export class DetailsPanel {
  /**
   * @param {{root: HTMLElement, icon: HTMLImageElement, title: HTMLElement, subtitle: HTMLElement,
   *          body: HTMLElement, close: HTMLButtonElement, center: HTMLButtonElement}} parts
   * @param {{onClose: () => void, onCenter: (id: string) => void, onNavigate: (id: string) => void,
   *          extras?: (node: object, store: object) => Node[]}} actions  (extras: more sections
   *   of a container, after its facts: see insight.js)
   */
  constructor(parts, actions) {
    this.parts = parts;
    this.actions = actions;
    this.nodeId = null;
    this.shown = null;
    parts.close.addEventListener("click", () => actions.onClose());
    parts.center.addEventListener("click", () => this.nodeId && actions.onCenter(this.nodeId));
  }

  get open() {
    return !this.parts.root.hidden;
  }

  show(id, store) {
    this.nodeId = id;
    this.parts.root.hidden = false;
    this.render(store);
  }

  hide() {
    this.nodeId = null;
    this.shown = null;
    this.parts.root.hidden = true;
  }

  /** Re-render if the shown node changed (or went away). */
  refresh(store) {
    if (!this.nodeId) return;
    const node = store.nodes.get(this.nodeId);
    if (node === this.shown && node) return;
    this.render(store);
  }

  link(id, store) {
    const node = store.nodes.get(id);
    if (!node) return element("span", { text: id });
    let text = node.label;
    if (node.kind === "daemon") text = `${node.nesting > 0 ? "nested engine" : "Docker engine"} ${node.label}`;
    else if (node.kind === "host") text = `host ${node.label}`;
    const anchor = element("a", { text, className: "node-link", title: id });
    anchor.href = "#";
    anchor.addEventListener("click", (event) => {
      event.preventDefault();
      this.actions.onNavigate(id);
    });
    return anchor;
  }

  render(store) {
    const { icon, title, subtitle, body, center } = this.parts;
    const node = store.nodes.get(this.nodeId);
    this.shown = node || null;
    if (!node) {
      icon.removeAttribute("src");
      title.textContent = "Gone";
      subtitle.textContent = this.nodeId;
      body.replaceChildren(element("p", { text: "This node is no longer in the graph.", className: "muted" }));
      center.disabled = true;
      return;
    }
    center.disabled = false;
    icon.src = ICONS[iconFor(node)];
    title.textContent = node.kind === "container" ? node.name || node.label : node.label;
    let kind = node.kind;
    if (node.kind === "daemon") kind = node.nesting > 0 ? `nested Docker daemon, level ${node.nesting}` : "Docker daemon";
    subtitle.replaceChildren(element("span", { text: `${kind} · ` }), pill(node.status, stateTone(node.status)));
    if (node.kind === "container" && node.role !== "plain") {
      subtitle.append(" ", pill(node.role === "dind" ? "DinD" : "DooD", node.role));
    }
    if (node.kind === "container" && node.health === "unhealthy") subtitle.append(" ", pill("unhealthy", "bad"));
    const parts = [];
    if (node.kind === "container") parts.push(...this.containerSections(node, store));
    else if (node.kind === "daemon") parts.push(...this.daemonSections(node, store));
    else parts.push(...this.hostSections(node, store));
    body.replaceChildren(...parts);
  }

  containerSections(node, store) {
    const sockets = [...store.edges.values()].filter((edge) => edge.source === node.id);
    const nested = store.children(node.id).filter((child) => child.kind === "daemon");
    const rows = [
      ["Image", code(node.image)],
      ["State", node.state],
      ["Role", ROLE_TEXT[node.role] || node.role],
      ["Privileged", node.privileged ? "yes" : "no"],
      ["Health", node.health && node.health !== "none" ? pill(node.health, HEALTH_TONE[node.health] || "neutral") : "no healthcheck"],
      ["Created", formatTime(node.created)],
      ["Container ID", code(node.id.replace(/^container:/, ""))],
      ["Daemon", this.link(node.parent, store)],
    ];
    if (nested.length) rows.push(["Nested daemon", this.link(nested[0].id, store)]);
    for (const edge of sockets) {
      rows.push([EDGE_OUT_TEXT[edge.kind] || `${edge.kind} →`, this.link(edge.target, store)]);
    }
    for (const edge of store.edges.values()) {
      if (edge.kind === "created" && edge.target === node.id) rows.push(["Created by", this.link(edge.source, store)]);
    }
    const ports = node.ports || [];
    const mounts = node.mounts || [];
    const networks = node.networks || [];
    const labels = Object.entries(node.labels || {}).sort(([a], [b]) => a.localeCompare(b));
    const labelTable = element("table");
    for (const [key, value] of labels) {
      labelTable.append(element("tr", {}, [element("td", { text: key }), element("td", { text: value })]));
    }
    return [
      definitionList(rows),
      ...(this.actions.extras ? this.actions.extras(node, store) : []),
      ...section("Ports", listOf(ports.map(portText))),
      ...section("Mounts", listOf(mounts.map(mountText))),
      ...section("Networks", listOf(networks)),
      ...section(`Labels (${labels.length})`, labels.length ? labelTable : none()),
    ];
  }

  daemonSections(node, store) {
    const containers = store.children(node.id).filter((child) => child.kind === "container");
    const running = containers.filter((child) => child.status === "running").length;
    const drivenBy = [...store.edges.values()].filter((edge) => edge.target === node.id);
    const rows = [
      ["Engine ID", code(node.id.replace(/^daemon:/, ""))],
      ["Endpoint", code(node.endpoint)],
      ["Reached by", node.access],
      ["Docker", node.version],
      ["API", node.api_version],
      ["OS", node.os],
      ["Nesting", String(node.nesting)],
      ["Reachable", node.reachable ? "yes" : "no"],
      ["Runs in", node.parent ? this.link(node.parent, store) : null],
      ["Containers", `${containers.length} (${running} running)`],
    ];
    if (node.last_error) rows.push(["Last error", element("span", { text: node.last_error, className: "error" })]);
    const parts = [definitionList(rows)];
    if (drivenBy.length) {
      const list = linksTo(drivenBy.map((edge) => edge.source), (id) => this.link(id, store));
      parts.push(...section("Driven through its socket by (DooD)", list));
    }
    return parts;
  }

  hostSections(node, store) {
    const daemons = store.children(node.id).filter((child) => child.kind === "daemon");
    const list = linksTo(daemons.map((daemon) => daemon.id), (id) => this.link(id, store));
    const rows = [["Name", node.label], ["Status", node.status], ["ID", code(node.id)]];
    return [definitionList(rows), ...section("Daemons", list)];
  }
}
