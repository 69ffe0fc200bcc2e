"""Demo pages and the progress websocket; in the browser, both demos with make run's settings and a
failed demo's Try again and Remove, against a live server and a real Celery worker."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from scripts.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import UNPULLABLE, LiveServer
from topology.asgi import application
from topology.demos import services
from topology.demos.models import Demo
from topology.engine import demos as scenarios


def test_demo_pages_need_a_login(client, db) -> None:
    assert client.get("/demos/").status_code == 302


def test_viewer_sees_demos_but_launch_is_disabled(logged_in_client, admin_user) -> None:
    demo = Demo.objects.create(
        kind="dind", owner=admin_user, expires=timezone.now(), error="<script>x</script>"
    )
    page = logged_in_client.get("/demos/").content.decode()
    assert 'data-may-launch="false"' in page and "disabled" in page
    detail = logged_in_client.get(f"/demos/{demo.id}/").content.decode()
    assert "<script>x</script>" not in detail and "&lt;script&gt;" in detail


def test_launcher_sees_enabled_buttons(client, user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="launch_demo"))
    client.force_login(user)
    assert 'data-may-launch="true"' in client.get("/demos/").content.decode()


HEADERS = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


@pytest.mark.django_db(transaction=True)
def test_progress_socket_refuses_anonymous() -> None:
    async def scenario() -> None:
        communicator = WebsocketCommunicator(application, "/ws/demos/", headers=list(HEADERS))
        connected, _ = await communicator.connect()
        assert connected
        assert (await communicator.receive_output())["code"] == 4401
        await communicator.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_progress_socket_sends_list_then_progress(admin_user, channel_layer_prefix) -> None:
    http = Client()
    http.force_login(admin_user)
    cookie = f"sessionid={http.cookies['sessionid'].value}".encode()

    async def scenario() -> None:
        communicator = WebsocketCommunicator(
            application, "/ws/demos/", headers=[*HEADERS, (b"cookie", cookie)]
        )
        connected, _ = await communicator.connect()
        assert connected
        assert await communicator.receive_json_from() == {"type": "demos", "demos": []}
        demo = await database_sync_to_async(services.request_launch)(admin_user, "dood")
        message = await communicator.receive_json_from(timeout=5)
        assert message["type"] == "demo" and message["demo"]["id"] == str(demo.id)
        assert message["demo"]["progress"]["total"] == 3  # the images, then two steps
        await communicator.send_json_to({"type": "launch", "kind": "dind"})
        assert (await communicator.receive_json_from())["code"] == "read_only"
        await communicator.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_progress_socket_answers_bad_frames_with_an_error_and_stays_open(admin_user) -> None:
    """Not JSON, binary, too deep to parse, too large (refused unread): each an error message;
    the connection stays open and a ping after them is answered."""
    http = Client()
    http.force_login(admin_user)
    cookie = f"sessionid={http.cookies['sessionid'].value}".encode()

    async def scenario() -> list[str]:
        communicator = WebsocketCommunicator(
            application, "/ws/demos/", headers=[*HEADERS, (b"cookie", cookie)]
        )
        assert (await communicator.connect())[0]
        assert (await communicator.receive_json_from())["type"] == "demos"
        codes = []
        for frame in ({"text_data": "{nope"}, {"bytes_data": b"\x00\x01"}):
            await communicator.send_to(**frame)
            codes.append((await communicator.receive_json_from(timeout=5))["code"])
        await communicator.send_to(text_data="[" * 2040 + "]" * 2040)  # under 4 KiB, too deep
        codes.append((await communicator.receive_json_from(timeout=5))["code"])
        await communicator.send_to(text_data='{"type": "ping", "pad": "' + "x" * 2**21 + '"}')
        codes.append((await communicator.receive_json_from(timeout=5))["code"])
        await communicator.send_json_to({"type": "ping"})
        codes.append((await communicator.receive_json_from(timeout=5))["type"])
        await communicator.disconnect()
        return codes

    assert async_to_sync(scenario)() == ["bad_json", "bad_message", "bad_json", "too_large", "pong"]


def test_graph_page_has_a_demo_panel(logged_in_client, client, admin_user) -> None:
    page = logged_in_client.get("/").content.decode()
    assert 'id="demo-panel"' in page and 'data-may-launch="false"' in page
    assert (
        'id="demo-row"' in page
        and 'id="demo-row"' in logged_in_client.get("/demos/").content.decode()
    )
    client.force_login(admin_user)
    assert 'data-may-launch="true"' in client.get("/").content.decode()


def test_an_operator_of_several_teams_chooses_one_and_sees_only_their_tear_downs(
    client, user
) -> None:
    import json
    import re

    from topology.teams.models import Membership, Team

    for slug in ("alpha", "beta"):
        team = Team.objects.create(slug=slug, name=slug.title())
        Membership.objects.create(team=team, user=user, role="operator")
    Membership.objects.create(
        team=Team.objects.create(slug="gamma", name="Gamma"), user=user, role="viewer"
    )
    client.force_login(user)
    for page in (client.get("/demos/"), client.get("/")):
        text = page.content.decode()
        assert 'data-may-launch="true"' in text
        options = re.findall(r'<option value="(\w*)">', text.split('class="launch-team"')[1])
        assert options[:2] == ["alpha", "beta"] and "gamma" not in options
        operated = re.search(r'id="demo-operated-teams"[^>]*>(.*?)</script>', text).group(1)
        assert json.loads(operated) == {"all": False, "teams": ["alpha", "beta"], "shared": True}


def test_an_operator_of_one_team_gets_no_choice(client, user) -> None:
    from topology.teams.models import Membership, Team

    team = Team.objects.create(slug="alpha", name="Alpha")
    Membership.objects.create(team=team, user=user, role="operator")
    client.force_login(user)
    text = client.get("/demos/").content.decode()
    assert 'data-may-launch="true"' in text and 'class="launch-team"' not in text


# --- In the browser, with make run's settings: a live server and a real Celery worker ------------


DEMO_WAIT_MS = 240_000  # a DinD launch on a busy shared machine
NODE_LABELS = "() => [...window.topology.store.nodes.values()].map(node => node.label)"


@dataclass
class DemoStack:
    server: LiveServer
    worker_log: Path
    username: str
    password: str


def _start_stack(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    docker_client: Any,
    settings: Any,
    demo_env: dict[str, str],
) -> Iterator[DemoStack]:
    """Daphne and a Celery worker on the ``launch`` queue (a throw-away broker), both with
    ``make run``'s demo settings plus ``demo_env``; every demo made is torn down at the end."""
    folder = Path(tempfile.mkdtemp(prefix="tdb-"))  # short: unix socket paths
    for name in ("TOPOLOGY_OFFLINE", "TOPOLOGY_DEMO_IMAGES"):
        monkeypatch.delenv(name, raising=False)  # make test's; make run sets neither
    monkeypatch.setenv("TOPOLOGY_DEMO_DIR", str(folder))
    for name, value in demo_env.items():
        monkeypatch.setenv(name, value)
    settings.TOPOLOGY_DEMO_DIR = folder
    request.getfixturevalue("private_broker")
    server: LiveServer = request.getfixturevalue("daphne_server")
    username, password = f"admin-{uuid.uuid4().hex[:8]}", "a-long-demo-password-7"
    get_user_model().objects.create_superuser(username, password=password)
    worker_log = server.log.parent / "worker.log"
    with worker_log.open("ab") as output:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "topology",
                "worker",
                "--pool=solo",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                "launch",
                "--loglevel=WARNING",
            ],
            cwd=django_settings.BASE_DIR,
            env=server.env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield DemoStack(server, worker_log, username, password)
    finally:
        try:
            demo_ids = {str(pk) for pk in Demo.objects.values_list("pk", flat=True)}
            mine = {"label": ["topology.managed=true", f"topology.owner={username}"]}
            for container in docker_client.containers.list(all=True, filters=mine):
                demo_ids.add(container.labels["topology.demo"])
            for demo_id in demo_ids:
                scenarios.tear_down(docker_client, demo_id, folder / demo_id.replace("-", "")[:12])
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def make_run_stack(request, fresh_offline_tag, monkeypatch, docker_client, settings):  # type: ignore[no-untyped-def]
    """``make run``'s defaults: ``TOPOLOGY_DEMO_IMAGES`` unset (auto). The pinned images sit on
    a registry that refuses at once (loopback), so the pull fails here as it would with no
    registry, and never leaves the machine; the offline stand-ins get a tag of their own, so
    they are really built."""
    yield from _start_stack(
        request,
        monkeypatch,
        docker_client,
        settings,
        {
            "TOPOLOGY_DEMO_OFFLINE_TAG": fresh_offline_tag,
            "TOPOLOGY_DEMO_DIND_IMAGE": UNPULLABLE["dind"],
            "TOPOLOGY_DEMO_WORKLOAD_IMAGE": UNPULLABLE["workload"],
            "TOPOLOGY_DEMO_CLI_IMAGE": UNPULLABLE["cli"],
        },
    )


