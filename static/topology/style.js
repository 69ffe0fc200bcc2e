// The Cytoscape stylesheet: kind and role set fill and icon, state sets the border.

import { SUMMARY_STYLE } from "./detail-level.js";
import { iconUrls } from "./icons.js";
import { imageChipText, registryText } from "./images.js";

export const LEAF_WIDTH = 184;
export const LEAF_HEIGHT = 46;
export const COMPOUND_PADDING = 18;
export const COMPOUND_LABEL_SPACE = 24;
export const LABEL_FONT_FAMILY = "Inter, system-ui, sans-serif";
const BUS_HEIGHT = 24; // network-layout.js draws buses this tall

/** The canvas font of a box's label (see the `:parent` rules below). */
export function boxLabelFont(node) {
  return `600 ${node.kind === "host" ? 14 : 12}px ${LABEL_FONT_FAMILY}`;
}

/** How tall a box's one-line title is drawn, and how far above the box (as Cytoscape draws it). */
export function boxTitleSpace(node) {
  return { h: node.kind === "host" ? 18.5 : 16.5, gap: 1.5 };
}

const STATE_COLOURS = {
  running: "#3fb950",
  exited: "#6e7681",
  created: "#58a6ff",
  paused: "#d29922",
  restarting: "#e3b341",
  removing: "#8b949e",
  dead: "#f85149",
  stale: "#d29922",
};

