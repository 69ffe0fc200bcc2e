// Images and registries: chip text, sizes, who runs what (node --test).

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  composeText,
  containerImage,
  formatBytes,
  imageChipText,
  imageRegistries,
  imageUsers,
  registryText,
  sameImageElsewhere,
} from "../../static/topology/images.js";

test("sizes are written as Docker writes them", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(4_404_019), "4.4 MB");
  assert.equal(formatBytes(41_000_000), "41 MB");
  assert.equal(formatBytes(123_400_000), "123 MB");
  assert.equal(formatBytes(2_500_000_000), "2.5 GB");
  assert.equal(formatBytes(-1), "?");
  assert.equal(formatBytes("x"), "?");
});

test("a chip says the first tag, the size, more tags and who runs it", () => {
  const node = { tags: ["topology/workload:offline", "localhost:5000/w:1"], size: 1_985_696, users: 3 };
  assert.equal(imageChipText(node), "topology/workload:offline\n1.99 MB  +1 tags  ·  3 containers");
  assert.equal(imageChipText({ tags: [], short_id: "84e897fe199f", size: 10 }), "<none> 84e897fe199f\n10 B");
  const long = imageChipText({ tags: ["registry.example.com:8443/team/app/web:2.0"], size: 1 });
  assert.equal(long.split("\n")[0].length, 26);
  assert.ok(long.startsWith("registry.example.com:8443…"));
});

test("a registry says whether it is Docker Hub", () => {
  assert.equal(registryText({ host: "docker.io", docker_hub: true }), "docker.io\nDocker Hub");
  assert.equal(registryText({ host: "localhost:5000", docker_hub: false }), "localhost:5000\nregistry");
});

test("image edges say who runs an image and what a container runs", () => {
  const edges = [
    { kind: "image", source: "container:a", target: "image:E/sha256:1" },
    { kind: "image", source: "container:b", target: "image:E/sha256:1" },
    { kind: "network", source: "container:a", target: "network:E/n" },
    { kind: "registry", source: "image:E/sha256:1", target: "registry:ghcr.io" },
    { kind: "registry", source: "image:E/sha256:1", target: "registry:docker.io" },
  ];
  assert.deepEqual(imageUsers(edges, "image:E/sha256:1"), ["container:a", "container:b"]);
  assert.equal(containerImage(edges, "container:b"), "image:E/sha256:1");
  assert.equal(containerImage(edges, "container:c"), null);
  assert.deepEqual(
    imageRegistries(edges, "image:E/sha256:1").map((edge) => edge.target),
    ["registry:docker.io", "registry:ghcr.io"],
  );
});

test("the same image in other daemons' caches", () => {
  const nodes = [
    { id: "image:HOST/sha256:1", kind: "image", image_id: "sha256:1", parent: "daemon:HOST" },
    { id: "image:DIND/sha256:1", kind: "image", image_id: "sha256:1", parent: "daemon:DIND" },
    { id: "image:DIND/sha256:2", kind: "image", image_id: "sha256:2", parent: "daemon:DIND" },
    { id: "container:a", kind: "container", image_id: "sha256:1", parent: "daemon:HOST" },
  ];
  assert.deepEqual(sameImageElsewhere(nodes, nodes[0]).map((node) => node.parent), ["daemon:DIND"]);
  assert.deepEqual(sameImageElsewhere(nodes, nodes[2]), []);
});

test("compose facts in one line", () => {
  assert.equal(composeText({ project: "shop", service: "web", number: 2 }), "shop / web #2");
  assert.equal(composeText({ project: "shop", service: "", number: null }), "shop");
  assert.equal(composeText(undefined), "");
});
