"""The map's networks and volumes layers in headless Chromium, against the real engine's
``network_world`` (host, and a DinD whose nested daemon has its own user network): buses inside
their daemons with their members next to them, the layer switch kept in the URL, the details
panels, the network and exposure filters, live attachments, and no box over another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.conftest import NetworkWorld
from tests.test_dashboard import (
    browser,
    dashboard,
    facts,
    inside,
    page_errors,
    wait_for_nodes,
    wait_until,
)
from tests.test_dashboard_pictures import LAYOUTS, fit, picture, wait_still
from topology.inventory import polling
from topology.inventory.models import Container

__all__ = ["browser", "dashboard", "page_errors"]  # fixtures of the dashboard's tests

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.django_db(transaction=True)]

EDGE = """id => { const e = window.topology.cy.getElementById(id); return e.nonempty() && {
  source: e.source().id(), target: e.target().id(), routed: e.hasClass('routed'),
  points: e.segmentPoints() || [], visible: e.visible(), data: e.data()} }"""


@pytest.fixture
def polled(network_world: NetworkWorld, world: Any) -> NetworkWorld:
    """Everything polled before the page opens: the first snapshot is laid out whole."""
    polling.poll_everything(publish=False)
    return network_world


def cid(container: Any) -> str:
    return f"container:{container.id}"


def layer_buttons(page: Page) -> dict[str, str]:
    return page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('#layers [data-layer]')]"
        ".map(b => [b.dataset.layer, b.getAttribute('aria-pressed')]))"
    )


def click_node(page: Page, node_id: str) -> None:
    """Tap the node as a click does (a line drawn over it would take a real click)."""
    page.evaluate("id => { window.topology.cy.getElementById(id).emit('tap'); }", node_id)
    wait_until(
        page,
        "id => !document.getElementById('details').hidden && new URLSearchParams("
        "location.search).get('node') === id",
        node_id,
    )


def zoom_on(page: Page, node_id: str) -> None:
    """Zoom to readable labels around the node (for a screenshot a person can read)."""
    page.evaluate(
        "id => { const cy = window.topology.cy; cy.zoom(0.9); cy.center(cy.getElementById(id)); }",
        node_id,
    )
    page.wait_for_timeout(400)


def ours(fault: dict[str, Any], world: NetworkWorld) -> bool:
    """Whether a fault of the picture concerns what this test drew. The engine is shared: the
    text of someone else's container (an image name too long for a leaf) is not ours to judge."""
    mine = {
        cid(c)
        for c in (
            world.web1,
            world.web2,
            world.web3,
            world.db,
            world.sidecar,
            world.hostnet,
            world.inner_a,
            world.inner_b,
            world.dind.container,
        )
    }
    foreign = [i for i in fault["ids"] if i.startswith("container:") and i not in mine]
    return not (fault["kind"] == "clipped" and len(foreign) == len(fault["ids"]))


def clear_after_fit(page: Page, when: str, world: NetworkWorld) -> None:
    """No fault in the picture after Fit, and nothing reaching a panel or the view's edge. The
    engine is shared: a container someone else starts while the fit runs is drawn outside the
    fitted view, so a picture that only reaches the view is fitted again (twice at most)."""
    for attempt in range(3):
        fit(page)
        seen = picture(page)
        faults = [fault for fault in seen["faults"] if ours(fault, world)]
        assert faults == [], f"{when}: {faults}"
        if seen["reached"] == [] or attempt == 2:
            break
    assert seen["reached"] == [], f"{when}: the graph {seen['drawn']} reaches {seen['reached']}"


def details_text(page: Page) -> str:
    return page.text_content("#details") or ""