export function stylesheet() {
  const ICONS = iconUrls();
  const rules = [
    {
      selector: "node",
      style: {
        shape: "round-rectangle",
        "corner-radius": 8,
        width: LEAF_WIDTH,
        height: LEAF_HEIGHT,
        "background-color": "#17222e",
        "border-width": 2,
        "border-color": "#3b4b5d",
        "background-image": ICONS.plain,
        "background-width": 18,
        "background-height": 18,
        "background-position-x": 10,
        "background-clip": "none",
        "transition-property": "border-color, background-color, opacity",
        "transition-duration": 250,
      },
    },
    // A leaf's text is not drawn below zoom 0.5: a quiet leaf, one shown from too far for that
    // (see QuietLabels in labels.js), has no text and none of its properties to compute.
    {
      selector: "node[!quiet]",
      style: {
        label: "data(display)",
        color: "#e6edf3",
        "font-size": 11,
        "font-family": LABEL_FONT_FAMILY,
        "text-wrap": "wrap",
        "text-max-width": LEAF_WIDTH - 44,
        "text-valign": "center",
        "text-margin-x": 12,
        "line-height": 1.3,
        "min-zoomed-font-size": 6,
      },
    },
    {
      selector: ":parent",
      style: {
        shape: "round-rectangle",
        "corner-radius": 10,
        padding: COMPOUND_PADDING,
        label: "data(display)", // a quiet leaf that becomes a box included
        color: "#e6edf3",
        "font-family": LABEL_FONT_FAMILY,
        "line-height": 1.3,
        "text-valign": "top",
        "text-halign": "center",
        "text-margin-x": 0,
        "text-margin-y": -6,
        "text-max-width": 600,
        "text-wrap": "ellipsis",
        "font-size": 12,
        "font-weight": 600,
        "background-position-x": 6,
        "background-position-y": 6,
        "background-width": 14,
        "background-height": 14,
        "min-zoomed-font-size": 5,
      },
    },
    {
      selector: 'node[kind = "host"]',
      style: {
        "background-color": "#0f1822",
        "background-opacity": 0.9,
        "border-color": "#51667d",
        "border-width": 2,
        "background-image": ICONS.host,
        "font-size": 14,
        color: "#c9d6e3",
      },
    },
    {
      selector: 'node[kind = "daemon"]',
      style: {
        "background-color": "#3d8bfd",
        "background-opacity": 0.07,
        "border-color": "#3d8bfd",
        "background-image": ICONS.daemon,
        color: "#a9cfff",
      },
    },
    {
      selector: 'node[kind = "daemon"][nesting > 0]',
      style: {
        "background-color": "#a371f7",
        "background-opacity": 0.1,
        "border-color": "#a371f7",
        "background-image": ICONS.nested,
        color: "#d6c2ff",
      },
    },
    {
      selector: 'node[kind = "daemon"][status = "unreachable"], node[kind = "host"][status = "unreachable"]',
      style: { "border-color": "#f85149", "border-style": "dashed", color: "#ffb3ad" },
    },
    {
      selector: 'node[kind = "daemon"][status = "stale"], node[kind = "host"][status = "stale"]',
      style: { "border-color": "#d29922", "border-style": "dashed", opacity: 0.75 },
    },
    {
      selector: 'node[kind = "container"][role = "dind"]',
      style: { "background-color": "#261d3a", "background-image": ICONS.dind },
    },
    {
      selector: 'node[kind = "container"][role = "dind"]:parent',
      style: { "background-color": "#a371f7", "background-opacity": 0.06, color: "#d6c2ff", "border-width": 2.5 },
    },
    {
      selector: 'node[kind = "container"][role = "dood"]',
      style: { "background-color": "#2e2115", "background-image": ICONS.dood },
    },
    {
      selector: 'node[kind = "socket"]',
      style: {
        "background-color": "#2e2115",
        "border-color": "#f0883e",
        "border-style": "dashed",
        "background-image": ICONS.socket,
        color: "#ffcfa8",
        "text-overflow-wrap": "anywhere", // an endpoint has no spaces to break at
      },
    },
    {
      selector: 'node[kind = "container"][?privileged]',
      style: { "outline-width": 2, "outline-color": "#ff7b72", "outline-offset": 3, "outline-opacity": 0.9 },
    },
    ...connectivityNodeRules(ICONS),
    ...imageNodeRules(ICONS),
    SUMMARY_STYLE, // a daemon's contents seen from far on a large map
  ];
  for (const [state, colour] of Object.entries(STATE_COLOURS)) {
    rules.push({ selector: `node[kind = "container"][status = "${state}"]`, style: { "border-color": colour } });
  }
  rules.push(
    {
      selector: 'node[kind = "container"][status != "running"]',
      style: { color: "#aab6c2" },
    },
    {
      selector: 'node[kind = "container"][status = "stale"]',
      style: { "border-style": "dashed", opacity: 0.6 },
    },
    ...healthAndHeatRules(),
    {
      selector: "edge",
      style: {
        width: 2,
        "curve-style": "bezier",
        "line-color": "#6e7681",
        "target-arrow-color": "#6e7681",
        "target-arrow-shape": "triangle",
        "arrow-scale": 1.1,
        label: "data(kind)",
        "font-size": 9,
        color: "#ffab70",
        "text-background-color": "#0b1118",
        "text-background-opacity": 0.85,
        "text-background-padding": 2,
        "text-rotation": "autorotate",
        "min-zoomed-font-size": 8,
      },
    },
    {
      selector: 'edge[kind = "socket"]',
      style: {
        "line-color": "#f0883e",
        "target-arrow-color": "#f0883e",
        "line-style": "dashed",
        "line-dash-pattern": [7, 4],
        "curve-style": "bezier",
        "z-compound-depth": "top",
        label: "",
        "z-index": 20,
      },
    },
    // Created (a DooD demo's siblings): the DooD container asked the daemon for them. Drawn only
    // where the product knows it (its own demos), between containers side by side in one daemon.
    {
      selector: 'edge[kind = "created"]',
      style: {
        "line-color": "#e3b341",
        "target-arrow-color": "#e3b341",
        "line-style": "dotted",
        width: 2.5,
        // Siblings sit side by side: a bow keeps the short arrow clear of their text.
        "curve-style": "unbundled-bezier",
        "control-point-distances": [-26],
        "control-point-weights": [0.5],
        "arrow-scale": 1.2,
        label: "",
        "z-compound-depth": "top",
        "z-index": 15,
      },
    },
    ...connectivityEdgeRules(),
    ...imageEdgeRules(),
    // Filtered out: not drawn, but still holding its place, so that nothing moves as filters change.
    { selector: ".filtered-out", style: { visibility: "hidden", events: "no" } },
    {
      selector: "node:selected",
      style: {
        "border-color": "#ffffff",
        "border-width": 3,
        "underlay-color": "#4aa3ff",
        "underlay-opacity": 0.25,
        "underlay-padding": 6,
      },
    },
    { selector: "edge:selected", style: { width: 3.5 } },
    {
      selector: ".search-hit",
      style: { "underlay-color": "#e3b341", "underlay-opacity": 0.35, "underlay-padding": 5 },
    },
    { selector: ".arrived", style: { "underlay-color": "#3fb950", "underlay-opacity": 0.45, "underlay-padding": 8 } },
    // Lit up from a link (`?highlight=`, see highlight.js); what is unrelated fades.
    {
      selector: "node.highlighted",
      style: {
        "border-color": "#f2cc60",
        "border-width": 3.5,
        "underlay-color": "#f2cc60",
        "underlay-opacity": 0.4,
        "underlay-padding": 7,
      },
    },
    { selector: "node.dimmed", style: { opacity: 0.28 } },
    { selector: "edge.dimmed", style: { opacity: 0.15 } },
  );
  return rules;
}

