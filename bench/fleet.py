"""A fleet of engines on two cores: Topology as ``make run`` starts it, with N fake engines.

For N = 10, 30 and 100 fake engines (``fake_engines.py``, 100 idle containers each) registered
as engines, plus the real local engine, and for each inventory mode in the same run
(``TOPOLOGY_INVENTORY_MODE=poll``, every daemon listed every ``TOPOLOGY_POLL_SECONDS`` through
Celery, as before; ``events``, the default: events first, a full list only when a stream opens
and every ``TOPOLOGY_RESYNC_SECONDS``), it starts Daphne and, from the Procfile's own lines,
the worker, beat, the events watcher and the stats sampler, and measures:

- discovery: from starting the processes to every fake container being in the database (said
  apart: when the first watcher joined, when the first container came in, and the CPU seconds
  each process spent meanwhile, the fakes' with the benchmark's own);
- quiet CPU: worker + watcher (``events``) CPU, their whole process trees, over 20 s with
  nothing changing, as a share of one core (beat apart);
- change to websocket delta: a client connected with a token, 10 changes alternating a fake
  engine starting a container (timed from its event) and a real ``docker run`` on the real
  engine (timed from ``docker run`` returning), until a delta naming that container arrives.

Goals at 100 engines: quiet CPU under 10 % of a core, discovery under 10 s, delta p95 under
300 ms. ``python bench/fleet.py [--sizes 10,30,100] [--modes poll,events]``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from dashboard_stack import Stack, median, p95
from fake_engines import FakeFleet

CONTAINERS = 100
QUIET_SECONDS = 20
CHANGES = 10
TICKS = os.sysconf("SC_CLK_TCK")


class WebSocket:
    """A minimal websocket client (RFC 6455, text frames) that records each message's arrival."""

    def __init__(self, url: str, token: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /ws/topology/ HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nAuthorization: Token {token}\r\n\r\n"
            ).encode()
        )
        self.file = self.sock.makefile("rb")
        status = self.file.readline()
        if b" 101 " not in status:
            raise RuntimeError(f"websocket refused: {status!r}")
        while self.file.readline() not in (b"\r\n", b""):
            pass
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            buffer = b""
            while True:
                head = self.file.read(2)
                if len(head) < 2:
                    return
                opcode, length = head[0] & 0x0F, head[1] & 0x7F
                if length == 126:
                    length = int.from_bytes(self.file.read(2), "big")
                elif length == 127:
                    length = int.from_bytes(self.file.read(8), "big")
                payload = self.file.read(length)
                if opcode == 9:  # ping: answer
                    self._send(0xA, payload)
                    continue
                if opcode in (1, 0):
                    buffer += payload
                    if head[0] & 0x80:
                        message = json.loads(buffer)
                        buffer = b""
                        with self.arrived:
                            self.messages.append((time.perf_counter(), message))
                            self.arrived.notify_all()
                if opcode == 8:
                    return

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def wait_for_node(self, node_id: str, timeout: float = 30) -> float:
        """When the first delta that upserts ``node_id`` (or a snapshot that has it) arrived
        (perf_counter)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for arrived, message in self.messages:
                    if message.get("type") == "delta":
                        nodes = message["upsert"]["nodes"]
                    elif message.get("type") == "snapshot":  # the consumer resynced the client
                        nodes = message["graph"]["nodes"]
                    else:
                        continue
                    if any(node.get("id") == node_id for node in nodes):
                        return arrived
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no delta with {node_id}")
                self.arrived.wait(left)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _process_table() -> tuple[dict[int, int], dict[int, float]]:
    """Every process's parent, and its CPU seconds (user + system) so far."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    return parents, cpu


