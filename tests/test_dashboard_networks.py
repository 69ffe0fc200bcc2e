"""The map's networks and volumes layers in headless Chromium, against the real engine's
``network_world`` (host and a DinD with its own user network): buses inside their daemons with
their members near them, the layer switch kept in the URL, the details panels, no overlaps."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.conftest import NetworkWorld
from tests.test_dashboard import browser, dashboard, facts, page_errors, wait_for_nodes, wait_until
from topology.inventory import polling


def poll_and_publish() -> None:
    """Poll everything and publish, from a thread without Playwright's event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(polling.poll_everything).result()

__all__ = ["browser", "dashboard", "page_errors"]  # fixtures used here

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def polled(network_world: NetworkWorld) -> NetworkWorld:
    polling.poll_everything(publish=False)
    return network_world


def test_explore(polled: NetworkWorld, docker_client: Any, dashboard: Page, artifacts_dir: Path) -> None:
    network_world = polled
    page = dashboard
    engine = docker_client.info()["ID"]
    front = f"network:{engine}/{network_world.front.id}"
    wait_for_nodes(page, [front])
    page.wait_for_timeout(1500)
    print(page.evaluate("""() => window.topology.cy.edges('[kind = "network"]').filter(e => e.source().isParent()).map(e => [e.id().slice(0, 30), e.hasClass('routed'), JSON.stringify(e.source().boundingBox({includeLabels:false})), JSON.stringify(e.target().position()), e.target().data('busWidth')])"""))
    page.screenshot(path=str(artifacts_dir / "networks-explore.png"))
    page.evaluate("id => window.topology.cy.zoom({level: 1.0, position: window.topology.cy.getElementById(id).position()})", front)
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts_dir / "networks-zoom.png"))
    page.click('#layers [data-layer="volumes"]')
    page.wait_for_timeout(2500)
    page.screenshot(path=str(artifacts_dir / "volumes-explore.png"))
