"""Who may do what through every door (pages, REST, websockets), and team isolation.

``MATRIX`` is the specification: one row per door, one column per role. A door is a method and
a route name from ``urls.py`` (``GET host-detail``), or a websocket route (``WS ws-topology``),
or a variant of one that answers differently (``DOOR_VARIANTS``: the graph's layers);
each is tried on a team-Alpha object, or as a listing that could show one; a door tried several
ways has a row for each, the way in brackets (``POST daemon-list[unix]``: registering a local
socket, which only site admins may; ``[tcp+tls]`` and ``[ssh]``, which team admins may, at an
address where nothing answers; ``[known]``: an engine already on the map). The doors are read
from the URL resolver and the websocket router (with the messages a websocket consumer names as
doors, ``WS ws-topology watch``), plus the one admin switch that is a door of its own (who may
turn terminals on for a team): a route missing from the matrix fails
``test_the_matrix_has_a_row_for_every_door``. Outside it: the login form, logging out, the health
check (open to all) and the rest of Django's admin (staff only; ``tests/test_views.py``).
Alpha has terminals switched on (``exec_enabled``). Roles:

    anon      not logged in
    noteam    logged in, member of no team
    viewer    viewer of Alpha (sees its graph and dashboards)
    operator  operator of Alpha (also launches and deletes its demos)
    admin     team admin of Alpha (also registers engines and manages dashboards)
    other     team admin of Beta, member of nothing else
    site      site admin (``is_superuser``): everything

Outcomes:

    login     page redirects to the login form
    401       REST answers 401 (no credentials)
    4401      websocket closed with code 4401
    ok        page shown (or the dashboard opens the graph page)
    sees      answer includes the Alpha object
    blind     answer succeeds, without the Alpha object
    done      the change happened (checked in the database)
    invalid   past the permission check, refused as invalid input; nothing changed
    403 404   refused, or hidden

The second half builds an Alpha and a Beta world (nested daemon, DooD socket edge, dashboards,
demos) and checks that an Alpha member never gets anything of Beta: page, REST, DOT export,
websocket snapshot, deltas (Beta only, and mixed), access changes while connected, demos.
No Docker engine is needed: engines are reconciled from made-up snapshots, demo tasks are
never dispatched (their ``delay`` is replaced by a recorder).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from tests.conftest import container_info, free_port, route_samples
from tests.fake_engine import FakeEngine
from tests.tls_material import Authority, make_authority
from topology.asgi import application, websocket_urlpatterns
from topology.channel_layer import send_to_group
from topology.dashboards.models import Dashboard
from topology.demos import services as demo_services
from topology.demos import tasks
from topology.demos.models import BuildRun, Demo
from topology.engine.nesting import SAME_MACHINE
from topology.engine.types import (
    Attachment,
    ContainerInfo,
    DaemonSnapshot,
    EngineInfo,
    Mount,
    NetworkInfo,
    Route,
)
from topology.inventory import broadcast, graph, services
from topology.inventory.models import Container, Daemon, Endpoint, Host
from topology.inventory.services import Place
from topology.inventory.stats_store import STATS_GROUP
from topology.teams.models import Membership, Team

pytestmark = pytest.mark.usefixtures("channel_layer_prefix", "no_task_dispatch")

ROLES = ("anon", "noteam", "viewer", "operator", "admin", "other", "site")

MATRIX = """
door                         anon   noteam  viewer  operator  admin    other    site
GET index                    login  ok      ok      ok        ok       ok       ok
GET api-topology             401    blind   sees    sees      sees     blind    sees
GET api-topology-dot         401    blind   sees    sees      sees     blind    sees
GET api-topology ?layers     401    blind   sees    sees      sees     blind    sees
GET host-list                401    blind   sees    sees      sees     blind    sees
GET host-detail              401    404     sees    sees      sees     404      sees
GET daemon-list              401    blind   sees    sees      sees     blind    sees
GET daemon-detail            401    404     sees    sees      sees     404      sees
GET container-list           401    blind   sees    sees      sees     blind    sees
GET container-detail         401    404     sees    sees      sees     404      sees
POST daemon-list[unix]       401    403     403     403       403      403      done
POST daemon-list[tcp+tls]    401    403     403     403       invalid  403      invalid
POST daemon-list[ssh]        401    403     403     403       invalid  403      invalid
POST daemon-list[known]      401    403     403     403       invalid  403      invalid
GET engine-new               login  404     403     403       ok       404      ok
GET team-members             login  404     ok      ok        ok       404      ok
POST team-members            login  404     403     403       done     404      done
POST team-member-remove      login  404     403     403       done     404      done
POST engine-new[unix]        login  404     403     403       403      404      done
POST engine-new[tcp+tls]     login  404     403     403       invalid  404      invalid
GET teams                    login  blind   sees    sees      sees     blind    sees
GET team                     login  404     ok      ok        ok       404      ok
GET dashboard                login  403     ok      ok        ok       403      ok
GET dashboard-kiosk          login  403     ok      ok        ok       403      ok
GET dashboard-new            login  403     403     403       ok       ok       ok
POST dashboard-new           login  403     403     403       done     invalid  done
GET dashboard-edit           login  403     403     403       ok       403      ok
POST dashboard-edit          login  403     403     403       done     403      done
POST dashboard-copy          login  403     403     403       done     403      done
POST dashboard-delete        login  403     403     403       done     403      done
GET dashboard-list           401    blind   sees    sees      sees     blind    sees
GET dashboard-detail         401    404     sees    sees      sees     404      sees
POST dashboard-list          401    403     403     403       done     403      done
PATCH dashboard-detail       401    404     403     403       done     404      done
PUT dashboard-detail         401    404     403     403       done     404      done
POST dashboard-duplicate     401    404     403     403       done     404      done
DELETE dashboard-detail      401    404     403     403       done     404      done
GET demos                    login  blind   sees    sees      sees     blind    sees
GET demo                     login  404     sees    sees      sees     404      sees
GET api-demos                401    blind   sees    sees      sees     blind    sees
GET api-demo                 401    404     sees    sees      sees     404      sees
POST api-demos               401    403     403     done      done     403      done
DELETE api-demo              401    403     403     done      done     404      done
POST api-demo-retry          401    403     403     done      done     404      done
GET api-demos-comparison     401    404     sees    sees      sees     404      sees
POST api-demo-build          401    403     403     done      done     404      done
GET api-schema               401    ok      ok      ok        ok       ok       ok
GET api-docs                 401    ok      ok      ok        ok       ok       ok
WS ws-topology               4401   blind   sees    sees      sees     blind    sees
WS ws-topology layers        4401   blind   sees    sees      sees     blind    sees
WS ws-topology ?encoding     4401   blind   sees    sees      sees     blind    sees
WS ws-topology watch         4401   blind   sees    sees      sees     blind    sees
WS ws-topology logs          4401   404     403     ok        ok       404      ok
WS ws-topology logs_stop     4401   ok      ok      ok        ok       ok       ok
WS ws-demos                  4401   blind   sees    sees      sees     blind    sees
GET container-terminal       login  404     403     403       ok       404      ok
WS ws-terminal               4401   404     403     403       ok       404      ok
POST admin:teams_team_change login  login   login   login     login    login    done
"""


def _expected() -> dict[str, dict[str, str]]:
    rows = [line.split() for line in MATRIX.strip().splitlines()]
    header, *body = rows
    assert header[-len(ROLES) :] == list(ROLES)
    table = {}
    for row in body:
        door = " ".join(row[: -len(ROLES)])
        table[door] = dict(zip(ROLES, row[-len(ROLES) :], strict=True))
    return table


EXPECTED = _expected()
ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")


# --- The two teams' world ---------------------------------------------------------------------


CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def _container(hex_digit: str, name: str, **fields: Any) -> ContainerInfo:
    return container_info(hex_digit, name, **{"created": CREATED, **fields})


DOOD_MOUNT = (Mount("bind", "/var/run/docker.sock", "/var/run/docker.sock", True),)


NETWORK = NetworkInfo("a" * 64, "backend", "bridge", "local", subnets=("10.9.0.0/24",))


def on_backend(container: ContainerInfo) -> ContainerInfo:
    """The container, attached to its engine's ``backend`` network."""
    return replace(container, attachments=(Attachment(NETWORK.id, NETWORK.name, "10.9.0.2"),))


