// Reload a dashboard whose scripts did not all arrive (a few times at most). Chromium aborts the
// requests in flight when the machine's network changes, which Docker does whenever it adds or
// removes a container's network interface: on a Docker host that can break a page load.
(() => {
  const KEY = "topology.reloads";
  const MAX_RELOADS = 3;
  window.addEventListener("load", () => {
    const reloads = Number(sessionStorage.getItem(KEY) || 0);
    if (window.topology) {
      sessionStorage.removeItem(KEY);
    } else if (reloads < MAX_RELOADS) {
      sessionStorage.setItem(KEY, String(reloads + 1));
      setTimeout(() => window.location.reload(), 500 * (reloads + 1));
    }
  });
})();
