"""The map's images layer in headless Chromium, against the real engine's ``world`` (the host
and a DinD whose nested daemon has its own cache): image chips inside their own daemon's box,
the DinD's apart from the host's, registries outside every host with lines to them, the
details of an image and of a container (its image, its Compose facts), no box over another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.conftest import run_workload, unique
from tests.test_dashboard import (
    browser,
    dashboard,
    facts,
    inside,
    page_errors,
    wait_for_nodes,
    wait_until,
)
from tests.test_dashboard_networks import click_node, details_text, layer_buttons, zoom_on
from tests.test_dashboard_pictures import LAYOUTS, fit, picture, wait_still
from topology.inventory import polling

__all__ = ["browser", "dashboard", "page_errors"]  # fixtures of the dashboard's tests

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.django_db(transaction=True)]

ARRIVAL_HIGHLIGHT_MS = 1800  # a little over graph-view.js's
COMPOSE = {
    "com.docker.compose.project": "shop",
    "com.docker.compose.service": "web",
    "com.docker.compose.container-number": "1",
}


def _ours(fault: dict[str, Any], mine: set[str]) -> bool:
    """A fault of what this test drew (the engine is shared: the text of someone else's
    container or image, too long for its leaf, is not ours to judge)."""
    foreign = [i for i in fault["ids"] if i.startswith(("container:", "image:")) and i not in mine]
    return not (fault["kind"] == "clipped" and len(foreign) == len(fault["ids"]))


def test_images_layer_draws_each_daemons_cache_and_the_registries(
    world: Any,
    docker_client: Any,
    cleanup: Any,
    dashboard: Page,
    page_errors: list[str],
    artifacts_dir: Path,
) -> None:
    page = dashboard
    shop = run_workload(docker_client, cleanup, unique("shop-web"), labels=COMPOSE)
    polling.poll_everything(publish=False)
    engine, nested_engine = docker_client.info()["ID"], world.dind.client.info()["ID"]
    host_daemon, nested_daemon = f"daemon:{engine}", f"daemon:{nested_engine}"
    host_image = f"image:{engine}/{world.c1.attrs['Image']}"
    nested_image = f"image:{nested_engine}/{world.c3.attrs['Image']}"
    c3, shop_id = f"container:{world.c3.id}", f"container:{shop.id}"
    page.reload()
    wait_for_nodes(page, [host_daemon, nested_daemon, c3])
    assert page.evaluate("() => window.topology.cy.nodes('[kind = \"image\"]').length") == 0

    page.click('#layers [data-layer="images"]')
    wait_for_nodes(page, [host_image, nested_image, "registry:docker.io"])
    assert layer_buttons(page)["images"] == "true"
    assert "images" in page.url

    # Each image inside its own daemon's box (the same image ID: two caches, two chips), the
    # registry outside every host.
    seen = facts(page, host_image, nested_image, host_daemon, nested_daemon, "registry:docker.io")
    assert world.c1.attrs["Image"] == world.c3.attrs["Image"]  # the DinD was seeded the same
    assert seen[host_image]["parent"] == host_daemon
    assert seen[nested_image]["parent"] == nested_daemon
    assert inside(seen[host_image]["box"], seen[host_daemon]["box"])
    assert inside(seen[nested_image]["box"], seen[nested_daemon]["box"])
    registry = page.evaluate(
        "() => { const r = window.topology.cy.getElementById('registry:docker.io');"
        " return {orphan: r.parent().empty(), hosts: window.topology.cy.nodes('[kind = \"host\"]')"
        ".filter(h => { const a = h.boundingBox(), b = r.boundingBox();"
        " return b.x1 < a.x2 && a.x1 < b.x2 && b.y1 < a.y2 && a.y1 < b.y2; }).length} }"
    )
    assert registry == {"orphan": True, "hosts": 0}
    cli = f"image:{engine}/{docker_client.images.get('topology/docker-cli:offline').id}"
    counts = page.evaluate(
        "([hostD, nestedD]) => ({host: window.topology.cy.getElementById(hostD).children("
        "'[kind = \"image\"]').map(n => n.id()), nested: window.topology.cy.getElementById("
        "nestedD).children('[kind = \"image\"]').map(n => n.id())})",
        [host_daemon, nested_daemon],
    )
    assert cli in counts["host"]  # the docker CLI image is on the host only
    assert not [i for i in counts["nested"] if i.endswith(cli.split("/", 1)[1])]
    edge = page.evaluate(
        "id => window.topology.cy.edges('[kind = \"image\"]').filter(e => e.source().id() === id)"
        ".map(e => e.target().id())",
        c3,
    )
    assert edge == [nested_image]
    lines = page.evaluate(
        "id => window.topology.cy.edges('[kind = \"registry\"]')"
        ".filter(e => e.source().id() === id).map(e => e.target().id())",
        nested_image,
    )
    assert lines == ["registry:docker.io"]

    # No box over another, nothing cut short of ours, after Fit.
    mine = {f"container:{c.id}" for c in (world.c1, world.c2, world.c3, world.c4, shop)}
    mine |= {host_image, nested_image, cli, f"container:{world.dind.container.id}"}
    fit(page)
    page.wait_for_timeout(ARRIVAL_HIGHLIGHT_MS)  # the screenshot without the arrivals' glow
    faults = [fault for fault in picture(page)["faults"] if _ours(fault, mine)]
    assert faults == [], faults
    page.screenshot(path=str(artifacts_dir / "images-fit.png"))
    for layout in LAYOUTS[1:]:  # and in the other layouts, after Fit
        page.select_option("#layout", layout)
        wait_still(page)
        fit(page)
        faults = [fault for fault in picture(page)["faults"] if _ours(fault, mine)]
        assert faults == [], (layout, faults)
        page.screenshot(path=str(artifacts_dir / f"images-{layout}.png"))
    page.select_option("#layout", LAYOUTS[0])
    wait_still(page)

    # An image's details: its tags, size, where it lives, who runs it.
    click_node(page, nested_image)
    text = details_text(page)
    assert "topology/workload:offline" in text and "Size" in text and "bytes" in text
    assert "docker.io" in text and "library" not in text.split("Repositories")[0]
    assert "c3" in text and "c4" in text
    assert "Also cached in" in text and f"Docker engine {docker_client.info()['Name']}" in text
    zoom_on(page, nested_image)
    page.screenshot(path=str(artifacts_dir / "images-nested-details.png"))

    # A container's details: its image (a link to the chip) and its Compose project.
    click_node(page, shop_id)
    text = details_text(page)
    assert "shop / web #1" in text
    page.click("#details a.node-link[title^='image:']")
    wait_until(page, "id => new URLSearchParams(location.search).get('node') === id", host_image)
    page.click("#details a.node-link[title='registry:docker.io']")
    wait_until(
        page, "() => (document.getElementById('details').textContent || '').includes('Docker Hub')"
    )
    zoom_on(page, host_image)
    page.screenshot(path=str(artifacts_dir / "images-host-zoom.png"))

    # Off again: no image, no registry, no line to them.
    page.click('#layers [data-layer="images"]')
    wait_until(
        page, '() => window.topology.cy.nodes(\'[kind = "image"], [kind = "registry"]\').empty()'
    )
    assert page.evaluate("() => window.topology.cy.edges('[kind = \"image\"]').length") == 0
    assert page_errors == []