/**
 * Health (contract v2): an unhealthy container gets a thick red double border on a dark red
 * fill, and "UNHEALTHY" in its text; one whose healthcheck is starting, a dotted amber border.
 * Colouring by CPU or memory (the toolbar's choice) fills a container with its `heatColour` (a
 * DinD box only tinted).
 */
function healthAndHeatRules() {
  return [
    {
      selector: 'node[kind = "container"][health = "unhealthy"]',
      style: { "border-color": "#ff4d4d", "border-style": "double", "border-width": 5, "background-color": "#3a1518" },
    },
    {
      selector: 'node[kind = "container"][health = "starting"]',
      style: { "border-color": "#e3b341", "border-style": "dotted", "border-width": 3 },
    },
    {
      selector: 'node[kind = "container"][?heat]',
      style: { "background-color": "data(heatColour)", "background-opacity": 0.85 },
    },
    {
      // A DinD box is tinted, not filled: what it holds stays readable.
      selector: 'node[kind = "container"][?heat]:parent',
      style: { "background-opacity": 0.22 },
    },
  ];
}

/**
 * Networks as buses (a bar as wide as its band, see network-layout.js; the built-in bridge, host
 * and none quieter, an internal network dashed), shared volumes and host folders as barrels, the
 * pin a published-port path ends at, and the exposure badge of a container (a second icon at
 * its right: a port on all interfaces, an engine socket mounted, or both).
 */
function connectivityNodeRules(ICONS) {
  const rules = [
    {
      selector: 'node[kind = "network"]',
      style: {
        width: "data(busWidth)",
        height: BUS_HEIGHT,
        "corner-radius": 6,
        "background-color": "#0e2a2f",
        "border-color": "#39c5cf",
        "border-width": 2,
        "background-image": ICONS.network,
        "background-width": 16,
        "background-height": 16,
        "background-position-x": 8,
        color: "#b3f0f5",
        "text-halign": "center",
        "text-valign": "center",
        "text-margin-x": 0,
        "text-max-width": "data(textWidth)",
        "text-wrap": "ellipsis",
        "font-weight": 600,
      },
    },
    { selector: 'node[kind = "network"][?internal]', style: { "border-style": "dashed" } },
    {
      selector: 'node[kind = "network"][?builtin]',
      style: { "background-color": "#141b23", "border-color": "#4b5b6b", "border-width": 1.5, color: "#8b98a5", opacity: 0.75 },
    },
    { selector: 'node[kind = "network"][status = "stale"]', style: { "border-style": "dashed", opacity: 0.5 } },
    {
      selector: 'node[kind = "volume"]',
      style: {
        shape: "barrel",
        "background-color": "#231b33",
        "border-color": "#a371f7",
        "background-image": ICONS.volume,
        color: "#e2d3ff",
      },
    },
    {
      selector: 'node[kind = "volume"][type = "bind"]',
      style: { "background-color": "#2b2312", "border-color": "#d29922", "background-image": ICONS.folder, color: "#f5dfa6" },
    },
    {
      selector: 'node[kind = "ports"]',
      style: {
        width: 132,
        "background-color": "#33191a",
        "border-color": "#ff7b72",
        "border-style": "dashed",
        "background-image": ICONS.ports,
        color: "#ffc1bb",
      },
    },
  ];
  const badges = { public: ICONS.public, socket: ICONS["exposed-socket"] };
  for (const role of ["plain", "dind", "dood"]) {
    for (const [exposed, images] of [
      ["public", [badges.public]],
      ["socket", [badges.socket]],
      ["both", [badges.public, badges.socket]],
    ]) {
      const icons = [ICONS[role], ...images];
      const selector = `node[kind = "container"][role = "${role}"][exposed = "${exposed}"]`;
      rules.push({
        selector,
        style: {
          "text-max-width": LEAF_WIDTH - 66,
          "background-image": icons,
          "background-width": icons.map((_, index) => (index ? 15 : 18)),
          "background-height": icons.map((_, index) => (index ? 15 : 18)),
          "background-position-x": icons.map((_, index) => (index ? LEAF_WIDTH - 8 - 18 * index : 10)),
          "background-position-y": icons.map((_, index) => (index ? 5 : "50%")),
        },
      });
      rules.push({
        selector: `${selector}:parent`,
        style: {
          "background-width": icons.map((_, index) => (index ? 13 : 14)),
          "background-height": icons.map((_, index) => (index ? 13 : 14)),
          "background-position-x": icons.map((_, index) => (index ? `${100 - 2 * index}%` : 6)),
          "background-position-y": icons.map(() => 6),
        },
      });
    }
  }
  return rules;
}