def engine_says(host: str, engine: str, *containers: ContainerInfo) -> services.ChangeSet:
    """Reconcile what a (pretend) root engine on ``host`` reports: its containers on its
    ``backend`` network. Nothing is published: the tests publish themselves, to choose what one
    delta holds."""
    snapshot = DaemonSnapshot(
        Route(url=f"unix:///nonexistent/{host}.sock"),
        EngineInfo(engine, host, "27.0.0", "1.47", "Debian GNU/Linux 12"),
        tuple(on_backend(container) for container in containers),
        (NETWORK,),
        (),
    )
    return services.reconcile(snapshot, Place(host_name=host), SAME_MACHINE, publish=False)


def nested_says(
    parent: str, dind_hex: str, engine: str, *containers: ContainerInfo
) -> services.ChangeSet:
    """Reconcile what a daemon nested in container ``dind_hex`` of ``parent`` reports."""
    route = Route(f"exec://{dind_hex}", via=Route(url="unix:///nonexistent/parent.sock"))
    snapshot = DaemonSnapshot(route, EngineInfo(engine, "dind", "27", "1.47", "Alpine"), containers)
    place = Place(parent_engine_id=parent, container_hex=dind_hex)
    return services.reconcile(snapshot, place, publish=False)


# Alpha's containers are 1, 2 (and 5, 6 later); Beta's b, d (DinD), e (nested), f (DooD).
ALPHA_ENGINE, BETA_ENGINE, BETA_NESTED = "ALPHA:ENGINE", "BETA:ENGINE", "BETA:NESTED"
ALPHA_NETWORK = f"network:{ALPHA_ENGINE}/{NETWORK.id}"


def alpha_engine(*extra: ContainerInfo) -> services.ChangeSet:
    return engine_says(
        "alpha-host", ALPHA_ENGINE, _container("1", "web"), _container("2", "db"), *extra
    )


def beta_engine(*extra: ContainerInfo) -> services.ChangeSet:
    return engine_says(
        "beta-host",
        BETA_ENGINE,
        _container("b", "beta-app"),
        _container("d", "beta-dind", runs_dockerd=True, privileged=True),
        _container("f", "beta-dood", mounts=DOOD_MOUNT),
        *extra,
    )


@dataclass
class MatrixEngines:
    """Where registrations of the matrix go: a fake engine on a local socket (new to the map),
    addresses where nothing answers, and a fake TLS engine that is Beta's nested daemon."""

    local: FakeEngine
    known: FakeEngine
    authority: Authority
    nowhere: int

    def fields(self, how: str) -> dict[str, str]:
        tls = {
            "tls_ca_cert": self.authority.ca.cert,
            "tls_client_cert": self.authority.client.cert,
            "tls_client_key": self.authority.client.key,
        }
        if how == "unix":
            return {"url": self.local.url}
        if how == "tcp+tls":
            return {"url": f"tcp://127.0.0.1:{self.nowhere}", **tls}
        if how == "known":
            return {"url": self.known.url, **tls}
        assert how == "ssh", how
        key = ed25519.Ed25519PrivateKey.generate()
        private = key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
        public = key.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
        return {
            "url": f"ssh://root@127.0.0.1:{self.nowhere}",
            "ssh_private_key": private.decode(),
            "ssh_known_hosts": f"[127.0.0.1]:{self.nowhere} {public}\n",
        }