def test_networks_and_volumes_layers_details_filters_and_live_attachments(
    polled: NetworkWorld,
    docker_client: Any,
    dashboard: Page,
    events_watcher: Any,
    page_errors: list[str],
    artifacts_dir: Path,
) -> None:
    world, page = polled, dashboard
    engine = docker_client.info()["ID"]
    nested_engine = world.dind.client.info()["ID"]
    host_daemon = f"daemon:{engine}"
    front = f"network:{engine}/{world.front.id}"
    back = f"network:{engine}/{world.back.id}"
    inner = f"network:{nested_engine}/{world.inner_net.id}"
    web = [cid(c) for c in (world.web1, world.web2, world.web3)]
    wait_for_nodes(page, [front, back, inner, *web])

    # The default layers: containment and networks, and the URL says nothing.
    assert layer_buttons(page) == {
        "containment": "true",
        "networks": "true",
        "volumes": "false",
        "images": "false",
    }
    assert "layers=" not in page.url

    # A bus inside its daemon, wider than a container, its members right under it. (Seen from
    # far, a large graph adds attachment lines only once they can be seen: zoom in on them.)
    zoom_on(page, cid(world.web2))
    seen = facts(page, front, back, host_daemon, *web, cid(world.db))
    bus = seen[front]
    assert bus["parent"] == host_daemon and inside(bus["box"], seen[host_daemon]["box"])
    assert bus["data"]["busWidth"] > 2 * 184 and bus["box"]["y2"] - bus["box"]["y1"] < 30
    for member in web:
        box = seen[member]["box"]
        assert bus["box"]["x1"] <= box["x1"] and box["x2"] <= bus["box"]["x2"]
        assert 0 < box["y1"] - bus["box"]["y2"] < 3 * 60, "a member sits right under its bus"
    assert seen[back]["box"]["y1"] > max(seen[m]["box"]["y2"] for m in web)
    assert seen[cid(world.db)]["box"]["y1"] > seen[back]["box"]["y2"]

    # Attachment lines: out of the container's side, straight along the gap, into the bus.
    up = page.evaluate(EDGE, f"network:{world.web2.id}->{front}")
    assert up["routed"] and up["target"] == front
    web2_box = seen[cid(world.web2)]["box"]
    corner, bend = up["points"][0], up["points"][1]
    assert abs(corner["x"] - (web2_box["x1"] - 8)) < 3 and abs(corner["x"] - bend["x"]) < 0.5
    assert bend["y"] < web2_box["y1"] and bend["y"] > bus["box"]["y2"]
    down = page.evaluate(EDGE, f"network:{world.web1.id}->{back}")
    assert down["routed"] and down["points"][0]["x"] > seen[cid(world.web1)]["box"]["x2"]
    assert down["data"]["aliases"] == ["api"]
    clear_after_fit(page, "networks layer at load", world)

    # The DinD's nested network, the port path from the nested container out to the host.
    pinned = page.evaluate(
        "() => window.topology.cy.edges('[kind = \"publishes\"]').map(e =>"
        " [e.source().id(), e.target().data('owner'), e.target().parent().id()])"
    )
    dind = cid(world.dind.container)
    host_node = seen[host_daemon]["parent"]
    assert [cid(world.inner_a), dind, dind] in pinned
    assert [dind, host_node, host_node] in pinned
    badge = facts(page, cid(world.inner_a))[cid(world.inner_a)]["data"]
    assert badge["exposed"] == "public"
    page.screenshot(path=str(artifacts_dir / "map-networks.png"))
    zoom_on(page, front)
    page.screenshot(path=str(artifacts_dir / "map-networks-zoom.png"))
    zoom_on(page, cid(world.inner_a))
    page.screenshot(path=str(artifacts_dir / "map-networks-dind-zoom.png"))
    page.click("#fit")

    # Details of a network: its members with their addresses, as the engine gives them.
    click_node(page, front)
    text = details_text(page)
    assert world.front.name in text and "Members and their addresses" in text
    for container in (world.web1, world.web2, world.web3):
        container.reload()
        address = container.attrs["NetworkSettings"]["Networks"][world.front.name]["IPAddress"]
        assert container.name in text and address in text
    assert "with " in text and world.sidecar.name in text  # shares web2's stack
    page.screenshot(path=str(artifacts_dir / "map-network-details.png"))

    # Details of a container: its networks with addresses and aliases, its ports.
    click_node(page, cid(world.web1))
    text = details_text(page)
    assert world.front.name in text and world.back.name in text and "aliases api" in text
    click_node(page, cid(world.web3))
    assert f"127.0.0.1:{world.web3_port} → 80/tcp" in details_text(page)
    click_node(page, cid(world.inner_a))
    text = details_text(page)
    assert "0.0.0.0:8080 → 80/tcp  (all interfaces: exposed)" in text
    assert "path on to " in text and "public port" in text
    page.click("#details-close")

    # Filter by network: its members and the boxes holding them; in the URL.
    page.select_option("#filter-network", back)
    wait_until(page, "id => new URLSearchParams(location.search).get('network') === id", back)
    shown = facts(page, back, front, cid(world.db), cid(world.web1), cid(world.web2))
    assert shown[back]["visible"] and shown[cid(world.db)]["visible"]
    assert shown[cid(world.web1)]["visible"]
    assert not shown[front]["visible"] and not shown[cid(world.web2)]["visible"]
    page.select_option("#filter-network", "")
    page.select_option("#filter-exposure", "public")
    wait_until(page, "() => new URLSearchParams(location.search).get('exposure') === 'public'")
    exposed = page.evaluate(
        "() => window.topology.cy.nodes(':visible').filter(n => n.data('kind') === 'container'"
        " && !n.isParent()).map(n => n.id())"
    )
    assert cid(world.inner_a) in exposed and cid(world.web3) not in exposed
    page.select_option("#filter-exposure", "")

    # Live: db joins front, then leaves it; each is a delta, without a reload.
    page.evaluate("window.__sameDocument = true")
    joined = f"network:{world.db.id}->{front}"
    world.front.connect(world.db)
    try:
        wait_until(page, "id => window.topology.cy.getElementById(id).nonempty()", joined)
        assert page.evaluate(EDGE, joined)["data"]["ipv4"]
    finally:
        world.front.disconnect(world.db)
    wait_until(page, "id => window.topology.cy.getElementById(id).empty()", joined)
    assert page.evaluate("window.__sameDocument") is True

    # Volumes on: shared volume and host folder, with their mounts; the URL keeps the layers.
    page.click('#layers [data-layer="volumes"]')
    wait_until(page, "() => new URLSearchParams(location.search).get('layers') ==="
               " 'containment,networks,volumes'")  # fmt: skip
    volume = f"volume:{engine}/{world.shared_volume.name}"
    folder = f"path:{host_node.removeprefix('host:')}:{world.shared_folder}"
    wait_for_nodes(page, [volume, folder])
    mount = page.evaluate(EDGE, f"mount:{world.web2.id}->{volume}")
    assert mount["visible"] and mount["data"]["read_only"] is True
    placed = facts(page, volume, folder, host_daemon)
    assert placed[volume]["parent"] == host_daemon and placed[folder]["parent"] == host_node
    clear_after_fit(page, "networks and volumes", world)
    for layout in LAYOUTS[1:] + LAYOUTS[:1]:  # hierarchical, force, and back to the nested grid
        page.select_option("#layout", layout)
        wait_still(page)
        clear_after_fit(page, f"networks and volumes, {layout}", world)
        page.screenshot(path=str(artifacts_dir / f"map-volumes-{layout}.png"))
    click_node(page, volume)
    text = details_text(page)
    assert "Mounted by" in text and "/data (read-only)" in text and world.web1.name in text
    page.click("#details-close")
    page.screenshot(path=str(artifacts_dir / "map-volumes.png"))
    zoom_on(page, volume)
    page.screenshot(path=str(artifacts_dir / "map-volumes-zoom.png"))
    page.click("#fit")

    # Networks off: the buses and their lines go; the containment picture stays one click away.
    page.click('#layers [data-layer="networks"]')
    wait_until(page, "() => window.topology.cy.nodes('[kind = \"network\"]').empty()")
    assert "layers=containment%2Cvolumes" in page.url or "layers=containment,volumes" in page.url
    assert page.evaluate("() => window.topology.cy.edges('[kind = \"network\"]').length") == 0
    clear_after_fit(page, "containment and volumes", world)
    page.click('#layers [data-layer="volumes"]')
    wait_until(page, "() => window.topology.cy.nodes('[kind = \"volume\"]').empty()")
    assert layer_buttons(page) == {
        "containment": "true",
        "networks": "false",
        "volumes": "false",
        "images": "false",
    }
    page.screenshot(path=str(artifacts_dir / "map-containment.png"))

    # A page opened from that URL draws the same layers.
    again = page.context.new_page()
    again.goto(page.url)
    wait_until(again, "() => window.topology && window.topology.store.version !== null")
    wait_for_nodes(again, web)
    assert again.evaluate("() => window.topology.layers()") == ["containment"]
    assert again.evaluate("() => window.topology.cy.nodes('[kind = \"network\"]').length") == 0
    assert Container.objects.filter(container_id=world.db.id).exists()
    assert page_errors == []
