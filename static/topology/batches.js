// Cytoscape batches that restyle no more than they must: the graph's first style in one pass,
// and the end of a batch without restyling whole boxes.

/**
 * Compute the style of a freshly built graph in one pass. Once a graph has compound nodes,
 * Cytoscape clears the style cache of every ancestor and descendant for each property it
 * applies to an element: for thousands of new elements that is most of the first render. And
 * each property applied runs its triggers (clear the element's caches and its edges', mark
 * bounds and z-order stale), a few dozen times per element. Nothing derived from an element's
 * style can be cached before that style is first computed, so for new elements all of that is
 * skipped; compound bounds and the drawing order are marked stale once afterwards.
 */
export function styleFreshGraph(cy) {
  const style = cy.style();
  cy.startBatch(); // the renderer hears of the new bounds once, not once per property
  cy.hasCompoundNodes = () => false;
  style.checkTriggers = () => {};
  try {
    cy.elements().forEach((element) => element.pstyle("display"));
  } finally {
    delete style.checkTriggers; // the prototype's own methods again
    delete cy.hasCompoundNodes;
    cy.notify("zorder");
    cy.endBatch();
  }
  cy.nodes().dirtyCompoundBoundsCache(true);
}

/**
 * End a batch without restyling whole boxes. When a child joins a box, Cytoscape restyles the
 * box and, for selectors that look at ancestors or descendants, everything inside it: hundreds of
 * nodes for one new container. No rule of this stylesheet looks beyond a node's own children,
 * so restyling what the batch touched (the box included) is enough.
 */
export function endBatchShallow(cy) {
  cy.hasCompoundNodes = () => false;
  try {
    cy.endBatch();
  } finally {
    delete cy.hasCompoundNodes; // the prototype's own method again
  }
}