@pytest.fixture
def matrix_engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MatrixEngines]:
    folder = Path(tempfile.mkdtemp(prefix="topology-matrix-"))  # short: a socket path
    authority = make_authority()
    try:
        with (
            FakeEngine(folder / "new.sock", engine_id="MATRIX:NEW") as local,
            FakeEngine(folder / "known", engine_id=BETA_NESTED, tls=authority) as known,
        ):
            yield MatrixEngines(local, known, authority, free_port())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Scene:
    alpha: Team
    beta: Team
    users: dict[str, Any]
    alpha_board: Dashboard
    beta_board: Dashboard
    alpha_demo: Demo
    beta_demo: Demo
    dispatched: list[tuple[str, str]] = field(default_factory=list)
    engines: MatrixEngines | None = None

    http: Client = field(default_factory=Client)

    def registration(self, how: str) -> dict[str, str]:
        """What a registration sends, by the way in (see ``MATRIX``)."""
        assert self.engines is not None
        return self.engines.fields(how)

    def client(self, role: str) -> Client:
        """The test client, logged in as ``role``: one client, as building one loads the
        middleware again (WhiteNoise scans every static file)."""
        self.http.logout()
        if self.users[role] is not None:
            self.http.force_login(self.users[role])
        return self.http


@pytest.fixture
def no_task_dispatch(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Demo launches and tear-downs are recorded, never sent to Celery (no container starts)."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        tasks.launch_demo, "delay", lambda demo_id: sent.append(("launch", demo_id))
    )
    monkeypatch.setattr(
        tasks.tear_down_demo, "delay", lambda demo_id: sent.append(("tear_down", demo_id))
    )
    monkeypatch.setattr(
        tasks.build_twice, "delay", lambda build_id: sent.append(("build", str(build_id)))
    )
    return sent


@pytest.fixture
def scene(db, settings, no_task_dispatch, matrix_engines) -> Scene:  # type: ignore[no-untyped-def]
    settings.TOPOLOGY_DEMO_MAX_RUNNING = 100
    settings.TOPOLOGY_DEMO_QUOTA = 100
    users_model = get_user_model()
    alpha = Team.objects.create(slug="alpha", name="Alpha")
    beta = Team.objects.create(slug="beta", name="Beta")
    users: dict[str, Any] = {"anon": None}
    for role, team, team_role in [
        ("noteam", None, None),
        ("viewer", alpha, "viewer"),
        ("operator", alpha, "operator"),
        ("admin", alpha, "admin"),
        ("other", beta, "admin"),
    ]:
        users[role] = users_model.objects.create_user(role)  # force_login: no password
        if team is not None:
            Membership.objects.create(team=team, user=users[role], role=team_role)
    users["site"] = users_model.objects.create_superuser("site")
    Team.objects.filter(pk=alpha.pk).update(exec_enabled=True)
    alpha.refresh_from_db()
    alpha_engine()
    beta_engine()
    nested_says(BETA_ENGINE, "d" * 64, BETA_NESTED, _container("e", "beta-inner"))
    engine_says("shared-host", "SHARED:ENGINE", _container("3", "shared"))
    Host.objects.filter(slug="alpha-host").update(team=alpha)
    Host.objects.filter(slug="beta-host").update(team=beta)
    expires = timezone.now() + timedelta(minutes=30)
    return Scene(
        alpha=alpha,
        beta=beta,
        users=users,
        alpha_board=Dashboard.objects.create(name="Alpha board", team=alpha),
        beta_board=Dashboard.objects.create(name="Beta board", team=beta),
        alpha_demo=Demo.objects.create(
            kind="dind", owner=users["operator"], team=alpha, expires=expires
        ),
        beta_demo=Demo.objects.create(
            kind="dood", owner=users["other"], team=beta, expires=expires
        ),
        dispatched=no_task_dispatch,
        engines=matrix_engines,
    )


# --- Reading an answer as an outcome ------------------------------------------------------------


def outcome(response: HttpResponse, happened: bool = False) -> str:
    code = response.status_code
    if code == 302 and response["Location"].startswith(("/login/", "/admin/login/")):
        return "login"
    if happened:
        assert code in (200, 201, 202, 204, 302), code
        return "done"
    if code == 400 or (code == 200 and response.wsgi_request.method == "POST"):
        return "invalid"  # a DRF 400, or a form shown again with its errors
    if code == 200 or (code == 302 and response["Location"].startswith("/?")):
        return "ok"
    return str(code)


def listing(response: HttpResponse, needle: str) -> str:
    if response.status_code != 200:
        return outcome(response)
    return "sees" if needle in response.content.decode() else "blind"


def shown(response: HttpResponse) -> str:
    return "sees" if response.status_code == 200 else outcome(response)


def fresh_board(scene: Scene) -> Dashboard:
    return Dashboard.objects.create(name=new_name(), team=scene.alpha)


def fresh_demo(scene: Scene) -> Demo:
    expires = timezone.now() + timedelta(minutes=30)
    return Demo.objects.create(
        kind="dind", owner=scene.users["operator"], team=scene.alpha, expires=expires
    )


JSON = "application/json"
FORM = {"layout": "nested"}


def new_name() -> str:
    return f"Board {Dashboard.objects.count()}"


def _create_board_page(c: Client, s: Scene) -> str:
    name = new_name()
    response = c.post("/dashboards/new/", {**FORM, "name": name, "team": s.alpha.pk})
    return outcome(response, Dashboard.objects.filter(team=s.alpha, name=name).exists())


def _edit_board_page(c: Client, s: Scene) -> str:
    board = fresh_board(s)
    name = f"Edited {board.pk}"
    response = c.post(f"/dashboards/{board.pk}/edit/", {**FORM, "name": name, "team": s.alpha.pk})
    return outcome(response, Dashboard.objects.filter(pk=board.pk, name=name).exists())


def _duplicate_board_page(c: Client, s: Scene) -> str:
    before = Dashboard.objects.filter(team=s.alpha).count()
    response = c.post(f"/dashboards/{s.alpha_board.pk}/duplicate/")
    return outcome(response, Dashboard.objects.filter(team=s.alpha).count() > before)


def _delete_board_page(c: Client, s: Scene) -> str:
    board = fresh_board(s)
    response = c.post(f"/dashboards/{board.pk}/delete/")
    return outcome(response, not Dashboard.objects.filter(pk=board.pk).exists())


def _register_api(how: str) -> Callable[[Client, Scene], str]:
    def register(c: Client, s: Scene) -> str:
        body = {"name": "matrix-engine", "team": "alpha", **s.registration(how)}
        response = c.post("/api/daemons/", body, content_type=JSON)
        return outcome(response, Endpoint.objects.filter(name="matrix-engine").exists())

    return register


