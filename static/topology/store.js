// The graph as the contract describes it, and the version the client holds.
//
// `replace` and `applyDelta` return a Change: what the view must add, update, move and remove.

/** @typedef {{id: string, kind: string, parent: string|null, label: string, status: string}} GraphNode */
/** @typedef {{id: string, kind: string, source: string, target: string}} GraphEdge */

/**
 * @typedef {object} Change
 * @property {GraphNode[]} addedNodes
 * @property {GraphNode[]} updatedNodes  nodes whose data changed (parent included)
 * @property {string[]} removedNodes
 * @property {GraphEdge[]} addedEdges
 * @property {GraphEdge[]} updatedEdges
 * @property {string[]} removedEdges
 */

export function emptyChange() {
  return { addedNodes: [], updatedNodes: [], removedNodes: [], addedEdges: [], updatedEdges: [], removedEdges: [] };
}

function sameJson(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What a graph held by the page answers, whether the whole of it or a dashboard's part of it. */
export class GraphReads {
  /** The graph in contract form (for the JSON export). */
  toJSON() {
    return {
      version: this.version,
      generated_at: this.generatedAt,
      nodes: [...this.nodes.values()],
      edges: [...this.edges.values()],
    };
  }

  children(id) {
    const found = [];
    for (const node of this.nodes.values()) if (node.parent === id) found.push(node);
    return found;
  }

  /** The chain of parents from `id` up to its host, nearest first. */
  ancestors(id) {
    const chain = [];
    const seen = new Set([id]);
    let node = this.nodes.get(id);
    while (node && node.parent && !seen.has(node.parent)) {
      seen.add(node.parent);
      node = this.nodes.get(node.parent);
      if (node) chain.push(node);
    }
    return chain;
  }

  counts() {
    const counts = { host: 0, daemon: 0, container: 0, running: 0 };
    for (const node of this.nodes.values()) {
      counts[node.kind] = (counts[node.kind] || 0) + 1;
      if (node.kind === "container" && node.status === "running") counts.running += 1;
    }
    return counts;
  }
}

export class GraphStore extends GraphReads {
  constructor() {
    super();
    /** @type {number|null} */
    this.version = null;
    this.generatedAt = null;
    /** @type {Map<string, GraphNode>} */
    this.nodes = new Map();
    /** @type {Map<string, GraphEdge>} */
    this.edges = new Map();
    this.updatedAt = null;
  }

  /** Take a snapshot; the change is the difference from what was held (nothing moves needlessly). */
  replace(graph) {
    const change = emptyChange();
    const incomingNodes = new Map(graph.nodes.map((node) => [node.id, node]));
    const incomingEdges = new Map(graph.edges.map((edge) => [edge.id, edge]));
    for (const id of this.edges.keys()) if (!incomingEdges.has(id)) change.removedEdges.push(id);
    for (const id of this.nodes.keys()) if (!incomingNodes.has(id)) change.removedNodes.push(id);
    for (const [id, node] of incomingNodes) {
      const old = this.nodes.get(id);
      if (!old) change.addedNodes.push(node);
      else if (!sameJson(old, node)) change.updatedNodes.push(node);
    }
    for (const [id, edge] of incomingEdges) {
      const old = this.edges.get(id);
      if (!old) change.addedEdges.push(edge);
      else if (!sameJson(old, edge)) change.updatedEdges.push(edge);
    }
    this.nodes = incomingNodes;
    this.edges = incomingEdges;
    this.version = graph.version;
    this.generatedAt = graph.generated_at || null;
    this.updatedAt = new Date();
    return change;
  }

  /** Apply a delta that follows the held version (the caller checks `since`). */
  applyDelta(message) {
    const change = emptyChange();
    for (const node of message.upsert.nodes) {
      if (this.nodes.has(node.id)) change.updatedNodes.push(node);
      else change.addedNodes.push(node);
      this.nodes.set(node.id, node);
    }
    for (const edge of message.upsert.edges) {
      if (this.edges.has(edge.id)) change.updatedEdges.push(edge);
      else change.addedEdges.push(edge);
      this.edges.set(edge.id, edge);
    }
    const removedNodes = new Set(message.remove.nodes);
    for (const id of message.remove.edges) {
      if (this.edges.delete(id)) change.removedEdges.push(id);
    }
    for (const id of removedNodes) {
      if (this.nodes.delete(id)) change.removedNodes.push(id);
    }
    // A node listed in both lists ends removed; so does every edge that touched it.
    change.addedNodes = change.addedNodes.filter((node) => !removedNodes.has(node.id));
    change.updatedNodes = change.updatedNodes.filter((node) => !removedNodes.has(node.id));
    for (const [id, edge] of this.edges) {
      if (removedNodes.has(edge.source) || removedNodes.has(edge.target)) {
        this.edges.delete(id);
        change.removedEdges.push(id);
      }
    }
    this.version = message.version;
    this.updatedAt = new Date();
    return change;
  }
}
