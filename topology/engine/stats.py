"""CPU and memory of running containers, one sample at a time (never the endless stream).

Through the API: ``GET /containers/<id>/stats?stream=false``, with ``one-shot=true`` where the
API has it (1.41 on) once we hold an earlier sample of the container's CPU counters; CPU is the
share of one core between our two samples (100 % is a core, as ``docker stats`` counts). The first
sample of a container is a plain ``stream=false`` call, where the engine waits for a second
reading of its own. A daemon's containers are sampled ``PARALLEL`` at a time (``sample_many``).
Through exec (nested daemons): one ``docker stats --no-stream`` inside the holding container
for every wanted container of that daemon.

Memory is the working set ``docker stats`` shows (usage less inactive file cache); the limit is
the effective one (the machine's memory when none is set), ``limit_set`` says whether one is.
Engine numbers are untrusted: anything that is not a sane number makes the sample unknown.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import docker.errors
from docker.utils import version_lt

from topology.engine.chains import Opener, cli_path
from topology.engine.connection import EngineError, as_engine_error
from topology.engine.reading import ApiReader, open_reader
from topology.engine.types import Route

MAX_BYTES = 2**62
MAX_CPUS = 4096
MEM_TOTAL_SECONDS = 300.0
LIMIT_TOLERANCE = 0.02  # a CLI's rounded "7.7GiB" is the machine's memory, not a limit
MARK = "----topology-stats----"
# The engine answers a stats call at its next collection tick (about a second), whatever the
# number of calls waiting: calls made at once share a tick, so a round of a daemon's wanted
# containers takes about a second per PARALLEL of them.
PARALLEL = 50
_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class CpuCounters:
    """Cumulative CPU time of a container and of the whole machine, in nanoseconds."""

    container_ns: int
    system_ns: int
    online_cpus: int


@dataclass(frozen=True)
class StatsSample:
    container_id: str
    at: datetime
    cpu_percent: float | None
    mem_bytes: int
    mem_limit: int | None
    limit_set: bool
    counters: CpuCounters | None = None

    def to_message(self) -> dict[str, Any]:
        """The contract's sample (``stats`` messages), plus whether a limit is set."""
        return {
            "cpu_percent": self.cpu_percent,
            "mem_bytes": self.mem_bytes,
            "mem_limit": self.mem_limit,
            "limit_set": self.limit_set,
        }


def _count(value: Any, limit: int = MAX_BYTES) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit:
        return value
    return None


def cpu_percent(now: CpuCounters, before: CpuCounters) -> float | None:
    """The container's CPU between two readings, 100 for one core busy; None if unknown."""
    container = now.container_ns - before.container_ns
    system = now.system_ns - before.system_ns
    if container < 0 or system <= 0:
        return None
    percent = container / system * now.online_cpus * 100.0
    return round(min(percent, 100.0 * MAX_CPUS), 2)


def _counters(cpu: Any) -> CpuCounters | None:
    if not isinstance(cpu, dict):
        return None
    usage = cpu.get("cpu_usage") if isinstance(cpu.get("cpu_usage"), dict) else {}
    total = _count(usage.get("total_usage"))
    system = _count(cpu.get("system_cpu_usage"))
    online = _count(cpu.get("online_cpus"), MAX_CPUS)
    if not online:
        per_cpu = usage.get("percpu_usage")
        listed = isinstance(per_cpu, list) and 0 < len(per_cpu) <= MAX_CPUS
        online = len(per_cpu) if listed else None
    if total is None or system is None or not online:
        return None
    return CpuCounters(total, system, online)


def working_set(memory: Any) -> int | None:
    """Memory use as ``docker stats`` shows it: usage less the inactive file cache."""
    if not isinstance(memory, dict):
        return None
    usage = _count(memory.get("usage"))
    if usage is None:
        return None
    details = memory.get("stats") if isinstance(memory.get("stats"), dict) else {}
    for key in ("total_inactive_file", "inactive_file"):  # cgroup v1, v2
        inactive = _count(details.get(key))
        if inactive is not None and inactive < usage:
            return usage - inactive
    return usage


def limit_is_set(limit: int | None, mem_total: int | None) -> bool:
    if not limit:
        return False
    if not mem_total:
        return limit < MAX_BYTES // 2
    return limit < mem_total * (1 - LIMIT_TOLERANCE)


def sample_from_api(
    container_id: str,
    data: Any,
    previous: CpuCounters | None,
    mem_total: int | None,
    at: datetime | None = None,
) -> StatsSample | None:
    """A sample from one stats answer; None when the container is not running (the engine
    answers zeros then) or the answer makes no sense."""
    if not isinstance(data, dict):
        return None
    memory = data.get("memory_stats")
    mem = working_set(memory)
    now = _counters(data.get("cpu_stats"))
    if mem is None or now is None:
        return None
    before = previous or _counters(data.get("precpu_stats"))
    limit = _count(memory.get("limit")) or None
    return StatsSample(
        container_id=container_id,
        at=at or datetime.now(UTC),
        cpu_percent=cpu_percent(now, before) if before else None,
        mem_bytes=mem,
        mem_limit=limit,
        limit_set=limit_is_set(limit, mem_total),
        counters=now,
    )


_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?i?[bB])\s*$")


def parse_size(text: Any) -> int | None:
    """``"1.5MiB"`` (as the docker CLI prints sizes) in bytes."""
    match = _SIZE.match(text) if isinstance(text, str) else None
    if not match:
        return None
    value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    return value if value <= MAX_BYTES else None