@pytest.fixture
def pull_only_stack(request, monkeypatch, docker_client, settings):  # type: ignore[no-untyped-def]
    """Pulls only, from a registry that refuses: every launch fails."""
    yield from _start_stack(
        request,
        monkeypatch,
        docker_client,
        settings,
        {"TOPOLOGY_DEMO_IMAGES": "pull", "TOPOLOGY_DEMO_CLI_IMAGE": UNPULLABLE["cli"]},
    )


@contextlib.contextmanager
def logged_in_page(stack: DemoStack, errors: list[str]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's idle loop in this thread
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
                page.on(
                    "console",
                    lambda m: (
                        m.type == "error"
                        and "ERR_NETWORK_CHANGED" not in m.text
                        and errors.append(m.text)
                    ),
                )
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(f"{stack.server.url}/login/")
                page.fill("#id_username", stack.username)
                page.fill("#id_password", stack.password)
                page.click("button[type=submit]")
                page.wait_for_url(f"{stack.server.url}/")
                yield page
            finally:
                browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _diagnose(stack: DemoStack) -> str:
    demos = [(d.kind, d.status, d.step, d.error, d.notes) for d in Demo.objects.all()]
    worker = stack.worker_log.read_text(errors="replace")[-3000:]
    return f"demos: {demos}\nworker log:\n{worker}\nserver log:\n{stack.server.log_tail()}"


@pytest.mark.browser
@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_both_demo_buttons_reach_running_on_offline_images_built_here(
    make_run_stack: DemoStack, fresh_offline_tag: str, artifacts_dir: Path, events_watcher
) -> None:
    errors: list[str] = []
    with logged_in_page(make_run_stack, errors) as page:
        page.click("#demo-panel > summary")
        panel = page.locator("#demo-panel")
        panel.locator("button.launch[data-kind=dind]").click()
        page.wait_for_selector("#demo-panel .launchers .message:has-text('Launching DIND')")
        panel.locator("button.launch[data-kind=dood]").click()
        page.wait_for_selector("#demo-panel .launchers .message:has-text('Launching DOOD')")
        try:
            for kind in ("dind", "dood"):
                page.wait_for_selector(
                    f"#demo-panel li[data-kind={kind}][data-status=running]", timeout=DEMO_WAIT_MS
                )
        except Exception as error:
            page.screenshot(path=str(artifacts_dir / "demos-make-run-defaults-failed.png"))
            raise AssertionError(_diagnose(make_run_stack)) from error
        shorts = {
            kind: panel.locator(f"li[data-kind={kind}]").get_attribute("data-demo")
            for kind in ("dind", "dood")
        }
        wanted = {
            f"topology-{shorts['dind'].replace('-', '')[:8]}-c4",  # inside the nested daemon
            f"topology-{shorts['dood'].replace('-', '')[:8]}-sibling-2",  # beside the DooD
        }
        deadline = time.monotonic() + DEMO_WAIT_MS / 1000
        while not wanted <= set(page.evaluate(NODE_LABELS)):
            assert time.monotonic() < deadline, (wanted, page.evaluate(NODE_LABELS))
            time.sleep(0.2)
        page.click("#fit")
        time.sleep(0.5)
        page.screenshot(path=str(artifacts_dir / "demos-make-run-defaults.png"))
        dind = panel.locator("li[data-kind=dind] .demo-notes").inner_text()
        dood = panel.locator("li[data-kind=dood] .demo-notes").inner_text()
        row = panel.locator("li[data-kind=dind]")
        assert row.locator(".demo-expiry").is_visible()  # a running demo counts down
        assert not row.locator(".retry").is_visible()
        assert row.locator(".delete").inner_text() == "Tear down"
    tag = fresh_offline_tag
    unpulled = "could not be pulled (no registry answered)"
    assert f"{UNPULLABLE['dind']} and {UNPULLABLE['workload']} {unpulled}" in dind
    built = "from this machine's own binaries in "
    assert f"Built topology/dind:{tag} and topology/workload:{tag} {built}" in dind
    assert f"{UNPULLABLE['cli']} and {UNPULLABLE['workload']} {unpulled}" in dood
    assert f"Built topology/docker-cli:{tag} {built}" in dood
    assert errors == []


@pytest.mark.browser
@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_a_failed_demo_shows_why_try_again_and_remove_and_no_countdown(
    pull_only_stack: DemoStack, artifacts_dir: Path
) -> None:
    import requests

    from topology.demos.models import AuditEntry

    errors: list[str] = []
    url = pull_only_stack.server.url
    # No ORM inside the page's block (Playwright's loop would give it a connection of its own):
    # the demo's state is read through the API, as the page's own session.
    with logged_in_page(pull_only_stack, errors) as page:
        page.goto(f"{url}/demos/")
        page.click("button.launch[data-kind=dood]")
        try:
            page.wait_for_selector(".demo-list li[data-status=failed]", timeout=DEMO_WAIT_MS)
        except Exception as error:
            raise AssertionError(_diagnose(pull_only_stack)) from error
        page.screenshot(path=str(artifacts_dir / "demo-failed.png"))
        failed = page.locator(".demo-list li[data-status=failed]")
        reason = failed.locator(".demo-error").inner_text()
        unpulled = f"{UNPULLABLE['cli']} is not on the engine and could not be pulled"
        assert reason.startswith(unpulled)
        assert not failed.locator(".demo-expiry").is_visible()
        assert not failed.locator(".demo-progress").is_visible()
        assert failed.locator(".retry").inner_text() == "Try again"
        assert failed.locator(".delete").inner_text() == "Remove"
        demo_id = failed.get_attribute("data-demo")
        session = requests.Session()
        for cookie in page.context.cookies():
            session.cookies.set(cookie["name"], cookie["value"])
        before = session.get(f"{url}/api/demos/{demo_id}/", timeout=10).json()

        failed.locator(".retry").click()
        deadline = time.monotonic() + DEMO_WAIT_MS / 1000
        while True:
            now = session.get(f"{url}/api/demos/{demo_id}/", timeout=10).json()
            if now["status"] == "failed" and now["expires"] != before["expires"]:
                break  # launched again (a new time to live), and failed again
            assert time.monotonic() < deadline, now
            time.sleep(0.1)
        page.wait_for_selector(".demo-list li[data-status=failed] .retry", timeout=DEMO_WAIT_MS)
        page.wait_for_selector(".launchers .message:empty", state="attached", timeout=DEMO_WAIT_MS)

        page.locator(".demo-list li[data-status=failed] .delete").click()
        page.wait_for_selector(".demo-list li", state="detached", timeout=DEMO_WAIT_MS)
    assert not Demo.objects.exists()
    actions = list(AuditEntry.objects.filter(demo_id=demo_id).values_list("action", "detail"))
    assert ("launched", "tried again") in actions
    assert [action for action, _detail in actions].count("failed") == 2
    assert errors == []


def test_a_failed_demo_page_says_why_with_try_again_and_remove_and_no_end_time(
    client, admin_user
) -> None:
    demo = Demo.objects.create(
        kind="dind",
        owner=admin_user,
        expires=timezone.now(),
        status=Demo.Status.FAILED,
        step="images",
        error="docker:27.3.1-dind could not be pulled and <b>x</b> cannot be built here",
        notes="docker:27.3.1-dind could not be pulled (no registry answered)",
    )
    client.force_login(admin_user)
    page = client.get(f"/demos/{demo.id}/").content.decode()
    assert "Try again" in page and ">Remove</button>" in page and "Tear down" not in page
    assert "removed automatically" not in page and "counts against no quota" in page
    assert "“Getting the images”" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "could not be pulled (no registry answered)</li>" in page
