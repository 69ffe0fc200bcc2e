// The side panel: everything known about one node, built with textContent only.
// It shows a fixed list of fields, so nothing else a node might carry (never an environment)
// reaches the screen.

import { following } from "./following.js";
import { ICONS, iconFor } from "./icons.js";
import { composeText, containerImage, formatBytes, imageRegistries, imageUsers, sameImageElsewhere } from "./images.js";

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

const ALL_INTERFACES = ["", "0.0.0.0", "::"];

function portText(port) {
  const published = port.public ? `${port.ip || "0.0.0.0"}:${port.public} → ` : "";
  const everywhere = port.public && ALL_INTERFACES.includes(port.ip || "") ? "  (all interfaces: exposed)" : "";
  const exposedOnly = port.public ? "" : "  (not published)";
  return `${published}${port.private}/${port.protocol || "tcp"}${everywhere}${exposedOnly}`;
}

function mountText(mount) {
  const mode = mount.rw === false ? "ro" : "rw";
  const source = mount.type === "volume" && mount.name ? mount.name : mount.source || "(anonymous)";
  return `${mount.type}: ${source} → ${mount.destination} (${mode})`;
}

function addressText(edge) {
  const parts = [edge.ipv4, edge.ipv6].filter(Boolean);
  if (edge.aliases?.length) parts.push(`aliases ${edge.aliases.join(", ")}`);
  return parts.join(" · ") || "no address";
}

/** A node's labels as a section: a table of key and value, sorted, or "none". */
function labelsSection(node) {
  const labels = Object.entries(node.labels || {}).sort(([a], [b]) => a.localeCompare(b));
  const table = element("table");
  for (const [key, value] of labels) {
    table.append(element("tr", {}, [element("td", { text: key }), element("td", { text: value })]));
  }
  return section(`Labels (${labels.length})`, labels.length ? table : none());
}