def parse_percent(text: Any) -> float | None:
    match = re.match(r"^\s*(\d+(?:\.\d+)?)%\s*$", text) if isinstance(text, str) else None
    if not match:
        return None
    return round(min(float(match.group(1)), 100.0 * MAX_CPUS), 2)


def sample_from_cli(record: Any, mem_total: int | None, at: datetime) -> StatsSample | None:
    """A sample from one line of ``docker stats --no-stream --format '{{json .}}'``."""
    if not isinstance(record, dict):
        return None
    container_id = record.get("Container")
    if not isinstance(container_id, str) or not _HEX.match(container_id):
        return None
    usage, _, limit_text = str(record.get("MemUsage") or "").partition("/")
    mem = parse_size(usage)
    if mem is None:
        return None
    limit = parse_size(limit_text)
    return StatsSample(
        container_id=container_id,
        at=at,
        cpu_percent=parse_percent(record.get("CPUPerc")),
        mem_bytes=mem,
        mem_limit=limit,
        limit_set=limit_is_set(limit, mem_total),
    )


class StatsReader:
    """Samples the containers of one daemon (``sample``); keeps a client open between rounds.

    Safe to call from several threads at once for a daemon reached by its API (one call per
    container); a daemon read by exec is sampled in one call for all its wanted containers.
    """

    def __init__(
        self,
        route: Route,
        opener: Opener = open_reader,
    ) -> None:
        self.route = route
        self.opener = opener
        self.path = cli_path(route)
        self.reader: Any = None
        self.mem_total: int | None = None
        self.mem_total_at = 0.0
        self.lock = threading.Lock()
        self.pool: ThreadPoolExecutor | None = None

    @property
    def batched(self) -> bool:
        """Whether one call samples every container (a daemon read by exec)."""
        return self.path is not None

    def _reader(self) -> Any:
        with self.lock:
            if self.reader is None:
                route = self.route if self.path is None else self.path.api_route
                self.reader = self.opener(route)
            return self.reader

    def _memory_total(self) -> int | None:
        if self.mem_total is None or time.monotonic() - self.mem_total_at > MEM_TOTAL_SECONDS:
            reader = self._reader()
            if isinstance(reader, ApiReader) and self.path is None:
                total = reader.client.api.info().get("MemTotal")
                self.mem_total = _count(total) or None
            self.mem_total_at = time.monotonic()
        return self.mem_total

    def sample_one(self, container_id: str, previous: CpuCounters | None) -> StatsSample | None:
        """One container of a daemon reached by its API; None when it is gone or stopped."""
        reader = self._reader()
        if not isinstance(reader, ApiReader):
            raise EngineError(f"{self.route.url}: no API to sample through")
        api = reader.client.api
        one_shot = previous is not None and not version_lt(api.api_version, "1.41")
        try:
            mem_total = self._memory_total()
            if one_shot:
                data = api.stats(container_id, stream=False, one_shot=True)
            else:
                data = api.stats(container_id, stream=False)
        except (docker.errors.APIError, ValueError):
            # The engine answered, about this container only (gone, being removed, or an answer
            # that is not JSON): no sample of it; the daemon's other containers carry on.
            return None
        except Exception as error:
            self.close()
            raise as_engine_error(self.route.url, error) from error
        return sample_from_api(container_id, data, previous if one_shot else None, mem_total)

    def sample_many(
        self, container_ids: list[str], previous: dict[str, CpuCounters]
    ) -> list[StatsSample]:
        """Containers of a daemon reached by its API, ``PARALLEL`` calls at a time (the engine
        answers calls made together at one collection tick). Any engine failure fails the
        round."""
        if len(container_ids) <= 1:
            found = [self.sample_one(c, previous.get(c)) for c in container_ids]
            return [sample for sample in found if sample is not None]
        with self.lock:
            if self.pool is None:
                self.pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix="stats-call")
            pool = self.pool
        futures = [pool.submit(self.sample_one, c, previous.get(c)) for c in container_ids]
        samples = []
        for future in futures:
            sample = future.result()
            if sample is not None:
                samples.append(sample)
        return samples

    def sample_batch(self, container_ids: list[str]) -> dict[str, StatsSample]:
        """Every wanted container of a daemon read by exec, in one ``docker stats``."""
        assert self.path is not None
        ids = [c for c in container_ids if _HEX.match(c)]
        if not ids:
            return {}
        filters = " ".join(f"--filter id={shlex.quote(c)}" for c in ids)
        script = (
            f"ids=$(docker ps -q --no-trunc {filters}); "
            "if [ -n \"$ids\" ]; then docker stats --no-stream --format '{{json .}}' $ids; fi; "
            f"echo {MARK}; docker info --format '{{{{.MemTotal}}}}'"
        )
        reader = self._reader()
        command = [*self.path.command_prefix, "sh", "-c", script]
        try:
            output = reader.exec_in(self.path.container_id, command)
        except EngineError:
            self.close()
            raise
        at = datetime.now(UTC)
        lines, _, total = output.partition(MARK)
        try:
            self.mem_total = int(total.strip())
        except ValueError:
            self.mem_total = None
        samples = {}
        for line in lines.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            sample = sample_from_cli(record, self.mem_total, at)
            if sample is not None and sample.container_id in ids:
                samples[sample.container_id] = sample
        return samples

    def close(self) -> None:
        """Close the client (the next call opens another); ``shutdown`` ends the threads too."""
        with self.lock:
            reader, self.reader = self.reader, None
        if reader is not None:
            reader.close()

    def shutdown(self) -> None:
        self.close()
        with self.lock:
            pool, self.pool = self.pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
