"""Debian's Chromium (installed by ``provision.sh``) as the browser tests and the dashboard
benchmarks launch it: as root, never downloaded by Playwright."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