def _register_page(how: str) -> Callable[[Client, Scene], str]:
    def register(c: Client, s: Scene) -> str:
        fields = s.registration(how)
        uploads = {
            name: SimpleUploadedFile(f"{name}.pem", fields.pop(name).encode())
            for name in ("tls_ca_cert", "tls_client_cert", "tls_client_key", "ssh_private_key")
            if name in fields
        }
        response = c.post("/teams/alpha/engines/new/", {"name": "m", **fields, **uploads})
        return outcome(response, Endpoint.objects.filter(name="m").exists())

    return register


def _create_board_api(c: Client, s: Scene) -> str:
    name = new_name()
    response = c.post("/api/dashboards/", {"name": name, "team": "alpha"}, content_type=JSON)
    return outcome(response, Dashboard.objects.filter(team=s.alpha, name=name).exists())


def _update_board_api(c: Client, s: Scene) -> str:
    board = fresh_board(s)
    name = f"Renamed {board.pk}"
    response = c.patch(f"/api/dashboards/{board.pk}/", {"name": name}, content_type=JSON)
    return outcome(response, Dashboard.objects.filter(pk=board.pk, name=name).exists())


def _duplicate_board_api(c: Client, s: Scene) -> str:
    before = Dashboard.objects.filter(team=s.alpha).count()
    response = c.post(f"/api/dashboards/{s.alpha_board.pk}/duplicate/")
    return outcome(response, Dashboard.objects.filter(team=s.alpha).count() > before)


def _replace_board_api(c: Client, s: Scene) -> str:
    board = fresh_board(s)
    name = f"Replaced {board.pk}"
    body = {"name": name, "team": "alpha", "layout": "force"}
    response = c.put(f"/api/dashboards/{board.pk}/", body, content_type=JSON)
    return outcome(response, Dashboard.objects.filter(pk=board.pk, name=name).exists())


def _delete_board_api(c: Client, s: Scene) -> str:
    board = fresh_board(s)
    response = c.delete(f"/api/dashboards/{board.pk}/")
    return outcome(response, not Dashboard.objects.filter(pk=board.pk).exists())


def _add_member(c: Client, s: Scene) -> str:
    name = f"newcomer-{get_user_model().objects.count()}"
    get_user_model().objects.create_user(name)
    response = c.post("/teams/alpha/members/", {"username": name, "role": "viewer"})
    return outcome(response, Membership.objects.filter(user__username=name).exists())


def _remove_member(c: Client, s: Scene) -> str:
    name = f"leaver-{get_user_model().objects.count()}"
    leaver = get_user_model().objects.create_user(name)
    Membership.objects.create(team=s.alpha, user=leaver, role="viewer")
    response = c.post(f"/teams/alpha/members/{leaver.pk}/remove/")
    return outcome(response, not Membership.objects.filter(user=leaver).exists())


def _launch_demo(c: Client, s: Scene) -> str:
    known = set(Demo.objects.values_list("pk", flat=True))
    response = c.post("/api/demos/?team=alpha", {"kind": "dind"}, content_type=JSON)
    new = Demo.objects.exclude(pk__in=known).filter(team=s.alpha).first()
    return outcome(response, new is not None and ("launch", str(new.pk)) in s.dispatched)


def _delete_demo(c: Client, s: Scene) -> str:
    demo = fresh_demo(s)
    response = c.delete(f"/api/demos/{demo.pk}/")
    demo.refresh_from_db()
    stopping = demo.status == Demo.Status.STOPPING
    return outcome(response, stopping and ("tear_down", str(demo.pk)) in s.dispatched)


def _retry_demo(c: Client, s: Scene) -> str:
    demo = fresh_demo(s)
    Demo.objects.filter(pk=demo.pk).update(status=Demo.Status.FAILED, error="it broke")
    response = c.post(f"/api/demos/{demo.pk}/retry/")
    demo.refresh_from_db()
    starting = demo.status == Demo.Status.STARTING and not demo.error
    return outcome(response, starting and ("launch", str(demo.pk)) in s.dispatched)


def _build_demo(c: Client, s: Scene) -> str:
    demo = fresh_demo(s)
    Demo.objects.filter(pk=demo.pk).update(status=Demo.Status.RUNNING)
    response = c.post(f"/api/demos/{demo.pk}/build/")
    build = BuildRun.objects.filter(demo=demo).first()
    return outcome(response, build is not None and ("build", str(build.pk)) in s.dispatched)


def _comparison(c: Client, s: Scene) -> str:
    response = c.get(f"/api/demos/comparison/?demo={s.alpha_demo.pk}")
    return listing(response, str(s.alpha_demo.pk))


def _host(s: Scene) -> Host:
    return Host.objects.get(slug="alpha-host")


def _daemon(s: Scene) -> Daemon:
    return Daemon.objects.get(engine_id=ALPHA_ENGINE)


def _alpha_container(s: Scene) -> Container:
    return Container.objects.get(container_id="1" * 64)


def _switch_terminals_on(c: Client, s: Scene) -> str:
    """The admin's team form with ``exec_enabled`` ticked (memberships left as they are)."""
    Team.objects.filter(pk=s.alpha.pk).update(exec_enabled=False)
    inline = {f"memberships-{k}": v for k, v in {"TOTAL_FORMS": "0", "INITIAL_FORMS": "0"}.items()}
    body = {"name": "Alpha", "slug": "alpha", "exec_enabled": "on", **inline}
    response = c.post(f"/admin/teams/team/{s.alpha.pk}/change/", body)
    switched = Team.objects.filter(pk=s.alpha.pk, exec_enabled=True).exists()
    Team.objects.filter(pk=s.alpha.pk).update(exec_enabled=True)
    return outcome(response, switched)


ALPHA_WEB = "1" * 64  # Alpha's container "web"
SHARED = "3" * 64  # the container of the host of no team


