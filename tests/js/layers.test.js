// The layer switch's state (node --test).

import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULT_LAYERS, layersFromQuery, layersParam, toggleLayer, websocketUrl } from "../../static/topology/layers.js";

test("the URL names the layers; nothing, or nothing known, is the default", () => {
  assert.deepEqual(layersFromQuery(""), DEFAULT_LAYERS);
  assert.deepEqual(layersFromQuery("?layers=volumes,containment"), ["containment", "volumes"]);
  assert.deepEqual(layersFromQuery("?layers=wires"), DEFAULT_LAYERS);
  assert.equal(layersParam(["networks", "containment"]), "");
  assert.equal(layersParam(["containment"]), "containment");
});

test("layers combine, and the last one stays on", () => {
  assert.deepEqual(toggleLayer(["containment", "networks"], "volumes"), ["containment", "networks", "volumes"]);
  assert.deepEqual(toggleLayer(["containment", "networks"], "networks"), ["containment"]);
  assert.deepEqual(toggleLayer(["networks"], "networks"), ["networks"]);
  assert.deepEqual(toggleLayer(["networks"], "routers"), ["networks"]);
});

test("the websocket is opened with the layers", () => {
  const url = websocketUrl("ws://127.0.0.1:8000/ws/topology/", ["volumes", "containment"]);
  assert.equal(url, "ws://127.0.0.1:8000/ws/topology/?layers=containment%2Cvolumes");
});

test("images is a layer of its own, off at first", () => {
  assert.ok(!DEFAULT_LAYERS.includes("images"));
  assert.deepEqual(layersFromQuery("?layers=images,containment"), ["containment", "images"]);
  assert.deepEqual(toggleLayer(["containment", "networks"], "images"), ["containment", "networks", "images"]);
  assert.equal(layersParam(["images", "containment"]), "containment,images");
});
