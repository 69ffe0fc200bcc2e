// Small contract graphs for the front end's unit tests: a host with a daemon, a DinD container
// holding a nested daemon, and a DooD container with its socket edge.

export function host(id, fields = {}) {
  return { id: `host:${id}`, kind: "host", parent: null, label: id, status: "up", team: null, ...fields };
}

export function daemon(id, parent, fields = {}) {
  return { id: `daemon:${id}`, kind: "daemon", parent, label: id, status: "up", nesting: 0, ...fields };
}

export function container(id, parent, fields = {}) {
  return {
    id: `container:${id}`,
    kind: "container",
    parent,
    label: id,
    name: id,
    status: "running",
    state: "running",
    role: "plain",
    image: "busybox",
    labels: {},
    ...fields,
  };
}

export function socketEdge(containerId, daemonId) {
  return { id: `socket:${containerId}->${daemonId}`, kind: "socket", source: `container:${containerId}`, target: `daemon:${daemonId}` };
}

/** host:lab > daemon:root > {web, db (exited), dind > daemon:inner > inner-app, dood} */
export function sampleGraph(version = 1) {
  return {
    version,
    generated_at: "2026-01-01T00:00:00Z",
    nodes: [
      host("lab"),
      daemon("root", "host:lab"),
      container("web", "daemon:root", { labels: { tier: "front" } }),
      container("db", "daemon:root", { status: "exited", state: "exited", labels: { tier: "back" } }),
      container("dind", "daemon:root", { role: "dind" }),
      daemon("inner", "container:dind", { nesting: 1 }),
      container("inner-app", "daemon:inner"),
      container("dood", "daemon:root", { role: "dood" }),
      host("other"),
      daemon("far", "host:other"),
      container("far-app", "daemon:far"),
    ],
    edges: [socketEdge("dood", "root")],
  };
}

export function delta(version, since, { upsertNodes = [], upsertEdges = [], removeNodes = [], removeEdges = [] } = {}) {
  return {
    type: "delta",
    version,
    since,
    upsert: { nodes: upsertNodes, edges: upsertEdges },
    remove: { nodes: removeNodes, edges: removeEdges },
  };
}