HTTP_DOORS: dict[str, Callable[[Client, Scene], str]] = {
    "GET index": lambda c, s: outcome(c.get("/")),
    "GET api-topology": lambda c, s: listing(c.get("/api/topology/"), "host:alpha-host"),
    "GET api-topology-dot": lambda c, s: listing(c.get("/api/topology.dot"), "host:alpha-host"),
    "GET api-topology ?layers": lambda c, s: listing(
        c.get("/api/topology/?layers=networks"), ALPHA_NETWORK
    ),
    "GET host-list": lambda c, s: listing(c.get("/api/hosts/"), '"alpha-host"'),
    "GET host-detail": lambda c, s: shown(c.get(f"/api/hosts/{_host(s).pk}/")),
    "GET daemon-list": lambda c, s: listing(c.get("/api/daemons/"), ALPHA_ENGINE),
    "GET daemon-detail": lambda c, s: shown(c.get(f"/api/daemons/{_daemon(s).pk}/")),
    "GET container-list": lambda c, s: listing(c.get("/api/containers/"), "1" * 64),
    "GET container-detail": lambda c, s: shown(c.get(f"/api/containers/{_alpha_container(s).pk}/")),
    "POST daemon-list[unix]": _register_api("unix"),
    "POST daemon-list[tcp+tls]": _register_api("tcp+tls"),
    "POST daemon-list[ssh]": _register_api("ssh"),
    "POST daemon-list[known]": _register_api("known"),
    "GET engine-new": lambda c, s: outcome(c.get("/teams/alpha/engines/new/")),
    "GET team-members": lambda c, s: outcome(c.get("/teams/alpha/members/")),
    "POST team-members": _add_member,
    "POST team-member-remove": _remove_member,
    "POST engine-new[unix]": _register_page("unix"),
    "POST engine-new[tcp+tls]": _register_page("tcp+tls"),
    "GET teams": lambda c, s: listing(c.get("/teams/"), 'href="/teams/alpha/"'),
    "GET team": lambda c, s: outcome(c.get("/teams/alpha/")),
    "GET dashboard": lambda c, s: outcome(c.get(f"/dashboards/{s.alpha_board.pk}/")),
    "GET dashboard-kiosk": lambda c, s: outcome(c.get(f"/dashboards/{s.alpha_board.pk}/kiosk/")),
    "GET dashboard-new": lambda c, s: outcome(c.get("/dashboards/new/")),
    "POST dashboard-new": _create_board_page,
    "GET dashboard-edit": lambda c, s: outcome(c.get(f"/dashboards/{s.alpha_board.pk}/edit/")),
    "POST dashboard-edit": _edit_board_page,
    "POST dashboard-copy": _duplicate_board_page,
    "POST dashboard-delete": _delete_board_page,
    "GET dashboard-list": lambda c, s: listing(c.get("/api/dashboards/"), "Alpha board"),
    "GET dashboard-detail": lambda c, s: shown(c.get(f"/api/dashboards/{s.alpha_board.pk}/")),
    "POST dashboard-list": _create_board_api,
    "PATCH dashboard-detail": _update_board_api,
    "PUT dashboard-detail": _replace_board_api,
    "POST dashboard-duplicate": _duplicate_board_api,
    "DELETE dashboard-detail": _delete_board_api,
    "GET demos": lambda c, s: listing(c.get("/demos/"), str(s.alpha_demo.pk)),
    "GET demo": lambda c, s: shown(c.get(f"/demos/{s.alpha_demo.pk}/")),
    "GET api-demos": lambda c, s: listing(c.get("/api/demos/"), str(s.alpha_demo.pk)),
    "GET api-demo": lambda c, s: shown(c.get(f"/api/demos/{s.alpha_demo.pk}/")),
    "POST api-demos": _launch_demo,
    "DELETE api-demo": _delete_demo,
    "POST api-demo-retry": _retry_demo,
    "GET api-demos-comparison": _comparison,
    "POST api-demo-build": _build_demo,
    "GET api-schema": lambda c, s: outcome(c.get("/api/schema/")),
    "GET api-docs": lambda c, s: outcome(c.get("/api/docs/")),
    "GET container-terminal": lambda c, s: outcome(c.get(f"/containers/{ALPHA_WEB}/terminal/")),
    "POST admin:teams_team_change": _switch_terminals_on,
}


OUTSIDE_THE_MATRIX = {"login", "logout", "healthz", "admin:index"}
ADMIN_DOORS = {"POST admin:teams_team_change"}  # the site-admin-only terminals switch
#: Doors that are not routes of their own: a query that cuts what a route answers (the graph's
#: layers), a websocket message that asks for another snapshot (``{"type": "layers"}``), a
#: websocket query that sends snapshots in another form (``?encoding=deflate``).
DOOR_VARIANTS = {"GET api-topology ?layers", "WS ws-topology layers", "WS ws-topology ?encoding"}


def doors() -> set[str]:
    """Every door the project has: each method of each route of the URL resolver, each
    websocket route and each message its consumer names as a door, and the admin's switches."""
    http = {
        f"{method} {sample.name}"
        for sample in route_samples()
        if sample.name not in OUTSIDE_THE_MATRIX
        for method in sample.methods
    }
    websockets = set()
    for route in websocket_urlpatterns:
        websockets.add(f"WS {route.name}")
        consumer = getattr(route.callback, "consumer_class", None)
        websockets |= {f"WS {route.name} {kind}" for kind in getattr(consumer, "DOORS", ())}
    return http | websockets | ADMIN_DOORS | DOOR_VARIANTS


def door_of(row: str) -> str:
    """The door a row tries: ``POST daemon-list[unix]`` tries ``POST daemon-list``."""
    return row.partition("[")[0]


def test_the_matrix_has_a_row_for_every_door() -> None:
    rows = {door_of(row) for row in EXPECTED}
    missing, gone = doors() - rows, rows - doors()
    assert not missing, f"doors with no row in MATRIX: {sorted(missing)}"
    assert not gone, f"rows in MATRIX for doors that are no more: {sorted(gone)}"


def test_every_door_of_the_matrix_is_tested() -> None:
    assert set(EXPECTED) == set(HTTP_DOORS) | set(WS_DOORS)


