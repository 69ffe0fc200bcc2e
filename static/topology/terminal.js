// The terminal page: xterm.js (from npm) on the terminal websocket of one container.
//
// Keystrokes go up as binary frames, the shell's output comes down as binary frames (bytes for
// xterm to draw, never markup); ready, exit and error come as JSON text.

import { FitAddon } from "../vendor/@xterm/addon-fit/lib/addon-fit.mjs";
import { Terminal } from "../vendor/@xterm/xterm/lib/xterm.mjs";

const config = JSON.parse(document.getElementById("terminal-config").textContent);
const status = document.getElementById("terminal-status");
const CLOSE_TEXT = {
  1000: "The shell exited.",
  4401: "Signed out: log in again.",
  4403: "Not allowed.",
  4404: "No such container.",
  4408: "Closed after being idle.",
  4500: "The engine failed.",
};

function say(text, state) {
  status.textContent = text;
  status.dataset.state = state;
}

const term = new Terminal({
  cursorBlink: true,
  fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
  fontSize: 14,
  scrollback: 5000,
  theme: { background: "#05080c", foreground: "#e6edf3", cursor: "#4aa3ff" },
});
const fit = new FitAddon();
term.loadAddon(fit);
term.open(document.getElementById("terminal"));
fit.fit();

const url = new URL(config.websocketPath, window.location.href);
url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
url.searchParams.set("rows", String(term.rows));
url.searchParams.set("cols", String(term.cols));
const socket = new WebSocket(url);
socket.binaryType = "arraybuffer";
const encoder = new TextEncoder();
let lastMessage = "";

socket.addEventListener("message", (event) => {
  if (typeof event.data !== "string") {
    term.write(new Uint8Array(event.data));
    return;
  }
  let message;
  try {
    message = JSON.parse(event.data);
  } catch {
    return;
  }
  if (message.type === "ready") {
    say(`Live · ${message.container}`, "live");
    term.focus();
  } else if (message.type === "exit") {
    lastMessage = `The shell exited (${message.code ?? "?"}).`;
  } else if (message.type === "error") {
    lastMessage = message.message;
    say(message.message, "error");
  }
});
socket.addEventListener("close", (event) => {
  say(lastMessage || CLOSE_TEXT[event.code] || `Closed (${event.code}).`, "closed");
  term.write("\r\n\x1b[2m[session closed]\x1b[0m\r\n");
});
term.onData((data) => {
  if (socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
});
term.onResize(({ rows, cols }) => {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "resize", rows, cols }));
});
new ResizeObserver(() => fit.fit()).observe(document.getElementById("terminal"));

// A handle for the browser tests.
window.topologyTerminal = { term, socket };