def process_tree(root: int) -> list[int]:
    """``root`` and every process under it, now."""
    parents, _cpu = _process_table()
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        found.append(pid)
        frontier += [child for child, parent in parents.items() if parent == pid]
    return found


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and every process under it, now."""
    _parents, cpu = _process_table()
    return sum(cpu.get(pid, 0.0) for pid in process_tree(root))


def procfile_commands(names: tuple[str, ...]) -> dict[str, tuple[dict[str, str], list[str]]]:
    """The Procfile's lines for ``names``: each one's variables (``NAME=value`` before the
    command) and its command, run from the checkout as honcho runs them."""
    found = {}
    for line in (stack_root() / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() not in names:
            continue
        words = shlex.split(command)
        variables = {}
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
            key, _, value = words.pop(0).partition("=")
            variables[key] = value
        found[name.strip()] = (variables, words)
    missing = set(names) - found.keys()
    if missing:
        raise SystemExit(f"the Procfile has no line for {', '.join(sorted(missing))}")
    return found


class Product:
    """The Procfile's worker, beat, events (the watcher) and stats for one mode, each started
    from its own line (Daphne, the Procfile's ``web``, runs for the whole benchmark)."""

    NAMES = ("worker", "beat", "events", "stats")

    def __init__(self, stack: Stack, mode: str) -> None:
        self.stack = stack
        env = os.environ.copy() | {"TOPOLOGY_INVENTORY_MODE": mode}
        var = stack.folder / f"var-{mode}-{uuid.uuid4().hex[:6]}"
        (var / "run").mkdir(parents=True)
        env["TOPOLOGY_VAR_DIR"] = str(var)
        self.processes: dict[str, subprocess.Popen] = {}
        for name, (variables, args) in procfile_commands(self.NAMES).items():
            log = (stack.folder / f"{mode}-{name}.log").open("ab")
            self.processes[name] = subprocess.Popen(
                args, cwd=stack_root(), env=env | variables, stdout=log, stderr=log
            )

    def cpu(self, *names: str) -> float:
        return sum(tree_cpu_seconds(self.processes[n].pid) for n in names)

    def stop(self) -> None:
        """Stop every process and what it started (a worker's pool included): nothing of one
        run may still work, or hold a daemon's poll lock, while the next one is measured."""
        tree = [pid for p in self.processes.values() for pid in process_tree(p.pid)]
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        deadline = time.monotonic() + 10
        while (left := [pid for pid in tree if Path(f"/proc/{pid}").exists()]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if left:
            print(f"  ({len(left)} process(es) outlived their parent: killed)", flush=True)


def stack_root() -> Path:
    return Path(__file__).resolve().parent.parent


def forget_inventory(stack: Stack) -> None:
    """An empty inventory, no queued polls and no poll locks left from the last run."""
    import redis
    from django.conf import settings

    from topology.inventory.models import Container, Daemon, Host

    Container.objects.all().delete()
    Daemon.objects.all().delete()
    Host.objects.all().delete()
    client = redis.Redis.from_url(settings.REDIS_URL)
    for pattern in ("topology:poll:*", "topology:dirty:*", "topology:watch*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    client.delete("poll", "celery", "launch")
    client.close()


def register(fleet: FakeFleet, count: int) -> None:
    from topology.inventory.models import Endpoint

    for engine in fleet.engines[:count]:
        Endpoint.objects.get_or_create(
            url=engine.url, defaults={"name": engine.name, "engine_id": engine.engine_id}
        )
    Endpoint.objects.filter(url__in=[e.url for e in fleet.engines[count:]]).delete()


def run_once(stack: Stack, fleet: FakeFleet, count: int, mode: str) -> dict[str, float]:
    import docker
    import redis
    from django.conf import settings

    from topology.engine import images
    from topology.inventory.models import Container
    from topology.locks import lock_name

    forget_inventory(stack)
    register(fleet, count)
    wanted = count * CONTAINERS
    fake_ids = [engine.engine_id for engine in fleet.engines[:count]]
    members = redis.Redis.from_url(settings.REDIS_URL)
    members_key = lock_name("watchers", "members")
    joined = None
    ours_before = time.process_time()
    started = time.perf_counter()
    product = Product(stack, mode)
    try:
        first = None
        while (found := Container.objects.filter(daemon__engine_id__in=fake_ids).count()) < wanted:
            if time.perf_counter() - started > 300:
                raise TimeoutError(f"{mode}: discovery of {count} engines took over 300 s")
            if joined is None and mode == "events" and members.zcard(members_key):
                joined = time.perf_counter() - started
            if first is None and found:
                first = time.perf_counter() - started
            time.sleep(0.05)
        discovery = time.perf_counter() - started
        spent = {name: product.cpu(name) for name in product.processes}
        spent["fakes + bench"] = time.process_time() - ours_before
        print(
            f"  {count} engines, {mode}: discovery {discovery:.1f} s"
            + (f" (the watcher joined at {joined:.1f} s)" if joined is not None else "")
            + (f", first container in at {first:.1f} s" if first is not None else "")
            + "; CPU seconds meanwhile: "
            + ", ".join(f"{name} {value:.1f}" for name, value in spent.items()),
            flush=True,
        )
        members.close()
        time.sleep(5)
        cpu_before = product.cpu("worker", "events")
        beat_before = product.cpu("beat")
        time.sleep(QUIET_SECONDS)
        quiet = (product.cpu("worker", "events") - cpu_before) / QUIET_SECONDS * 100
        beat = (product.cpu("beat") - beat_before) / QUIET_SECONDS * 100

        client = docker.DockerClient(base_url=settings.DOCKER_HOST, timeout=60)
        run_id = uuid.uuid4().hex[:8]
        ws = WebSocket(stack.url, stack.token)
        latencies: dict[str, list[float]] = {"fake": [], "real": []}
        try:
            time.sleep(1)
            for index in range(CHANGES):
                if index % 2 == 0:
                    engine = fleet.engines[(index * 7) % count]
                    changed = time.perf_counter()
                    ident = fleet.start_container(engine, f"fleet-{run_id}-{index}")
                    kind = "fake"
                else:
                    container = client.containers.run(
                        images.WORKLOAD_IMAGE,
                        images.IDLE_COMMAND,
                        name=f"topology-fleet-{run_id}-{index}",
                        labels={"topology.managed": "true", "topology.bench": run_id},
                        detach=True,
                        network_mode="none",
                    )
                    changed = time.perf_counter()
                    ident = container.id
                    kind = "real"
                arrived = ws.wait_for_node(f"container:{ident}")
                latencies[kind].append(max(arrived - changed, 0) * 1000)
                time.sleep(0.5)
        finally:
            ws.close()
            for found in client.containers.list(
                all=True, filters={"label": f"topology.bench={run_id}"}
            ):
                found.remove(force=True)
            client.close()
        both = latencies["fake"] + latencies["real"]
        return {
            "discovery": discovery,
            "quiet": quiet,
            "beat": beat,
            "p50": median(both),
            "p95": p95(both),
            "fake": median(latencies["fake"]),
            "real": median(latencies["real"]),
        }
    finally:
        product.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,30,100")
    parser.add_argument("--modes", default="poll,events")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    os.environ.setdefault("TOPOLOGY_LOG_LEVEL", "WARNING")
    with Stack() as stack:
        from django.contrib.auth import get_user_model

        from topology.engine import images

        get_user_model().objects.filter(username="bench").update(is_superuser=True)
        import docker
        from django.conf import settings

        images.build_offline_images(docker.DockerClient(base_url=settings.DOCKER_HOST))
        stack.start_server()
        fleet = FakeFleet(stack.folder)
        fleet.add(max(sizes), CONTAINERS)
        results: dict[tuple[int, str], dict[str, float]] = {}
        try:
            for count in sizes:
                for mode in modes:
                    results[count, mode] = run_once(stack, fleet, count, mode)
                    r = results[count, mode]
                    print(
                        f"  {count} engines, {mode}: discovery {r['discovery']:.1f} s, quiet "
                        f"{r['quiet']:.1f} %, delta p95 {r['p95']:.0f} ms",
                        flush=True,
                    )
        finally:
            fleet.close()
    print()
    print(
        f"{'engines':>7} {'mode':>6} {'discovery s':>11} {'quiet CPU %':>11} {'beat %':>6} "
        f"{'delta p50 ms':>12} {'p95 ms':>7} {'fake p50':>8} {'real p50':>8}"
    )
    for (count, mode), r in results.items():
        print(
            f"{count:>7} {mode:>6} {r['discovery']:>11.1f} {r['quiet']:>11.1f} {r['beat']:>6.1f} "
            f"{r['p50']:>12.0f} {r['p95']:>7.0f} {r['fake']:>8.0f} {r['real']:>8.0f}"
        )
    if len(modes) == 2:
        old, new = modes
        print(f"\nratios {old} / {new} (higher: {new} is better)")
        for count in sizes:
            a, b = results[count, old], results[count, new]
            print(
                f"{count:>7} engines: quiet CPU {a['quiet'] / max(b['quiet'], 0.01):.1f}x, "
                f"discovery {a['discovery'] / b['discovery']:.1f}x, "
                f"delta p95 {a['p95'] / max(b['p95'], 0.01):.1f}x"
            )
    last = results.get((100, modes[-1]))
    if last:
        print(
            f"goals at 100 engines ({modes[-1]}): quiet CPU < 10 % "
            f"{'met' if last['quiet'] < 10 else 'NOT met'}, discovery < 10 s "
            f"{'met' if last['discovery'] < 10 else 'NOT met'}, delta p95 < 300 ms "
            f"{'met' if last['p95'] < 300 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
