"""What live CPU and memory cost: 100 running containers on the host engine, all on screen.

One run, three phases of ``--seconds`` each (60 by default), on the same 100 idle containers:

- **sampling on**: a Topology of its own (Daphne and ``manage.py sample_stats`` as
  subprocesses, as ``make run`` starts them, on a fresh SQLite file) and one page's websocket
  that watches all 100 (contract v2 ``watch``), receiving ``stats`` every
  ``TOPOLOGY_STATS_SECONDS``;
- **nobody looking**: the same processes after that page closed;
- **docker stats**: ``docker stats`` (the CLI's endless stream) of the same 100 containers.

CPU is read from ``/proc`` (user + system time): the engine side is dockerd, containerd and the
100 containers' shims (the host's, not a nested daemon's); the client side is the sampler and
Daphne, or the ``docker`` CLI. Each phase prints the mean over the window and the median of its
5-second slices, as % of one core; then the ratios. Goal: sampling on costs under a third of
``docker stats``, and nobody looking costs nothing (no sample taken, the idle level).

The engine is shared with whatever else runs on this machine; the slice medians damp that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from dashboard_fanout import WebSocket
from dashboard_stack import Stack
from harness import containers, median

COUNT = 100
SLICE_SECONDS = 5.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (all its threads); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def descendants(pid: int) -> list[int]:
    """A process and all it started."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return found


def our_namespace(pid: int) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid") == os.readlink("/proc/self/ns/pid")
    except OSError:
        return False


def engine_processes(container_ids: set[str]) -> dict[str, list[int]]:
    """The host's dockerd and containerd, and the shims of the given containers."""
    found: dict[str, list[int]] = {"dockerd": [], "containerd": [], "shims": []}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        name = os.path.basename(argv[0].decode(errors="replace")) if argv else ""
        pid = int(entry.name)
        if name in ("dockerd", "containerd") and our_namespace(pid):
            found[name].append(pid)
        elif name == "containerd-shim-runc-v2" and b"-id" in argv:
            shim_of = argv[argv.index(b"-id") + 1].decode(errors="replace")
            if shim_of in container_ids:
                found["shims"].append(pid)
    return found


@dataclass
class Phase:
    name: str
    groups: dict[str, list[int]]
    slices: dict[str, list[float]] = field(default_factory=dict)
    means: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def measure(self, seconds: float) -> None:
        """CPU of each group over ``seconds``, in 5-second slices (% of one core)."""

        def reading() -> dict[str, float]:
            return {g: sum(cpu_seconds(p) for p in pids) for g, pids in self.groups.items()}

        start_at, start = time.monotonic(), reading()
        before, before_at = start, start_at
        self.slices = {group: [] for group in self.groups}
        while time.monotonic() - start_at < seconds - 0.01:
            time.sleep(min(SLICE_SECONDS, seconds - (time.monotonic() - start_at)))
            now, now_at = reading(), time.monotonic()
            for group in self.groups:
                self.slices[group].append((now[group] - before[group]) / (now_at - before_at) * 100)
            before, before_at = now, now_at
        self.means = {
            group: (before[group] - start[group]) / (before_at - start_at) * 100
            for group in self.groups
        }

    def total(self, groups: tuple[str, ...], kind: str = "mean") -> float:
        if kind == "mean":
            return sum(self.means[g] for g in groups)
        slices = zip(*(self.slices[g] for g in groups), strict=True)
        return median([sum(s) for s in slices])


ENGINE = ("dockerd", "containerd", "shims")


def print_phase(phase: Phase, client: tuple[str, ...]) -> None:
    print(f"\n{phase.name}{': ' + phase.note if phase.note else ''}")
    print(f"  {'process':<12} {'mean %':>8} {'median %':>9}")
    for group in phase.groups:
        print(f"  {group:<12} {phase.means[group]:>8.2f} {median(phase.slices[group]):>9.2f}")
    for label, groups in (("engine", ENGINE), ("client", client), ("all", ENGINE + client)):
        print(f"  {label:<12} {phase.total(groups):>8.2f} {phase.total(groups, 'median'):>9.2f}")


async def watch_all(url: str, token: str, nodes: list[str], phase: Phase, seconds: float) -> None:
    """One page watching every container: wait for a sample of each (CPU known), then measure
    while it keeps receiving; the page closes at the end."""
    host, port = url.removeprefix("http://").split(":")
    socket = await WebSocket.connect(host, int(port), url, token)
    assert json.loads(await socket.receive())["type"] == "snapshot"
    text = json.dumps({"type": "watch", "nodes": nodes}).encode()
    send_long(socket, text)
    received: dict[str, int] = {}
    with_cpu: set[str] = set()

    async def follow() -> None:
        while True:
            message = json.loads(await socket.receive())
            if message["type"] == "error":
                raise RuntimeError(message)
            if message["type"] == "stats":
                for node, sample in message["samples"].items():
                    received[node] = received.get(node, 0) + 1
                    if sample.get("cpu_percent") is not None:
                        with_cpu.add(node)

    reader = asyncio.create_task(follow())
    warm_started = time.monotonic()
    while len(with_cpu) < len(nodes):
        if reader.done():
            reader.result()
        if time.monotonic() - warm_started > 600:
            raise TimeoutError(f"only {len(with_cpu)} of {len(nodes)} containers sampled")
        await asyncio.sleep(0.2)
    warm = time.monotonic() - warm_started
    counted_before = sum(received.values())
    await asyncio.to_thread(phase.measure, seconds)
    samples = sum(received.values()) - counted_before
    reader.cancel()
    socket.close()
    phase.note = (
        f"{samples} samples reached the page ({samples / seconds:.1f}/s); "
        f"every container had one with CPU {warm:.1f} s after the watch"
    )


