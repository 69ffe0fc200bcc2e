// The Cytoscape stylesheet: kind and role set fill and icon, state sets the border.

import { iconUrls } from "./icons.js";

export const LEAF_WIDTH = 184;
export const LEAF_HEIGHT = 46;
export const COMPOUND_PADDING = 18;
export const COMPOUND_LABEL_SPACE = 24;
export const LABEL_FONT_FAMILY = "Inter, system-ui, sans-serif";

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
    {
      selector: 'edge[kind = "registry"]',
      style: { "line-color": "#39c5cf", "target-arrow-color": "#39c5cf", "line-style": "dotted" },
    },
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
 * Colouring by CPU or memory (the toolbar's choice) fills a container with its `heatColour`.
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
  if (node.kind === "host") return `${clip(node.label, 60)}  ·  host`;
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
