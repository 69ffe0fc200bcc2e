// Demo pages: launch and tear down through the REST API, progress live from /ws/demos/.
// Daemon and user text is only ever set with textContent.

import { requestJson } from "./http.js";

const listData = document.getElementById("demos-data");
const detailData = document.getElementById("demo-data");
const demos = new Map();

async function api(method, url, body) {
  const { ok, payload, statusText } = await requestJson(method, url, body);
  if (!ok) {
    const detail = payload.detail || Object.values(payload).flat().join(" ") || statusText;
    throw new Error(detail);
  }
  return payload;
}

function say(text, isError = false) {
  const message = document.querySelector(".launchers .message, .demos .demo-message");
  if (!message) return;
  message.textContent = text;
  message.classList.toggle("error", isError);
}

function remaining(expires) {
  const seconds = Math.max(0, Math.round((Date.parse(expires) - Date.now()) / 1000));
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}

const operated = JSON.parse(document.getElementById("demo-operated-teams")?.textContent || "null");

/** Whether this user may tear the demo down (the server checks again). */
function mayOperate(demo) {
  if (!operated) return false;
  if (operated.all) return true;
  return demo.team ? operated.teams.includes(demo.team) : operated.shared;
}

/** A demo's row: a failed one shows its reason, Try again and Remove, and no countdown. */
function render() {
  const list = document.querySelector(".demo-list");
  const template = document.getElementById("demo-row");
  if (!list || !template) return;
  list.replaceChildren();
  for (const demo of demos.values()) {
    const row = template.content.firstElementChild.cloneNode(true);
    const failed = demo.status === "failed";
    row.dataset.demo = demo.id;
    row.dataset.status = demo.status;
    row.dataset.kind = demo.kind;
    const link = row.querySelector(".demo-link");
    link.href = `/demos/${demo.id}/`;
    link.textContent = `${demo.kind === "dind" ? "DinD" : "DooD"} demo ${demo.id.slice(0, 8)}`;
    row.querySelector(".demo-status").textContent = demo.status;
    row.querySelector(".demo-status").className = `demo-status status-${demo.status}`;
    row.querySelector(".demo-owner").textContent = demo.owner;
    row.querySelector(".demo-expiry").hidden = failed || demo.status === "stopping";
    row.querySelector(".countdown").dataset.expires = demo.expires;
    row.querySelector(".countdown").textContent = remaining(demo.expires);
    const progress = row.querySelector(".demo-progress");
    progress.max = demo.progress.total;
    progress.value = demo.progress.done;
    progress.hidden = demo.status !== "starting";
    row.querySelector(".demo-step").textContent =
      demo.status === "starting" ? `${demo.progress.step || "queued"} (${demo.progress.done}/${demo.progress.total})` : "";
    showNotes(row.querySelector(".demo-notes"), demo.progress.notes);
    row.querySelector(".demo-error").textContent = demo.error || "";
    const remove = row.querySelector(".delete");
    remove.hidden = !mayOperate(demo) || demo.status === "stopping";
    remove.textContent = failed ? "Remove" : "Tear down";
    remove.addEventListener("click", () => tearDown(demo.id));
    const retry = row.querySelector(".retry");
    retry.hidden = !mayOperate(demo) || !failed;
    retry.addEventListener("click", () => tryAgain(demo.id, retry));
    list.append(row);
  }
}

function showNotes(element, notes) {
  if (!element) return;
  element.replaceChildren(...(notes || []).map((note) => {
    const item = document.createElement("li");
    item.textContent = note;
    return item;
  }));
  element.hidden = !notes || notes.length === 0;
}

async function tryAgain(id, button) {
  if (button) button.disabled = true;
  try {
    launched = id; // before the answer: the outcome may come first
    await api("POST", `/api/demos/${id}/retry/`);
    if (launched === id) say(`Launching demo ${id.slice(0, 8)} again…`);
  } catch (error) {
    launched = null;
    say(error.message, true);
  } finally {
    if (button) button.disabled = false;
  }
}

async function tearDown(id) {
  try {
    await api("DELETE", `/api/demos/${id}/`);
    say("Tearing down…");
  } catch (error) {
    say(error.message, true);
  }
}

let launched = null; // the demo this page last launched: its message goes once it has an outcome

function upsert(demo) {
  if (demo.id === launched && demo.status !== "starting") {
    launched = null;
    say("");
  }
  if (demo.status === "removed") demos.delete(demo.id);
  else demos.set(demo.id, demo);
  render();
  document.dispatchEvent(new CustomEvent("topology:demo", { detail: demo })); // comparison.js
  if (detailData && JSON.parse(detailData.textContent).id === demo.id) {
    const shown = JSON.parse(detailData.textContent);
    if (shown.status !== demo.status) window.location.reload();
  }
}

function connect(attempt = 0) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/ws/demos/`);
  socket.addEventListener("open", () => { attempt = 0; });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "demos") {
      demos.clear();
      for (const demo of message.demos) demos.set(demo.id, demo);
      render();
    } else if (message.type === "demo" || message.type === "removed") {
      upsert(message.demo);
    }
  });
  socket.addEventListener("close", (event) => {
    if (event.code === 4401) {
      window.location.href = "/login/?next=" + encodeURIComponent(window.location.pathname);
      return;
    }
    const delay = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
    setTimeout(() => connect(attempt + 1), delay);
  });
}

if (listData) {
  for (const demo of JSON.parse(listData.textContent)) demos.set(demo.id, demo);
  render();
}
{
  for (const button of document.querySelectorAll("button.launch")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const team = document.querySelector(".launchers .launch-team")?.value;
        const url = team ? `/api/demos/?team=${encodeURIComponent(team)}` : "/api/demos/";
        const created = await api("POST", url, { kind: button.dataset.kind });
        if (demos.get(created.id)?.status && demos.get(created.id).status !== "starting") return;
        launched = created.id;
        say(`Launching ${button.dataset.kind.toUpperCase()} demo ${created.id.slice(0, 8)}…`);
      } catch (error) {
        say(error.message, true);
      } finally {
        button.disabled = false;
      }
    });
  }
}
for (const button of document.querySelectorAll(".demos button.delete[data-demo]")) {
  button.addEventListener("click", async () => {
    await tearDown(button.dataset.demo);
    window.location.href = "/demos/";
  });
}
for (const button of document.querySelectorAll(".demos button.retry[data-demo]")) {
  button.addEventListener("click", () => tryAgain(button.dataset.demo, button));
}
setInterval(() => {
  for (const countdown of document.querySelectorAll(".countdown[data-expires]")) {
    countdown.textContent = remaining(countdown.dataset.expires);
  }
}, 1000);
connect();