const EXPOSURE_TEXT = { public: "port on all interfaces", socket: "engine socket mounted" };

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
    else if (node.kind === "network") kind = node.builtin ? "built-in network" : "network";
    else if (node.kind === "volume") kind = node.type === "bind" ? "shared host folder" : "shared volume";
    else if (node.kind === "image") kind = "image, in its daemon's cache";
    else if (node.kind === "registry") kind = node.docker_hub ? "registry (Docker Hub)" : "registry";
    subtitle.replaceChildren(element("span", { text: `${kind} · ` }), pill(node.status, stateTone(node.status)));
    if (node.kind === "container" && node.role !== "plain") {
      subtitle.append(" ", pill(node.role === "dind" ? "DinD" : "DooD", node.role));
    }
    if (node.kind === "container" && node.health === "unhealthy") subtitle.append(" ", pill("unhealthy", "bad"));
    for (const exposure of node.kind === "container" ? node.exposure || [] : []) {
      subtitle.append(" ", pill(exposure === "public" ? "public port" : "socket", "bad"));
    }
    if (node.kind === "network" && node.internal) subtitle.append(" ", pill("internal", "neutral"));
    const parts = [];
    if (node.kind === "container") parts.push(...this.containerSections(node, store));
    else if (node.kind === "daemon") parts.push(...this.daemonSections(node, store));
    else if (node.kind === "network") parts.push(...this.networkSections(node, store));
    else if (node.kind === "volume") parts.push(...this.volumeSections(node, store));
    else if (node.kind === "image") parts.push(...this.imageSections(node, store));
    else if (node.kind === "registry") parts.push(...this.registrySections(node, store));
    else parts.push(...this.hostSections(node, store));
    body.replaceChildren(...parts);
  }

  containerSections(node, store) {
    const outgoing = [...store.edges.values()].filter((edge) => edge.source === node.id);
    const sockets = outgoing.filter((edge) => ["socket", "client", "created"].includes(edge.kind));
    const nested = store.children(node.id).filter((child) => child.kind === "daemon");
    const image = containerImage(store.edges.values(), node.id);
    const rows = [
      ["Image", image ? this.linkWith("", image, store, ` (${node.image})`) : code(node.image)],
      ["Compose", node.compose ? composeText(node.compose) : undefined],
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
    const exposure = node.exposure || [];
    rows.push(["Exposure", exposure.length ? exposure.map((name) => EXPOSURE_TEXT[name] || name).join("; ") : "none"]);
    const sharesStack = outgoing.find((edge) => edge.kind === "netns");
    const mode = node.network_mode || "";
    if (sharesStack) rows.push(["Network stack", this.linkWith("shares that of ", sharesStack.target, store)]);
    else if (mode) rows.push(["Network mode", mode]);
    const ports = node.ports || [];
    const mounts = node.mounts || [];
    const paths = outgoing.filter((edge) => edge.kind === "publishes");
    const portList = listOf(ports.map(portText));
    if (paths.length) {
      portList.append(
        ...paths.map((edge) =>
          element("li", {}, [this.linkWith("path on to ", edge.target, store, ` (${(edge.ports || []).map(portText).join(", ")})`)]),
        ),
      );
    }
    return [
      definitionList(rows),
      ...(this.actions.extras ? this.actions.extras(node, store) : []),
      ...section("Networks", this.networksOf(node, outgoing, store)),
      ...section("Ports", portList),
      ...section("Mounts", this.mountsOf(mounts, outgoing, store)),
      ...labelsSection(node),
    ];
  }

  /** A link to a node after some text (and before some more), in one line. */
  linkWith(before, id, store, after = "") {
    const line = element("span", { text: before });
    line.append(this.link(id, store), after);
    return line;
  }

  /** The container's networks: each (a link, where the networks layer is drawn) with its addresses. */
  networksOf(node, outgoing, store) {
    const attached = outgoing.filter((edge) => edge.kind === "network");
    if (!attached.length) return listOf(node.networks || []);
    attached.sort((a, b) => String(a.network).localeCompare(String(b.network)));
    return element(
      "ul",
      { className: "plain" },
      attached.map((edge) => element("li", {}, [this.link(edge.target, store), ` ${addressText(edge)}`])),
    );
  }

  /** Mounts, a shared volume or folder linked to its node. */
  mountsOf(mounts, outgoing, store) {
    const shared = new Map(outgoing.filter((edge) => edge.kind === "mount").map((edge) => [edge.destination, edge]));
    if (!mounts.length) return none();
    return element(
      "ul",
      { className: "plain" },
      mounts.map((mount) => {
        const edge = shared.get(mount.destination);
        if (!edge) return element("li", { text: mountText(mount) });
        return element("li", {}, [this.linkWith("", edge.target, store, ` → ${mount.destination} (${mount.rw === false ? "ro" : "rw"}, shared)`)]);
      }),
    );
  }

  networkSections(node, store) {
    const attached = [...store.edges.values()].filter((edge) => edge.kind === "network" && edge.target === node.id);
    const sharing = new Map();
    for (const edge of store.edges.values()) {
      if (edge.kind === "netns") sharing.set(edge.target, [...(sharing.get(edge.target) || []), edge.source]);
    }
    const name = (id) => String(store.nodes.get(id)?.name || id);
    attached.sort((a, b) => name(a.source).localeCompare(name(b.source)));
    const rows = [
      ["Name", node.name],
      ["Driver", node.driver],
      ["Scope", node.scope],
      ["Internal", node.internal ? "yes: no route out" : "no"],
      ["Attachable", node.attachable ? "yes" : "no"],
      ["IPv6", node.ipv6 ? "yes" : "no"],
      ["Subnets", (node.subnets || []).length ? (node.subnets || []).join(", ") : null],
      ["Gateways", (node.gateways || []).length ? node.gateways.join(", ") : null],
      ["Network ID", code(node.id.split("/").pop())],
      ["Daemon", this.link(node.parent, store)],
      ["Created", formatTime(node.created)],
      ["Members", String(attached.length)],
    ];
    const members = attached.length
      ? element(
          "table",
          { className: "members" },
          attached.map((edge) => {
            const cells = [element("td", {}, [this.link(edge.source, store)]), element("td", { text: addressText(edge) })];
            const row = element("tr", {}, cells);
            for (const sidecar of sharing.get(edge.source) || []) {
              cells[1].append(element("div", {}, [this.linkWith("with ", sidecar, store, " (shares its stack)")]));
            }
            return row;
          }),
        )
      : none();
    return [
      definitionList(rows),
      ...section("Members and their addresses", members),
      ...labelsSection(node),
    ];
  }

  volumeSections(node, store) {
    const mounted = [...store.edges.values()].filter((edge) => edge.kind === "mount" && edge.target === node.id);
    const rows = [
      [node.type === "bind" ? "Path" : "Name", code(node.name)],
      ["Type", node.type === "bind" ? "host folder, bind-mounted" : "named volume"],
      ["Driver", node.type === "bind" ? undefined : node.driver],
      ["Scope", node.type === "bind" ? undefined : node.scope || null],
      [node.type === "bind" ? "Host" : "Daemon", this.link(node.parent, store)],
      ["Created", node.type === "bind" ? undefined : formatTime(node.created)],
      ["Used by", `${node.users || mounted.length} containers`],
    ];
    const users = mounted.length
      ? element(
          "ul",
          { className: "plain" },
          mounted.map((edge) =>
            element("li", {}, [this.linkWith("", edge.source, store, ` at ${edge.destination} (${edge.read_only ? "read-only" : "read-write"})`)]),
          ),
        )
      : none();
    const parts = [definitionList(rows), ...section("Mounted by", users)];
    if (Object.keys(node.labels || {}).length) parts.push(...labelsSection(node));
    return parts;
  }

  imageSections(node, store) {
    const users = imageUsers(store.edges.values(), node.id);
    const where = imageRegistries(store.edges.values(), node.id);
    const rows = [
      ["Image ID", code(node.image_id || node.id.split("/").pop())],
      ["Size", `${formatBytes(node.size)} (${node.size} bytes)`],
      ["Created", formatTime(node.created)],
      ["Daemon", this.link(node.parent, store)],
      ["Run by", `${users.length || node.users || 0} containers`],
    ];
    const copies = sameImageElsewhere(store.nodes.values(), node);
    rows.push([
      "Also cached in",
      copies.length
        ? linksTo(copies.map((copy) => copy.parent), (id) => this.link(id, store))
        : "no other daemon you can see (each daemon has its own cache)",
    ]);
    const registries = where.length
      ? element(
          "ul",
          { className: "plain" },
          where.map((edge) =>
            element("li", {}, [
              this.linkWith("", edge.target, store, `: ${(edge.repositories || []).join(", ")}${edge.pulled ? " (pulled)" : " (tagged)"}`),
            ]),
          ),
        )
      : none("none (untagged)");
    const parts = [
      definitionList(rows),
      ...section("Tags", listOf(node.tags || [])),
      ...section("Repository digests", listOf(node.digests || [])),
      ...section("Repositories", registries),
      ...section("Run by", linksTo(users, (id) => this.link(id, store))),
    ];
    if (Object.keys(node.labels || {}).length) parts.push(...labelsSection(node));
    return parts;
  }

  registrySections(node, store) {
    const images = [...store.edges.values()].filter((edge) => edge.kind === "registry" && edge.target === node.id);
    const rows = [
      ["Host", code(node.host || node.label)],
      ["Docker Hub", node.docker_hub ? "yes" : "no"],
      ["Images", String(images.length)],
    ];
    const list = images.length
      ? element(
          "ul",
          { className: "plain" },
          images.map((edge) =>
            element("li", {}, [
              this.linkWith("", edge.source, store, ` (${(edge.repositories || []).join(", ")}) in `),
              this.link(store.nodes.get(edge.source)?.parent || "", store),
            ]),
          ),
        )
      : none();
    return [definitionList(rows), ...section("Images from here (as far as you may see)", list)];
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
      ["Followed by", following(node)],
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