def send_long(socket: WebSocket, payload: bytes) -> None:
    """A masked text frame of 126 bytes or more (``WebSocket.send_frame`` is for short ones)."""
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    if len(payload) < 65536:
        header = bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big")
    else:
        header = bytes([0x81, 0x80 | 127]) + len(payload).to_bytes(8, "big")
    socket.writer.write(header + mask + masked)


def history_entries(hexes: list[str]) -> int:
    from topology.inventory import stats_store

    redis = stats_store.client()
    try:
        with redis.pipeline(transaction=False) as pipe:
            for hex_id in hexes:
                pipe.llen(stats_store._key("stats-history", hex_id))
            return sum(pipe.execute())
    finally:
        redis.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="each phase's window")
    parser.add_argument("--containers", type=int, default=COUNT)
    options = parser.parse_args()
    seconds = options.seconds

    with Stack() as stack:
        import docker
        from django.conf import settings

        from topology.engine.types import Route
        from topology.inventory import polling

        client = docker.DockerClient(base_url=settings.DOCKER_HOST, timeout=120)
        period = settings.TOPOLOGY_STATS_SECONDS
        print(
            f"{options.containers} idle containers on the host engine, {seconds:g} s per phase, "
            f"TOPOLOGY_STATS_SECONDS={period:g}; CPU as % of one core "
            f"({os.cpu_count()} cores here)"
        )
        with containers(client, options.containers) as made:
            hexes = [c.id for c in made]
            nodes = [f"container:{h}" for h in hexes]
            result = polling.poll_target(
                polling.Target(Route(settings.DOCKER_HOST)), publish=False, lock_required=False
            )
            assert result.error is None, result.error
            stack.start_server()
            sampler = stack._spawn([sys.executable, "manage.py", "sample_stats"], "sampler")
            daphne = stack.processes[0]
            engine = engine_processes(set(hexes))
            assert engine["dockerd"] and len(engine["shims"]) == len(hexes), engine

            topology = {"sampler": descendants(sampler.pid), "daphne": descendants(daphne.pid)}
            on = Phase("sampling on (one page watches all)", {**engine, **topology})
            asyncio.run(watch_all(stack.url, stack.token, nodes, on, seconds))

            time.sleep(2)  # the closed page's wants leave Redis
            idle = Phase("nobody looking (the page closed)", {**engine, **topology})
            kept_before = history_entries(hexes)
            idle.measure(seconds)
            taken = history_entries(hexes) - kept_before
            idle.note = f"{taken} samples taken"

            cli = subprocess.Popen(
                ["docker", "-H", settings.DOCKER_HOST, "stats", "--format", "{{json .}}", *hexes],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                time.sleep(SLICE_SECONDS)  # the stream started for every container
                groups = {**engine, "docker-cli": [cli.pid]}
                stream = Phase("docker stats (the CLI's stream)", groups)
                stream.measure(seconds)
            finally:
                cli.terminate()
                try:
                    cli.wait(timeout=5)
                except subprocess.TimeoutExpired:  # the CLI can sit on SIGTERM mid-stream
                    cli.kill()
                    cli.wait(timeout=10)

    ours, theirs = (*ENGINE, "sampler", "daphne"), (*ENGINE, "docker-cli")
    print_phase(on, ("sampler", "daphne"))
    print_phase(idle, ("sampler", "daphne"))
    print_phase(stream, ("docker-cli",))
    print("\nratios (mean over the window; median of slices in brackets):")
    for label, mine, other in (
        ("engine side, sampling on / docker stats", ENGINE, ENGINE),
        ("engine and client, sampling on / docker stats", ours, theirs),
    ):
        mean = on.total(mine) / stream.total(other)
        middle = on.total(mine, "median") / stream.total(other, "median")
        print(f"  {label:<46} {mean:5.2f}  ({middle:.2f})")
    above_on = on.total(ours) - idle.total(ours)
    above_stream = stream.total(theirs) - idle.total(ENGINE)
    print(
        f"  {'above nobody looking, sampling / docker stats':<46} "
        f"{above_on / above_stream:5.2f}  ({above_on:.2f} vs {above_stream:.2f} % of a core)"
    )
    print(
        f"  {'nobody looking: samplers share of a core':<46} "
        f"{idle.total(('sampler',)):5.2f} %  ({idle.note})"
    )
    ratio = on.total(ours) / stream.total(theirs)
    verdict = "met" if ratio < 1 / 3 else "NOT met"
    print(f"goal: sampling under a third of docker stats -> {verdict}")


if __name__ == "__main__":
    main()