/**
 * An image as a chip in its daemon's box (drawn smaller than the leaf cell it stands in, so a
 * grid of them reads as a group, not as more containers); a registry as a plain card outside
 * the hosts.
 */
function imageNodeRules(ICONS) {
  return [
    {
      selector: 'node[kind = "image"]',
      style: {
        height: LEAF_HEIGHT - 12,
        "corner-radius": 14,
        "background-color": "#13261a",
        "border-color": "#2ea043",
        "border-width": 1.5,
        "background-image": ICONS.image,
        "background-width": 15,
        "background-height": 15,
        "font-size": 10,
        color: "#c8f5d0",
      },
    },
    { selector: 'node[kind = "image"][users = 0]', style: { "border-style": "dashed", opacity: 0.8 } },
    { selector: 'node[kind = "image"][status = "stale"]', style: { "border-color": "#d29922", opacity: 0.5 } },
    {
      selector: 'node[kind = "registry"]',
      style: {
        "background-color": "#2a2410",
        "border-color": "#d4a72c",
        "background-image": ICONS.registry,
        color: "#f8e3a1",
      },
    },
  ];
}

/** Which image a container runs: a thin green line; where an image lives: a dashed gold one. */
function imageEdgeRules() {
  return [
    {
      selector: 'edge[kind = "image"]',
      style: {
        width: 1.2,
        "line-color": "#2ea043",
        "target-arrow-color": "#2ea043",
        "arrow-scale": 0.7,
        label: "",
        opacity: 0.7,
      },
    },
    {
      selector: 'edge[kind = "registry"]',
      style: {
        width: 1.2,
        "line-color": "#d4a72c",
        "target-arrow-color": "#d4a72c",
        "line-style": "dashed",
        "line-dash-pattern": [6, 4],
        label: "",
        opacity: 0.6,
      },
    },
    { selector: 'edge[kind = "registry"][?pulled]', style: { "line-style": "solid", opacity: 0.8 } },
  ];
}

/**
 * Attachments thin and quiet (along the bus routes where the nested grid gave them one), a
 * shared network stack dashed, mounts dotted (read-only ones labelled), published-port paths
 * bold red with their ports.
 */
