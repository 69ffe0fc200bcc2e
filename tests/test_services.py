"""Reconciling snapshots into the database: change sets, versions, stale and prune, no env."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import container_info
from topology.engine.nesting import SAME_MACHINE
from topology.engine.types import ContainerInfo, DaemonSnapshot, EngineInfo, Mount, Route
from topology.inventory import services
from topology.inventory.models import Container, Daemon, GraphRevision
from topology.inventory.services import Place

ROUTE = Route(url="unix:///var/run/docker.sock")
INFO = EngineInfo("HOST:ID", "build-01", "27.3.1", "1.47", "Debian")


def info_of(hex_digit: str, **fields) -> ContainerInfo:
    return container_info(hex_digit, **{"image": "busybox", "labels": {"app": "x"}, **fields})


def snapshot(*containers: ContainerInfo, info: EngineInfo = INFO) -> DaemonSnapshot:
    return DaemonSnapshot(ROUTE, info, tuple(containers))


def writes(captured) -> list[str]:
    return [q["sql"] for q in captured if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]


@pytest.mark.django_db
def test_first_reconcile_adds_everything_and_bumps_the_version() -> None:
    changes = services.reconcile(snapshot(info_of("1"), info_of("2")), Place())
    assert (changes.added, changes.changed, changes.removed) == (3, 0, 0)
    assert changes.since == 0 and changes.version == 1 == GraphRevision.current()
    ids = [n["id"] for n in changes.delta.upsert_nodes]
    assert ids == [
        "host:build-01",
        "daemon:HOST:ID",
        f"container:{'1' * 64}",
        f"container:{'2' * 64}",
    ]


@pytest.mark.django_db
def test_same_snapshot_twice_writes_nothing() -> None:
    services.reconcile(snapshot(info_of("1")), Place(), SAME_MACHINE)
    with CaptureQueriesContext(connection) as captured:
        changes = services.reconcile(snapshot(info_of("1")), Place(), SAME_MACHINE)
    assert not changes and changes.version == 0
    assert writes(captured.captured_queries) == []
    assert GraphRevision.current() == 1


@pytest.mark.django_db
def test_change_and_removal_are_reported_with_growing_versions() -> None:
    services.reconcile(snapshot(info_of("1"), info_of("2")), Place())
    changes = services.reconcile(snapshot(info_of("1", state="exited")), Place())
    assert (changes.added, changes.changed, changes.removed) == (0, 1, 1)
    assert changes.since == 1 and changes.version == 2
    assert changes.delta.upsert_nodes[0]["state"] == "exited"
    assert changes.delta.remove_nodes == [f"container:{'2' * 64}"]


@pytest.mark.django_db
def test_listing_without_inspect_keeps_known_privileged_flag_and_role() -> None:
    services.reconcile(snapshot(info_of("1", privileged=True, runs_dockerd=True)), Place())
    listed_only = info_of("1", privileged=None, runs_dockerd=None)
    assert not services.reconcile(snapshot(listed_only), Place())
    row = Container.objects.get()
    assert row.privileged and row.role == "dind"


@pytest.mark.django_db
def test_dood_gets_a_socket_edge_to_the_daemon_it_drives() -> None:
    dood = info_of(
        "3", mounts=(Mount("bind", "/var/run/docker.sock", "/var/run/docker.sock", True),)
    )
    services.reconcile(snapshot(), Place(), SAME_MACHINE)
    changes = services.reconcile(snapshot(dood), Place(), SAME_MACHINE)
    assert Container.objects.get().role == "dood"
    assert changes.delta.upsert_edges == [
        {
            "id": f"socket:{'3' * 64}->HOST:ID",
            "kind": "socket",
            "source": f"container:{'3' * 64}",
            "target": "daemon:HOST:ID",
        }
    ]


@pytest.mark.django_db
def test_nested_daemon_sits_in_its_container_and_goes_with_it() -> None:
    services.reconcile(snapshot(info_of("d", runs_dockerd=True)), Place())
    nested_info = EngineInfo("NESTED:ID", "dind", "27.3.1", "1.47", "Alpine")
    place = Place(parent_engine_id="HOST:ID", container_hex="d" * 64)
    services.reconcile(
        DaemonSnapshot(Route("exec://" + "d" * 64, via=ROUTE), nested_info, (info_of("3"),)),
        place,
    )
    nested = Daemon.objects.get(engine_id="NESTED:ID")
    assert nested.nesting == 1 and nested.container.container_id == "d" * 64
    assert nested.access == "exec"
    changes = services.reconcile(snapshot(), Place())
    assert set(changes.delta.remove_nodes) == {
        "daemon:NESTED:ID",
        f"container:{'3' * 64}",
        f"container:{'d' * 64}",
    }
    assert not Daemon.objects.filter(engine_id="NESTED:ID").exists()


@pytest.mark.django_db
def test_unreachable_marks_stale_once_then_prune_removes_after_grace() -> None:
    services.reconcile(snapshot(info_of("1")), Place())
    first = services.mark_unreachable(ROUTE, Place(), "no answer")
    assert first.changed == 2
    assert {n["status"] for n in first.delta.upsert_nodes} == {"unreachable", "stale"}
    assert not services.mark_unreachable(ROUTE, Place(), "no answer")
    assert not services.prune_stale(grace=timedelta(minutes=5))
    pruned = services.prune_stale(grace=timedelta(0))
    assert pruned.removed == 1 and not Container.objects.exists()
    back = services.reconcile(snapshot(info_of("1")), Place())
    assert Daemon.objects.get().status == "up" and back.added == 1


@pytest.mark.django_db
def test_environment_is_never_stored() -> None:
    services.reconcile(snapshot(info_of("1")), Place())
    fields = {f.name for f in Container._meta.get_fields()}
    assert not {"env", "environment"} & fields


DEMO_ID = "0b9e5c1a-2f4d-4c6e-9a7b-1d2e3f405162"


def demo_labels(role: str, demo_id: str = DEMO_ID, **extra: str) -> dict[str, str]:
    return {"topology.managed": "true", "topology.demo": demo_id, "topology.role": role, **extra}


def dood_demo_snapshot(*extra: ContainerInfo, creator_label: str = "a" * 12) -> DaemonSnapshot:
    """A DooD demo as the host engine lists it: the DooD container (a...) and two siblings."""
    sibling = demo_labels("workload", **{"topology.created-by": creator_label})
    return snapshot(
        info_of("a", labels=demo_labels("dood")),
        info_of("b", labels=sibling),
        info_of("c", labels=sibling),
        *extra,
    )


def created(edges: list[dict]) -> list[tuple[str, str]]:
    return sorted((e["source"][10:11], e["target"][10:11]) for e in edges if e["kind"] == "created")


@pytest.fixture
def known_demo(admin_user):  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from topology.demos.models import Demo

    return Demo.objects.create(id=DEMO_ID, kind="dood", owner=admin_user, expires=timezone.now())


@pytest.mark.django_db
def test_dood_demo_siblings_get_created_edges_and_a_quiet_poll_writes_nothing(known_demo) -> None:
    changes = services.reconcile(dood_demo_snapshot(), Place(), SAME_MACHINE)
    assert created(changes.delta.upsert_edges) == [("a", "b"), ("a", "c")]
    assert Container.objects.get(container_id="b" * 64).created_by == "a" * 64
    with CaptureQueriesContext(connection) as captured:
        assert not services.reconcile(dood_demo_snapshot(), Place(), SAME_MACHINE)
    assert writes(captured.captured_queries) == []

    without_c = snapshot(*dood_demo_snapshot().containers[:2])
    gone = services.reconcile(without_c, Place(), SAME_MACHINE)
    assert gone.delta.remove_edges == [f"created:{'a' * 64}->{'c' * 64}"]
    creator_gone = services.reconcile(snapshot(without_c.containers[1]), Place(), SAME_MACHINE)
    assert creator_gone.delta.remove_edges == [f"created:{'a' * 64}->{'b' * 64}"]
    assert creator_gone.delta.upsert_edges == []
    assert Container.objects.get(container_id="b" * 64).created_by == ""


@pytest.mark.django_db
def test_created_by_is_honoured_only_for_the_projects_own_demos(admin_user) -> None:
    # No such demo in the database: the labels alone draw nothing.
    changes = services.reconcile(dood_demo_snapshot(), Place(), SAME_MACHINE)
    assert created(changes.delta.upsert_edges) == []
    assert not Container.objects.exclude(created_by="").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "forged",
    [
        # not managed by the project
        {"topology.demo": DEMO_ID, "topology.role": "workload", "topology.created-by": "a" * 12},
        # a creator of another demo, or a prefix too short to name one container
        demo_labels("workload", demo_id=DEMO_ID[:-1] + "3", **{"topology.created-by": "a" * 12}),
        demo_labels("workload", **{"topology.created-by": "a"}),
        demo_labels("workload", **{"topology.created-by": "../" + "a" * 12}),
        # a DooD container is no workload; nor is a container its own creator
        demo_labels("dood", **{"topology.created-by": "a" * 12}),
    ],
)
def test_forged_or_foreign_created_by_labels_draw_nothing(known_demo, forged) -> None:
    changes = services.reconcile(
        dood_demo_snapshot(info_of("f", labels=forged)), Place(), SAME_MACHINE
    )
    assert created(changes.delta.upsert_edges) == [("a", "b"), ("a", "c")]
    assert Container.objects.get(container_id="f" * 64).created_by == ""


@pytest.mark.django_db
def test_an_ambiguous_hostname_draws_nothing(known_demo) -> None:
    twin = info_of("a" * 12 + "e" * 52, name="twin", labels=demo_labels("dood"))
    changes = services.reconcile(dood_demo_snapshot(twin), Place(), SAME_MACHINE)
    assert created(changes.delta.upsert_edges) == []


# --- Engine ownership: the project decides where a root engine is, never the engine -------------


def _team(slug: str):  # type: ignore[no-untyped-def]
    from topology.teams.models import Team

    return Team.objects.create(slug=slug, name=slug.title())


@pytest.mark.django_db
def test_an_engine_naming_another_teams_host_gets_a_host_of_its_own() -> None:
    """An engine reports the name of Beta's host in /info: it stays out of Beta's host, and
    the shared host of the local engine keeps no team."""
    from topology.inventory.models import Endpoint, Host

    alpha, beta = _team("alpha"), _team("beta")
    services.reconcile(snapshot(info_of("1")), Place())  # the local engine: host build-01
    shared = Host.objects.get()
    beta_lab = Endpoint.objects.create(name="beta-lab", url="tcp://beta:2376", team=beta)
    services.reconcile(
        snapshot(info=EngineInfo("BETA:ID", "beta-lab", "27", "1.47", "Debian")),
        Place(),
        endpoint_pk=beta_lab.pk,
    )
    beta_host = Host.objects.get(team=beta)
    alpha_lab = Endpoint.objects.create(name="alpha-lab", url="tcp://alpha:2376", team=alpha)
    liar = EngineInfo("ALPHA:ID", "beta-lab", "27", "1.47", "Debian")  # says it is beta-lab
    services.reconcile(snapshot(info_of("2"), info=liar), Place(), endpoint_pk=alpha_lab.pk)
    alpha_daemon = Daemon.objects.get(engine_id="ALPHA:ID")
    assert alpha_daemon.host != beta_host and alpha_daemon.host.team == alpha
    assert alpha_daemon.host.name == "alpha-lab"
    assert list(Daemon.objects.filter(host=beta_host).values_list("engine_id", flat=True)) == [
        "BETA:ID"
    ]
    shared.refresh_from_db()
    assert shared.team is None and shared.slug == "build-01"
    # A second local engine that says it is build-01 is not build-01 either.
    impostor = EngineInfo("OTHER:ID", "build-01", "27", "1.47", "x")
    services.reconcile(snapshot(info=impostor), Place())
    assert Daemon.objects.get(engine_id="OTHER:ID").host.slug == "build-01-2"


@pytest.mark.django_db
def test_a_registration_takes_no_shared_host(settings) -> None:
    """Registering an engine never gives the shared host (the local engine's) to a team, even
    when a site admin put the registration on that host."""
    from topology.inventory.models import Endpoint, Host

    services.reconcile(snapshot(info_of("1")), Place())
    shared = Host.objects.get()
    team = _team("alpha")
    endpoint = Endpoint.objects.create(name="lab", url="tcp://lab:2376", team=team, host=shared)
    info = EngineInfo("LAB:ID", "lab", "27", "1.47", "Debian")
    services.reconcile(snapshot(info=info), Place(), endpoint_pk=endpoint.pk)
    shared.refresh_from_db()
    assert shared.team is None
    assert Daemon.objects.get(engine_id="LAB:ID").host == shared


@pytest.mark.django_db
def test_deleting_a_registration_removes_what_only_it_reached() -> None:
    from topology.inventory.models import Endpoint, Host

    services.reconcile(snapshot(info_of("1")), Place())  # the local engine
    team = _team("alpha")
    endpoint = Endpoint.objects.create(name="lab", url="tcp://lab:2376", team=team)
    lab = EngineInfo("LAB:ID", "lab", "27", "1.47", "Debian")
    lab_route = Route(url="tcp://lab:2376")
    services.reconcile(
        DaemonSnapshot(lab_route, lab, (info_of("d", runs_dockerd=True), info_of("2"))),
        Place(),
        endpoint_pk=endpoint.pk,
    )
    services.reconcile(
        DaemonSnapshot(
            Route("exec://" + "d" * 64, via=lab_route),
            EngineInfo("NESTED:ID", "dind", "27", "1.47", "Alpine"),
            (info_of("3"),),
        ),
        Place(parent_engine_id="LAB:ID", container_hex="d" * 64),
    )
    lab_host = Daemon.objects.get(engine_id="LAB:ID").host
    published = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services.broadcast, "publish", published.append)
        with django_on_commit():
            endpoint.delete()
    assert set(Daemon.objects.values_list("engine_id", flat=True)) == {"HOST:ID"}
    assert set(Container.objects.values_list("container_id", flat=True)) == {"1" * 64}
    assert not Host.objects.filter(pk=lab_host.pk).exists()
    (removal,) = published
    assert set(removal.delta.remove_nodes) == {
        "daemon:LAB:ID",
        "daemon:NESTED:ID",
        f"host:{lab_host.slug}",
        *(f"container:{digit * 64}" for digit in "d23"),
    }


def django_on_commit():  # type: ignore[no-untyped-def]
    """Run the on-commit callbacks of the block (the test's transaction never commits)."""
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


@pytest.mark.django_db
def test_how_far_behind_a_daemon_is_written_only_when_its_step_changes() -> None:
    steps = [services.behind_step(s) for s in (0, 0.4, 4.9, 5.1, 14, 61, 10_000)]
    assert steps == [0, 0, 0, 5, 5, 60, 300]
    services.reconcile(snapshot(), Place())
    first = services.set_watch(INFO.engine_id, "events", 0.1, publish=False)
    assert first.changed == 1 and Daemon.objects.get(engine_id=INFO.engine_id).watch == "events"
    since = Daemon.objects.get(engine_id=INFO.engine_id).watch_since
    assert services.set_watch(INFO.engine_id, "events", 4.5, publish=False).changed == 0
    later = services.set_watch(INFO.engine_id, "events", 7, publish=False)
    assert later.changed == 1 and later.delta.upsert_nodes[0]["behind"] == 5
    daemon = Daemon.objects.get(engine_id=INFO.engine_id)
    assert daemon.behind == 5 and daemon.watch_since == since  # the mode did not change