def _mismatches(door: str, observed: dict[str, str]) -> str:
    wrong = {r: (EXPECTED[door][r], observed[r]) for r in ROLES if observed[r] != EXPECTED[door][r]}
    return f"{door}: (expected, got) by role: {wrong}"


@pytest.mark.parametrize("door", list(HTTP_DOORS))
def test_http_door(door: str, scene: Scene) -> None:
    observed = {role: HTTP_DOORS[door](scene.client(role), scene) for role in ROLES}
    assert observed == EXPECTED[door], _mismatches(door, observed)


# --- Websockets ---------------------------------------------------------------------------------


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return async_to_sync(scenario)()


def ws_headers(user: Any) -> list[tuple[bytes, bytes]]:
    if user is None:
        return [ORIGIN, HOST]
    client = Client()
    client.force_login(user)
    return [ORIGIN, HOST, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def first_frame(path: str, user: Any) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    """Connect; the first frame as JSON, or ``{"close": code}``."""
    headers = await sync_to_async(ws_headers)(user)
    communicator = WebsocketCommunicator(application, path, headers=headers)
    accepted, _ = await communicator.connect(timeout=5)
    assert accepted
    output = await communicator.receive_output(timeout=5)
    if output["type"] == "websocket.close":
        return communicator, {"close": output["code"]}
    return communicator, json.loads(output["text"])


async def _ws_topology(user: Any, scene: Scene) -> str:
    communicator, frame = await first_frame("/ws/topology/", user)
    await communicator.disconnect()
    if "close" in frame:
        return str(frame["close"])
    ids = {node["id"] for node in frame["graph"]["nodes"]}
    return "sees" if "host:alpha-host" in ids else "blind"


async def _ws_demos(user: Any, scene: Scene) -> str:
    communicator, frame = await first_frame("/ws/demos/", user)
    await communicator.disconnect()
    if "close" in frame:
        return str(frame["close"])
    ids = {demo["id"] for demo in frame["demos"]}
    return "sees" if str(scene.alpha_demo.pk) in ids else "blind"


def _refusal(frame: dict[str, Any]) -> str:
    """An answer as an outcome: refused (403), hidden (404), or past the role check (ok; the
    scene's engines do not exist, so what follows is an engine error)."""
    if "close" in frame:
        return str(frame["close"])
    if frame.get("type") == "error" and frame.get("code") in ("forbidden", "not_found"):
        return {"forbidden": "403", "not_found": "404"}[frame["code"]]
    return "ok"


async def _ws_watch(user: Any, scene: Scene) -> str:
    """Watch Alpha's container and the shared one; the sampler's next batch holds both: the
    page gets Alpha's only if the user may see it."""
    communicator, frame = await first_frame("/ws/topology/", user)
    if "close" in frame:
        await communicator.disconnect()
        return str(frame["close"])
    nodes = [f"container:{ALPHA_WEB}", f"container:{SHARED}"]
    await communicator.send_json_to({"type": "watch", "nodes": nodes})
    await communicator.send_json_to({"type": "ping"})
    while (await _next_json(communicator))["type"] != "pong":
        pass  # (a history of an earlier run's samples may come first)
    sample = {"cpu_percent": 1.0, "mem_bytes": 1, "mem_limit": None, "limit_set": False}
    batch = {
        "type": "stats.samples",
        "at": "2026-01-01T00:00:00Z",
        "samples": {n: sample for n in nodes},
    }
    assert await sync_to_async(send_to_group)(STATS_GROUP, batch, "a test batch")
    stats = await _next_json(communicator)
    await communicator.disconnect()
    assert stats["type"] == "stats" and f"container:{SHARED}" in stats["samples"], stats
    return "sees" if f"container:{ALPHA_WEB}" in stats["samples"] else "blind"


async def _ws_logs(user: Any, scene: Scene) -> str:
    communicator, frame = await first_frame("/ws/topology/", user)
    if "close" in frame:
        await communicator.disconnect()
        return str(frame["close"])
    node = f"container:{ALPHA_WEB}"
    await communicator.send_json_to({"type": "logs", "node": node, "tail": 10, "follow": True})
    answer = await _next_json(communicator)
    await communicator.disconnect()
    return _refusal(answer)


async def _ws_logs_stop(user: Any, scene: Scene) -> str:
    communicator, frame = await first_frame("/ws/topology/", user)
    if "close" in frame:
        await communicator.disconnect()
        return str(frame["close"])
    await communicator.send_json_to({"type": "logs_stop", "node": f"container:{ALPHA_WEB}"})
    await communicator.send_json_to({"type": "ping"})
    answer = await _next_json(communicator)
    await communicator.disconnect()
    return "ok" if answer == {"type": "pong"} else str(answer)


async def _ws_terminal(user: Any, scene: Scene) -> str:
    communicator, frame = await first_frame(f"/ws/terminal/{ALPHA_WEB}/", user)
    await communicator.disconnect()
    return _refusal(frame)


async def _ws_topology_layers(user: Any, scene: Scene) -> str:
    """The ``layers`` message: its fresh snapshot holds Alpha's network, for those who may."""
    communicator, frame = await first_frame("/ws/topology/", user)
    if "close" in frame:
        await communicator.disconnect()
        return str(frame["close"])
    await communicator.send_json_to({"type": "layers", "layers": ["networks"]})
    fresh = await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    assert fresh["type"] == "snapshot"
    ids = {node["id"] for node in fresh["graph"]["nodes"]}
    return "sees" if ALPHA_NETWORK in ids else "blind"


async def _ws_topology_deflated(user: Any, scene: Scene) -> str:
    """``?encoding=deflate``: the snapshot, compressed, holds Alpha's host for those who may."""
    import zlib

    headers = await sync_to_async(ws_headers)(user)
    communicator = WebsocketCommunicator(
        application, "/ws/topology/?encoding=deflate", headers=headers
    )
    accepted, _ = await communicator.connect(timeout=5)
    assert accepted
    output = await communicator.receive_output(timeout=5)
    await communicator.disconnect()
    if output["type"] == "websocket.close":
        return str(output["code"])
    snapshot = json.loads(zlib.decompress(output["bytes"], -15))
    ids = {node["id"] for node in snapshot["graph"]["nodes"]}
    return "sees" if "host:alpha-host" in ids else "blind"


WS_DOORS: dict[str, Callable[[Any, Scene], Awaitable[str]]] = {
    "WS ws-topology": _ws_topology,
    "WS ws-topology ?encoding": _ws_topology_deflated,
    "WS ws-topology layers": _ws_topology_layers,
    "WS ws-topology watch": _ws_watch,
    "WS ws-topology logs": _ws_logs,
    "WS ws-topology logs_stop": _ws_logs_stop,
    "WS ws-demos": _ws_demos,
    "WS ws-terminal": _ws_terminal,
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("door", list(WS_DOORS))
def test_websocket_door(door: str, scene: Scene) -> None:
    async def scenario() -> dict[str, str]:
        return {role: await WS_DOORS[door](scene.users[role], scene) for role in ROLES}

    observed = run(scenario)
    assert observed == EXPECTED[door], _mismatches(door, observed)


# --- Isolation: nothing of Beta reaches an Alpha member, through any door -----------------------

BETA_MARKS = (
    "beta",
    BETA_ENGINE,
    BETA_NESTED,
    *(digit * 64 for digit in "bdef"),
)


def assert_nothing_of_beta(text: str, where: str) -> None:
    leaked = [mark for mark in BETA_MARKS if mark.lower() in text.lower()]
    assert not leaked, f"{where} shows Beta's {leaked}"


def test_the_world_has_what_beta_must_hide(scene: Scene) -> None:
    """The marks are real: the site admin sees every one of them."""
    seen = scene.client("site").get("/api/topology/").json()
    text = json.dumps(seen)
    assert all(mark in text for mark in BETA_MARKS if mark != "beta")
    parents = {node["id"]: node["parent"] for node in seen["nodes"]}
    assert parents[f"daemon:{BETA_NESTED}"] == "container:" + "d" * 64
    assert f"socket:{'f' * 64}->{BETA_ENGINE}" in {edge["id"] for edge in seen["edges"]}


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_alpha_member_gets_nothing_of_beta_over_http(scene: Scene, role: str) -> None:
    client = scene.client(role)
    for url in [
        "/",
        "/api/topology/",
        "/api/topology.dot",
        "/api/hosts/",
        "/api/daemons/",
        "/api/containers/",
        "/api/containers/?name=beta",
        "/api/daemons/?nesting=1",
        "/api/dashboards/",
        "/api/dashboards/?team__slug=beta",
        "/teams/",
        "/demos/",
        "/api/demos/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_nothing_of_beta(response.content.decode(), url)
    beta_host = Host.objects.get(slug="beta-host")
    for url in [
        f"/api/hosts/{beta_host.pk}/",
        *(f"/api/daemons/{d.pk}/" for d in Daemon.objects.filter(host=beta_host)),
        f"/api/daemons/{Daemon.objects.get(engine_id=BETA_NESTED).pk}/",
        *(
            f"/api/containers/{c.pk}/"
            for c in Container.objects.filter(container_id__in=[digit * 64 for digit in "bdef"])
        ),
        f"/api/dashboards/{scene.beta_board.pk}/",
        "/teams/beta/",
        f"/api/demos/{scene.beta_demo.pk}/",
        f"/demos/{scene.beta_demo.pk}/",
    ]:
        assert client.get(url).status_code == 404, url
    for url in [f"/dashboards/{scene.beta_board.pk}/", f"/dashboards/{scene.beta_board.pk}/edit/"]:
        assert client.get(url).status_code == 403, url
    assert client.delete(f"/api/dashboards/{scene.beta_board.pk}/").status_code == 404
    assert client.post(f"/dashboards/{scene.beta_board.pk}/delete/").status_code == 403
    assert Dashboard.objects.filter(pk=scene.beta_board.pk).exists()


def test_alpha_operator_cannot_touch_beta_demos(scene: Scene) -> None:
    client = scene.client("operator")
    assert client.delete(f"/api/demos/{scene.beta_demo.pk}/").status_code == 404
    launch = client.post("/api/demos/?team=beta", {"kind": "dood"}, content_type=JSON)
    assert launch.status_code == 403
    nowhere = client.post("/api/demos/?team=nope", {"kind": "dood"}, content_type=JSON)
    assert nowhere.status_code == 403  # an unknown team reads like a foreign one
    scene.beta_demo.refresh_from_db()
    assert scene.beta_demo.status == Demo.Status.STARTING and scene.dispatched == []


def test_an_operator_of_one_team_launches_for_it_without_naming_it(scene: Scene) -> None:
    response = scene.client("operator").post("/api/demos/", {"kind": "dood"}, content_type=JSON)
    assert response.status_code == 202
    assert Demo.objects.get(pk=response.json()["id"]).team == scene.alpha
    Membership.objects.create(team=scene.beta, user=scene.users["operator"], role="operator")
    again = scene.client("operator").post("/api/demos/", {"kind": "dood"}, content_type=JSON)
    assert again.status_code == 400 and "alpha, beta" in again.json()["team"][0]
    in_the_body = scene.client("operator").post(
        "/api/demos/", {"kind": "dood", "team": "alpha"}, content_type=JSON
    )
    assert in_the_body.status_code == 400 and "team" in in_the_body.json()  # contract: kind only


def test_registering_an_engine_already_known_says_who_has_it(scene: Scene) -> None:
    """Beta's nested daemon, reached by a registration of Alpha's admin: refused, and the answer
    says it is Beta's; nothing moves."""
    body = {"name": "grab", "team": "alpha", **scene.registration("known")}
    response = scene.client("admin").post("/api/daemons/", body, content_type=JSON)
    assert response.status_code == 400
    assert "already on the map" in response.json()["url"][0] and "team Beta" in str(response.json())
    nested = Daemon.objects.get(engine_id=BETA_NESTED)
    assert nested.container.container_id == "d" * 64 and not Endpoint.objects.exists()
    nowhere = {"name": "lab", "team": "alpha", **scene.registration("tcp+tls")}
    response = scene.client("admin").post("/api/daemons/", nowhere, content_type=JSON)
    assert response.status_code == 400 and "did not answer" in response.json()["url"][0]


def test_registering_is_refused_before_team_slugs_are_checked(scene: Scene) -> None:
    client = scene.client("operator")
    for team in ("alpha", "no-such-team"):
        body = {"name": "x", "url": "unix:///nonexistent/x.sock", "team": team}
        assert client.post("/api/daemons/", body, content_type=JSON).status_code == 403


def test_a_removed_edge_is_forwarded_only_when_the_client_had_it() -> None:
    visible = {"container:" + "1" * 64, "daemon:ALPHA:ENGINE"}
    message = graph.GraphDelta(
        remove_edges=[f"socket:{'1' * 64}->{BETA_ENGINE}", f"socket:{'1' * 64}->{ALPHA_ENGINE}"]
    ).message(2, 1)
    cut = graph.visible_delta(message, visible, {"host:alpha-host"})
    assert cut["remove"]["edges"] == [f"socket:{'1' * 64}->{ALPHA_ENGINE}"]


async def _next_json(communicator: WebsocketCommunicator) -> dict[str, Any]:
    return await communicator.receive_json_from(timeout=5)


@pytest.mark.django_db(transaction=True)
def test_alpha_viewer_gets_no_beta_node_in_snapshot_or_any_delta(scene: Scene) -> None:
    viewer = scene.users["viewer"]

    async def publish(changes: services.ChangeSet) -> None:
        assert await sync_to_async(broadcast.publish)(changes)

    async def scenario() -> None:
        communicator, snapshot = await first_frame("/ws/topology/", viewer)
        assert snapshot["type"] == "snapshot"
        assert_nothing_of_beta(json.dumps(snapshot), "snapshot")
        assert "host:alpha-host" in json.dumps(snapshot)

        # A change on Beta's daemon only: the delta still comes (versions), empty.
        await publish(await sync_to_async(beta_engine)(_container("a", "beta-new")))
        delta = await _next_json(communicator)
        assert delta["type"] == "delta"
        assert_nothing_of_beta(json.dumps(delta), "Beta-only delta")
        assert "a" * 64 not in json.dumps(delta)
        assert delta["upsert"] == {"nodes": [], "edges": []}

        # One delta touching both teams: only Alpha's part arrives.
        def both() -> services.ChangeSet:
            changes = alpha_engine(_container("5", "cache"))
            changes.absorb(beta_engine(_container("a", "beta-new"), _container("c", "beta-2")))
            changes.absorb(nested_says(BETA_ENGINE, "d" * 64, BETA_NESTED))  # its container goes
            return changes

        await publish(await sync_to_async(both)())
        mixed = await _next_json(communicator)
        assert [node["id"] for node in mixed["upsert"]["nodes"]] == ["container:" + "5" * 64]
        assert_nothing_of_beta(json.dumps(mixed), "mixed delta")
        assert "c" * 64 not in json.dumps(mixed)

        # Beta's DinD and DooD go away: removals of what the client never had are not sent.
        await publish(await sync_to_async(_beta_shrinks)())
        removal = await _next_json(communicator)
        assert removal["remove"] == {"nodes": [], "edges": []}
        assert_nothing_of_beta(json.dumps(removal), "Beta removal")
        await communicator.disconnect()

    run(scenario)


def _beta_shrinks() -> services.ChangeSet:
    return engine_says("beta-host", BETA_ENGINE, _container("b", "beta-app"))


@pytest.mark.django_db(transaction=True)
def test_a_host_changing_team_while_connected_is_cut_at_once(scene: Scene) -> None:
    """The shared host goes to Beta: the Alpha viewer gets a snapshot without it, and its
    later changes are not forwarded."""
    viewer = scene.users["viewer"]

    def give_shared_host_to_beta() -> None:
        host = Host.objects.get(slug="shared-host")
        host.team = scene.beta
        host.save()  # as the admin form does

    async def scenario() -> None:
        communicator, snapshot = await first_frame("/ws/topology/", viewer)
        assert "host:shared-host" in json.dumps(snapshot)
        await sync_to_async(give_shared_host_to_beta)()
        fresh = await _next_json(communicator)
        assert fresh["type"] == "snapshot"
        assert "shared-host" not in json.dumps(fresh) and "SHARED:ENGINE" not in json.dumps(fresh)
        changes = await sync_to_async(engine_says)(
            "shared-host", "SHARED:ENGINE", _container("3", "shared"), _container("4", "more")
        )
        assert await sync_to_async(broadcast.publish)(changes)
        delta = await _next_json(communicator)
        assert delta["type"] == "delta" and delta["upsert"]["nodes"] == []
        assert "4" * 64 not in json.dumps(delta)
        await communicator.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_member_removed_from_the_team_loses_its_nodes_at_once(scene: Scene) -> None:
    viewer = scene.users["viewer"]

    async def scenario() -> None:
        communicator, snapshot = await first_frame("/ws/topology/", viewer)
        assert "host:alpha-host" in json.dumps(snapshot)
        await sync_to_async(Membership.objects.filter(user=viewer).delete)()
        fresh = await _next_json(communicator)
        assert fresh["type"] == "snapshot" and "alpha-host" not in json.dumps(fresh)
        await communicator.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_demo_progress_of_beta_never_reaches_alpha(scene: Scene) -> None:
    viewer, other = scene.users["viewer"], scene.users["other"]

    async def scenario() -> None:
        communicator, listed = await first_frame("/ws/demos/", viewer)
        assert [demo["id"] for demo in listed["demos"]] == [str(scene.alpha_demo.pk)]
        launch = sync_to_async(demo_services.request_launch)
        await launch(other, "dind", scene.beta)  # published to the progress group
        mine = await launch(scene.users["operator"], "dood", scene.alpha)
        message = await _next_json(communicator)  # Beta's would have come first
        assert message["demo"]["id"] == str(mine.pk) and message["demo"]["team"] == "alpha"
        await communicator.disconnect()

    run(scenario)