function connectivityEdgeRules() {
  return [
    {
      selector: 'edge[kind = "network"]',
      style: {
        width: 1.5,
        "line-color": "#39c5cf",
        "target-arrow-shape": "none",
        "curve-style": "straight",
        label: "",
        opacity: 0.85,
      },
    },
    { selector: 'edge[kind = "network"][?builtin]', style: { "line-color": "#4b5b6b", opacity: 0.6 } },
    {
      selector: 'edge[kind = "network"].routed',
      style: {
        "curve-style": "segments",
        "edge-distances": "node-position",
        "segment-weights": "data(segW)",
        "segment-distances": "data(segD)",
        "source-endpoint": "data(sourceEnd)",
        "target-endpoint": "data(busEnd)",
      },
    },
    {
      selector: 'edge[kind = "netns"]',
      style: {
        "line-color": "#39c5cf",
        "target-arrow-color": "#39c5cf",
        "line-style": "dashed",
        "line-dash-pattern": [4, 3],
        label: "netns",
        color: "#b3f0f5",
      },
    },
    {
      selector: 'edge[kind = "mount"]',
      style: {
        "line-color": "#a371f7",
        "target-arrow-color": "#a371f7",
        "line-style": "dotted",
        width: 2,
        label: "data(mountLabel)",
        color: "#e2d3ff",
      },
    },
    { selector: 'edge[kind = "mount"][target ^= "path:"]', style: { "line-color": "#d29922", "target-arrow-color": "#d29922" } },
    {
      selector: 'edge[kind = "publishes"]',
      style: {
        width: 3,
        "line-color": "#ff7b72",
        "target-arrow-color": "#ff7b72",
        label: "data(portsLabel)",
        color: "#ffc1bb",
        "z-compound-depth": "top",
        "z-index": 30,
      },
    },
  ];
}

/**
 * The text drawn on a node (daemon text goes to the canvas, never into markup). A node drawn as
 * a box (`isBox`) gets one line, above the box.
 */
export function displayLabel(node, isBox = false) {
  const clip = (text, max) => {
    const value = String(text ?? "");
    return value.length > max ? `${value.slice(0, max - 1)}…` : value;
  };
  const clipStart = (text, max) => {
    const value = String(text ?? "");
    return value.length > max ? `…${value.slice(-(max - 1))}` : value;
  };
  if (node.kind === "host") return `${clip(node.label, 60)}  ·  host`;
  if (node.kind === "network") {
    const parts = [clip(node.name || node.label, 40), node.driver || "?"];
    if (node.internal) parts.push("internal");
    for (const subnet of (node.subnets || []).slice(0, 2)) parts.push(String(subnet));
    return parts.join("  ·  ");
  }
  if (node.kind === "volume") {
    const kind = node.type === "bind" ? "host folder" : `volume · ${clip(node.driver || "local", 10)}`;
    const name = node.type === "bind" ? clipStart(node.name || node.label, 20) : clip(node.name || node.label, 20);
    return `${name}\n${kind}\n${node.users || 0} containers`;
  }
  if (node.kind === "ports") return "Published ports";
  if (node.kind === "image") return imageChipText(node);
  if (node.kind === "registry") return registryText(node);
  if (node.kind === "socket") {
    const endpoint = String(node.endpoint || "").replace(/^unix:\/\//, ""); // a path says it
    const tail = endpoint.length > 24 ? `…${endpoint.slice(-23)}` : endpoint;
    return `Docker socket\n${tail}`;
  }
  if (node.kind === "daemon") {
    const where = node.nesting > 0 ? `nested engine (level ${node.nesting})` : "Docker engine";
    const status = node.status !== "up" ? `  ·  ${String(node.status).toUpperCase()}` : "";
    return `${where}  ·  ${clip(node.label, 40)}  ·  ${clip(node.version || "?", 16)}${status}`;
  }
  if (node.kind === "container") {
    const image = /^sha256:[0-9a-f]{12,}$/.test(node.image) ? node.image.slice(0, 19) : node.image;
    const role = node.role === "dind" ? "  ·  DinD" : node.role === "dood" ? "  ·  DooD" : "";
    const state = (node.status !== "running" ? ` (${node.status})` : "") + (node.health === "unhealthy" ? "  ·  UNHEALTHY" : "");
    if (isBox) return `${clip(node.name || node.label, 40)}${role}${state}  ·  ${clip(image, 40)}`;
    return `${clip(node.name || node.label, 24)}${role}${state}\n${clip(image, 28)}`;
  }
  return clip(node.label, 40);
}
