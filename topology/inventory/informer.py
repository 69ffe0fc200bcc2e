"""The events watcher (``TOPOLOGY_INVENTORY_MODE=events``): list, watch, resync.

One process follows many daemons on one asyncio loop (no thread per daemon):

- Each daemon it owns gets its ``/events`` stream opened; once the daemon accepts it, a full
  read (list, inspect what is new or changed, reconcile) follows, so nothing said before the
  stream opened is missed. Events then drive targeted reads against what the last read found:
  the evented containers are listed by ID and inspected (a network's connect or disconnect
  names its container too), an evented network is listed by ID, a volume or image event has
  that one listing read again; nothing else is asked, not even ``/info``. A container that
  started moments ago is read again each second for a few seconds (a DinD's dockerd comes up
  after its container does).
- A full read also runs every ``TOPOLOGY_RESYNC_SECONDS`` (jittered by up to a fifth, so
  daemons do not align) to find what events missed. A resync whose listing digest matches the
  last one reconciled touches the database not at all.
- A daemon without a usable stream (ssh and exec routes, an engine that answers ``/events``
  with an error, a stream that keeps failing) is polled every ``TOPOLOGY_POLL_SECONDS``; its
  daemon node says which (``watch``: ``events`` or ``polling``).
- Reads wait their turn in the order they fell due (``next due``, not a queue of expiring
  tasks): under overload every daemon's interval stretches alike.
- Several watchers split the daemons: each says it is alive in Redis every few seconds, and a
  daemon belongs to the live watcher with the highest rendezvous hash of (watcher, daemon);
  a lease in Redis (``SET NX`` with expiry) makes sure two watchers never follow one daemon.
  A dead watcher's leases lapse and its daemons move to the others. Without Redis a watcher
  keeps what it has (and, alone, takes everything).

The database is reached from one thread (``self.db``): Django's ORM is blocking, and writes
are one at a time anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from topology import background
from topology.engine.errors import EngineError
from topology.engine.reading import engine_time
from topology.engine.streams import AsyncEngine, EngineEvent, StreamUnusable, supports
from topology.engine.types import ContainerInfo, DaemonSnapshot
from topology.inventory import locks, polling, services
from topology.locks import lock_name, redis_client

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEBOUNCE_SECONDS = 0.02
REFRESH_SECONDS = 5.0
HEARTBEAT_SECONDS = 2.0
MEMBER_TTL_SECONDS = 10.0
LEASE_SECONDS = 15
STREAM_RETRY_SECONDS = (0.5, 30.0)
UNUSABLE_RETRY_SECONDS = 60.0
READ_CONCURRENCY = 4
RETRY_SECONDS = 0.5
FAILED_RETRY_SECONDS = 5.0
FOUND_GRACE_SECONDS = 60.0
UNFOLLOW_WAIT_SECONDS = 2.0
RENEW = """
local kept = {}
for i, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[1] then
    redis.call('expire', key, ARGV[2]); kept[i] = 1
  else kept[i] = 0 end
end
return kept
"""
RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[1] then redis.call('del', key) end
end
"""
QUIET_ACTIONS = ("exec_", "top", "attach", "resize", "copy", "archive-path", "export", "commit")
QUIET_OBJECT_ACTIONS = ("mount", "unmount", "push", "save", "prune")
YOUNG_SECONDS = 5.0  # as polling.RECENT_START: a DinD's dockerd may not run yet
YOUNG_RECHECK_SECONDS = 1.0


def owner_of(key: str, members: list[str]) -> str | None:
    """The member a daemon belongs to: highest rendezvous hash, stable as members come and go
    (only the daemons of a member that went, or of the one that came, move)."""

    def weight(member: str) -> bytes:
        return hashlib.blake2b(f"{member}\0{key}".encode(), digest_size=8).digest()

    return max(members, key=weight) if members else None


def listing_digest(snapshot_info: Any, listed: list[ContainerInfo]) -> str:
    text = repr((snapshot_info, sorted(listed, key=lambda c: c.id)))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class _Unexpected(Exception):
    """A targeted read found something it cannot place: the daemon is read whole instead."""


def _age(started_at: str | None, now: float) -> float:
    """Seconds since a container's ``StartedAt``; unknown is old."""
    started = engine_time(started_at)
    return now - started.timestamp() if started is not None else float("inf")


@dataclass
class Followed:
    """What the watcher keeps of one daemon it owns."""

    target: polling.Target
    engine: AsyncEngine | None = None
    engine_id: str | None = None
    streaming: bool = False  # the stream is open now
    watch: str = "polling"  # what the daemon node says (written when it differs)
    written_watch: tuple[str, int] | None = None
    heard_at: float | None = None  # the first event not read yet came then
    recheck: asyncio.TimerHandle | None = None  # young containers are read again then
    behind: float = 0.0  # how late the last read started
    digest: str | None = None
    pending: set[str] = field(default_factory=set)  # container IDs to inspect
    full: bool = True  # the next read is a full one (the stream opened, a resync)
    touched: set[str] = field(default_factory=set)  # "volume", "image": list that again
    networks: set[str] = field(default_factory=set)  # network IDs to list again
    last: DaemonSnapshot | None = None  # what the last read reconciled
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    next_due: float = 0.0
    read_at: float | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    retry: bool = False  # the last read did not go through: again in RETRY_SECONDS
    last_error: str | None = None  # what the daemon's last failed read said
    failing: bool = False  # the last read raised (the database away, say)
    full_reads: int = 0  # counted for tests and benchmarks
    event_reads: int = 0
    fallbacks: int = 0  # targeted reads that turned into full ones
    young_reads: int = 0  # targeted reads asked for because a container had just started
    digest_skips: int = 0

    @property
    def key(self) -> str:
        return self.target.route.key


class Informer:
    """One watcher process (``run``); ``running_in_thread`` for tests and benchmarks."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or f"watcher-{uuid.uuid4().hex[:12]}"
        self.followed: dict[str, Followed] = {}
        self.targets: dict[str, polling.Target] = {}
        self.members: list[str] = [self.name]
        self.db = ThreadPoolExecutor(1, thread_name_prefix="informer-db")
        self.db_calls = 0  # submitted to ``db`` and not yet done
        self.db_calls_lock = threading.Lock()
        self.blocking = ThreadPoolExecutor(2, thread_name_prefix="informer-read")
        self.redis = ThreadPoolExecutor(1, thread_name_prefix="informer-redis")
        self.reads: asyncio.Semaphore | None = None
        self.stopping: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.reads_done = 0
        self.skipped_by_digest = 0
        self.redis_ok = True
        self.closed = False
        self.leases: set[str] = set()  # daemon keys whose lease we hold
        self.found: dict[str, float] = {}  # nested daemons found by reads, and when
        self.unsaid: dict[str, Followed] = {}  # daemons whose watch or behind changed
        self.writing: asyncio.Task | None = None  # the write of what ``unsaid`` holds

    # -- plumbing ------------------------------------------------------------------------
    async def _in_db(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``call`` in the database thread. Its connection lasts a burst: kept while more
        calls wait behind this one (a discovery: a hundred reconciles back to back, where
        opening and closing each time was a tenth of the work), closed when none does, and
        after any error."""

        def run() -> T:
            try:
                return call(*args, **kwargs)
            except BaseException:
                connection.close()
                raise
            finally:
                if self._db_call_done():
                    connection.close()

        def dropped(future: Future[T]) -> None:
            if future.cancelled():  # never ran: counted out here
                self._db_call_done()

        with self.db_calls_lock:
            self.db_calls += 1
        submitted = self.db.submit(run)
        submitted.add_done_callback(dropped)
        return await asyncio.wrap_future(submitted)

    def _db_call_done(self) -> bool:
        """Count one database call out; True when none is left waiting."""
        with self.db_calls_lock:
            self.db_calls -= 1
            return self.db_calls == 0

    async def _in_redis(self, call: Callable[[], T]) -> T:
        """Redis calls wait for no database work (a heartbeat is never late for a reconcile)."""
        assert self.loop is not None
        return await self.loop.run_in_executor(self.redis, call)

    # -- the share of this watcher ---------------------------------------------------------
    def _members_key(self) -> str:
        return lock_name("watchers", "members")

    def _heartbeat(self, wanted: list[str], dropped: list[str]) -> tuple[list[str], set[str]]:
        """Say we are alive, learn who else is, and hold the leases of what is ours: returns
        the live members and the daemon keys whose lease we hold. A few round trips whatever
        the number of daemons (leases held are renewed in one script)."""
        client = redis_client()
        now = time.time()
        members_key = self._members_key()
        pipe = client.pipeline(transaction=False)
        pipe.zadd(members_key, {self.name: now})
        pipe.zremrangebyscore(members_key, 0, now - MEMBER_TTL_SECONDS)
        pipe.expire(members_key, int(MEMBER_TTL_SECONDS * 6))
        pipe.zrange(members_key, 0, -1)
        members = sorted(m.decode() for m in pipe.execute()[-1])
        lease = {key: lock_name("watch", key) for key in {*wanted, *dropped}}
        if dropped:
            client.eval(RELEASE, len(dropped), *(lease[k] for k in dropped), self.name)
            self.leases -= set(dropped)
        held = [k for k in wanted if k in self.leases]
        if held:
            kept = client.eval(
                RENEW, len(held), *(lease[k] for k in held), self.name, LEASE_SECONDS
            )
            self.leases = {k for k, ok in zip(held, kept, strict=True) if ok}
        new = [k for k in wanted if k not in self.leases]
        if new:
            pipe = client.pipeline(transaction=False)
            for key in new:
                pipe.set(lease[key], self.name, nx=True, ex=LEASE_SECONDS)
            for key, taken in zip(new, pipe.execute(), strict=True):
                if taken:
                    self.leases.add(key)
        return members, set(self.leases)

    def _leave(self) -> None:
        client = redis_client()
        with contextlib.suppress(redis.RedisError):
            client.zrem(self._members_key(), self.name)
            for key in list(self.followed):
                lease = lock_name("watch", key)
                if client.get(lease) == self.name.encode():
                    client.delete(lease)

    async def _share(self) -> None:
        """Which of the known daemons are ours; follow those, let the rest go (before their
        leases are given back, so that two watchers never follow one daemon)."""
        desired = [k for k in self.targets if owner_of(k, self.members) == self.name]
        dropped = [k for k in self.followed if k not in desired]
        for key in dropped:
            await self._unfollow(key)
        try:
            members, held = await self._in_redis(lambda: self._heartbeat(desired, dropped))
        except redis.RedisError as error:
            if self.redis_ok:
                logger.warning(
                    "%s: Redis is gone (%s); following the daemons it has", self.name, error
                )
            self.redis_ok = False
            mine = set(self.followed) if len(self.members) > 1 else set(desired)
        else:
            if not self.redis_ok:
                logger.info("%s: Redis is back; sharing daemons with other watchers", self.name)
            self.redis_ok = True
            self.members = members if self.name in members else sorted([*members, self.name])
            mine = held
        for key in list(self.followed):
            if key not in mine or key not in self.targets:
                await self._unfollow(key)
        for key in mine:
            if key not in self.followed and key in self.targets:
                self._follow(self.targets[key])

    def _follow(self, target: polling.Target) -> None:
        state = Followed(target)
        if supports(target.route):
            state.engine = AsyncEngine(
                target.route,
                connect_timeout=settings.TOPOLOGY_DOCKER_CONNECT_TIMEOUT,
                read_timeout=settings.TOPOLOGY_DOCKER_READ_TIMEOUT,
                tls_dir=settings.RUN_DIR / "tls",
            )
        self.followed[state.key] = state
        if state.engine is None:
            state.wake.set()  # polled from the start
        else:  # the first read follows the stream's opening (or its failure)
            state.next_due = float("inf")
        state.tasks.append(asyncio.create_task(self._reading(state), name=f"read {state.key}"))
        if state.engine is not None:
            state.tasks.append(
                asyncio.create_task(self._streaming(state), name=f"events {state.key}")
            )
        logger.info("%s follows %s", self.name, state.key)

    async def _unfollow(self, key: str) -> None:
        state = self.followed.pop(key, None)
        if state is None:
            return
        if state.recheck is not None:
            state.recheck.cancel()
        pending = set(state.tasks)
        while pending:  # a cancellation swallowed somewhere below is asked for again
            for task in pending:
                task.cancel()
            _done, pending = await asyncio.wait(pending, timeout=UNFOLLOW_WAIT_SECONDS)
        if state.engine is not None:
            await state.engine.close()

    # -- the event stream ----------------------------------------------------------------
    async def _streaming(self, state: Followed) -> None:
        assert state.engine is not None
        failures = 0
        while True:
            try:

                def opened() -> None:
                    state.streaming = True
                    state.full = True
                    state.wake.set()

                async for event in state.engine.events(opened=opened):
                    failures = 0
                    self._heard(state, event)
                error: str = "the events stream ended"
                wait = STREAM_RETRY_SECONDS[0]
            except StreamUnusable as unusable:
                error, wait = str(unusable), UNUSABLE_RETRY_SECONDS
                failures += 1
            except EngineError as broken:
                failures += 1
                error = str(broken)
                wait = min(STREAM_RETRY_SECONDS[0] * 2**failures, STREAM_RETRY_SECONDS[1])
            if state.streaming or failures == 1:
                logger.info("events of %s: %s; polling it meanwhile", state.key, error)
            self._stream_down(state)
            await asyncio.sleep(wait * random.uniform(0.8, 1.2))

    @staticmethod
    def _heard(state: Followed, event: EngineEvent) -> None:
        """What an event asks to be read: a container event that container; a network event
        that network (and the container it connects or disconnects); a volume or image event
        that listing. Events that change nothing drawn ask for nothing."""
        if event.kind == "container":
            if event.action.startswith(QUIET_ACTIONS):
                return
            state.pending.add(event.actor_id)
        elif event.kind == "network":
            state.networks.add(event.actor_id)
            if event.container_id:
                state.pending.add(event.container_id)
        elif event.kind in ("volume", "image"):
            if event.action.startswith(QUIET_OBJECT_ACTIONS):
                return
            state.touched.add(event.kind)
        else:
            return
        if state.heard_at is None:
            state.heard_at = time.monotonic()
        state.wake.set()

    # -- reading -------------------------------------------------------------------------
    def _interval(self, state: Followed) -> float:
        if state.streaming:
            return settings.TOPOLOGY_RESYNC_SECONDS * random.uniform(0.8, 1.2)
        return settings.TOPOLOGY_POLL_SECONDS

    async def _reading(self, state: Followed) -> None:
        assert self.reads is not None
        while True:
            wait = max(state.next_due - time.monotonic(), 0)
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
            # that comes as the wake does, and a daemon let go would then never stop reading.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait if wait != float("inf") else None):
                    await state.wake.wait()
            evented = bool(state.pending or state.touched or state.networks)
            if state.wake.is_set() and evented and not state.full:
                await asyncio.sleep(DEBOUNCE_SECONDS)  # gather a burst into one read
            state.wake.clear()
            due = time.monotonic() >= state.next_due
            if not (due or state.full or state.pending or state.touched or state.networks):
                continue
            full = state.full or due
            state.retry = False
            wanted = min(state.next_due, state.heard_at or float("inf"))
            async with self.reads:
                state.behind = max(time.monotonic() - wanted, 0.0) if wanted < float("inf") else 0
                state.heard_at = None
                try:
                    await self._read(state, full)
                    await self._say_watch(state)
                except asyncio.CancelledError:
                    raise
                except Exception:  # one daemon's trouble (or the database's) stops nothing
                    if not state.failing:  # said once until a read goes through
                        logger.exception("reading %s failed; trying again", state.key)
                    state.failing = True
                    state.digest = None
                    state.full = True
                    wait = FAILED_RETRY_SECONDS
                else:
                    state.failing = False
                    wait = RETRY_SECONDS if state.retry else self._interval(state)
            state.next_due = time.monotonic() + wait

    def _stream_down(self, state: Followed) -> None:
        """Polled from now until the stream is back."""
        state.streaming = False
        state.next_due = min(state.next_due, time.monotonic())
        state.wake.set()

    async def _say_watch(self, state: Followed) -> None:
        """Note how the daemon is followed; what changed is written at the next beat, all
        daemons in one transaction (``_write_watches``)."""
        state.watch = "events" if state.streaming else "polling"
        said = (state.watch, services.behind_step(state.behind))
        if state.engine_id and state.written_watch != said:
            self.unsaid[state.key] = state

    async def _write_watches(self) -> None:
        unsaid, self.unsaid = self.unsaid, {}
        said = {
            s.engine_id: (s.watch, s.behind) for s in unsaid.values() if s.engine_id is not None
        }
        if not said:
            return
        try:
            await self._in_db(services.set_watches, said)
        except Exception:
            self.unsaid = {**unsaid, **self.unsaid}  # said again at the next beat
            logger.exception("%s: saying how %d daemons are followed failed", self.name, len(said))
            return
        for state in unsaid.values():
            state.written_watch = (state.watch, services.behind_step(state.behind))

    async def _read(self, state: Followed, full: bool) -> None:
        forced, state.pending = state.pending, set()
        touched, state.touched = state.touched, set()
        networks, state.networks = state.networks, set()
        state.full = False
        self.reads_done += 1
        if state.engine is None:  # ssh, exec: the blocking readers, in a small pool
            state.full_reads += 1
            assert self.loop is not None
            result = await self.loop.run_in_executor(self.blocking, self._poll_blocking, state)
            await self._found(result)
            return
        if not full and state.last is not None and state.streaming:
            state.event_reads += 1
            await self._read_evented(state, forced, touched, networks)
        else:
            state.full_reads += 1
            await self._read_whole(state, forced)
        self._recheck_young(state)

    async def _read_whole(self, state: Followed, forced: set[str]) -> None:
        """List everything, inspect what is new or changed, reconcile (unless the listing is
        the one last reconciled)."""
        engine = state.engine
        assert engine is not None
        try:
            info = await engine.info()
            listed = await engine.list_containers()
            networks = volumes = images = None
            if settings.TOPOLOGY_DISCOVER_NETWORKS:
                networks = tuple(await engine.list_networks())
            if settings.TOPOLOGY_DISCOVER_VOLUMES:
                volumes = tuple(await engine.list_volumes())
            if settings.TOPOLOGY_DISCOVER_IMAGES:
                images = tuple(await engine.list_images())
        except EngineError as error:
            state.digest = None
            state.last = None
            if state.last_error != str(error):  # said once, not rewritten every poll
                await self._in_db(
                    services.mark_unreachable, state.target.route, state.target.place, str(error)
                )
                state.last_error = str(error)
            return
        state.last_error = None
        digest = listing_digest((info, networks, volumes, images), listed)
        if not forced and digest == state.digest and state.last is not None:
            self.skipped_by_digest += 1
            state.digest_skips += 1
            state.read_at = time.time()
            return
        known = await self._in_db(services.known_containers, info.engine_id, polling.RECENT_START)
        stale = polling.needs_inspect(listed, known)
        ids = {c.id for c in stale}
        stale += [c for c in listed if c.id in forced and c.id not in ids]
        details = await asyncio.gather(
            *(engine.inspect(c.id) for c in stale), return_exceptions=True
        )
        fresh: dict[str, ContainerInfo] = {}
        for container, detail in zip(stale, details, strict=True):
            if isinstance(detail, BaseException):
                if isinstance(detail, EngineError):
                    fresh[container.id] = container  # keep what the listing said
                    continue
                raise detail
            if detail is not None:
                fresh[container.id] = polling.completed_by(container, detail)
        completed = polling.merge_inspected(listed, stale, fresh, known)
        snapshot = DaemonSnapshot(
            state.target.route, info, tuple(completed), networks, volumes, images
        )
        result = await self._in_db(self._apply, state.target, snapshot)
        if result.skipped:  # another process holds the daemon's poll lock: soon again
            state.digest = None
            state.pending |= forced
            state.full = state.retry = True
            return
        state.engine_id = result.engine_id
        state.read_at = time.time()
        recent = timezone.now() - polling.RECENT_START
        settled = not any(c.created and c.created > recent for c in listed)
        state.digest = digest if settled and result.error is None else None
        state.last = snapshot if result.error is None else None
        await self._found(result)

    async def _read_evented(
        self, state: Followed, forced: set[str], touched: set[str], networks: set[str]
    ) -> None:
        """Read only what the events named, on top of what the last read found, and reconcile
        that. Anything unexpected (a container listed under another ID, an engine error) makes
        it a full read instead."""
        engine, last = state.engine, state.last
        assert engine is not None and last is not None
        try:
            containers = {c.id: c for c in last.containers}
            if forced:
                listed = {c.id: c for c in await engine.list_containers(forced) if c.id in forced}
                for missing in forced - listed.keys():  # gone, or named another way
                    if await engine.inspect(missing) is not None:
                        raise _Unexpected(f"container {missing[:12]} is not listed by its ID")
                    containers.pop(missing, None)
                details = await asyncio.gather(*(engine.inspect(i) for i in listed))
                for container, detail in zip(listed.values(), details, strict=True):
                    if detail is None:  # removed between list and inspect
                        containers.pop(container.id, None)
                    else:
                        containers[container.id] = polling.completed_by(container, detail)
            nets = last.networks
            if networks and nets is not None:
                found = {n.id: n for n in await engine.list_networks(networks) if n.id in networks}
                kept = [n for n in nets if n.id not in networks]
                nets = (*kept, *(found[i] for i in sorted(found)))
            volumes, images = last.volumes, last.images
            if "volume" in touched and volumes is not None:
                volumes = tuple(await engine.list_volumes())
            if "image" in touched and images is not None:
                images = tuple(await engine.list_images())
        except (EngineError, _Unexpected) as error:
            logger.debug("a targeted read of %s: %s; reading it whole", state.key, error)
            state.fallbacks += 1
            state.pending |= forced
            state.full = state.retry = True
            return
        snapshot = DaemonSnapshot(
            last.route, last.info, tuple(containers.values()), nets, volumes, images
        )
        result = await self._in_db(self._apply, state.target, snapshot)
        state.digest = None  # the next resync reconciles what it lists, once
        if result.skipped or result.error is not None:
            state.pending |= forced
            state.full = state.retry = True
            return
        state.last = snapshot
        state.read_at = time.time()
        await self._found(result)

    def _recheck_young(self, state: Followed) -> None:
        """A container started moments ago is read again in a second: its dockerd may come up
        only now (no event says so)."""
        last = state.last
        if last is None or not state.streaming:
            return
        now = timezone.now().timestamp()
        young = {
            c.id
            for c in last.containers
            if c.state == "running"
            and not c.runs_dockerd
            and _age(c.started_at, now) < YOUNG_SECONDS
        }
        if not young or self.loop is None or state.recheck is not None:
            return

        def again() -> None:
            state.recheck = None
            state.young_reads += 1
            state.pending |= young
            state.wake.set()

        state.recheck = self.loop.call_later(YOUNG_RECHECK_SECONDS, again)

    @staticmethod
    def _apply(target: polling.Target, snapshot: DaemonSnapshot) -> polling.PollResult:
        result = polling.PollResult(target)
        with locks.poll_lock(target.route.key, required=False) as held:
            if not held:
                result.skipped = True
                return result
            result.changes = polling.apply_snapshot(target, snapshot, result)
        return result

    @staticmethod
    def _poll_blocking(state: Followed) -> polling.PollResult:
        close_old_connections()
        try:
            result = polling.poll_target(state.target, lock_required=False)
        finally:
            connection.close()
        state.engine_id = result.engine_id or state.engine_id
        return result

    async def _found(self, result: polling.PollResult) -> None:
        """Nested daemons found by a read: known at once (followed if ours)."""
        fresh = [t for t in result.nested if t.route.key not in self.targets]
        for nested in fresh:
            self.targets[nested.route.key] = nested
            self.found[nested.route.key] = time.monotonic()
        if fresh:
            for state in self.followed.values():
                state.digest = None  # a new daemon may be a socket some container mounts
            await self._share()

    # -- the whole ------------------------------------------------------------------------
    def _known_targets(self) -> list[polling.Target]:
        return polling.root_targets() + polling.known_nested_targets()

    async def _refresh(self) -> None:
        targets = await self._in_db(self._known_targets)
        wanted = {t.route.key: t for t in targets}
        # A nested daemon found by a read is kept a while before the database has it.
        now = time.monotonic()
        self.found = {k: at for k, at in self.found.items() if now - at < FOUND_GRACE_SECONDS}
        for key in self.found:
            if key not in wanted and key in self.targets:
                wanted[key] = self.targets[key]
        if set(wanted) != set(self.targets):
            for state in self.followed.values():
                state.digest = None
        self.targets = wanted
        await self._share()

    async def main(self, until: float | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self.reads = asyncio.Semaphore(READ_CONCURRENCY)
        self.stopping = asyncio.Event()
        next_refresh = next_prune = 0.0
        try:
            while not self.closed and (until is None or time.monotonic() < until):
                now = time.monotonic()
                try:
                    if now >= next_refresh:
                        await self._refresh()
                        next_refresh = now + REFRESH_SECONDS
                    else:
                        await self._share()
                    if self.unsaid and (self.writing is None or self.writing.done()):
                        # Beside the beat, not in it: a heartbeat never waits for the database.
                        self.writing = asyncio.create_task(self._write_watches())
                    if now >= next_prune:
                        await self._in_db(services.prune_stale)
                        next_prune = now + settings.TOPOLOGY_RESYNC_SECONDS
                except Exception:  # the database away: try again at the next beat
                    logger.exception("%s: refreshing the daemons failed", self.name)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(HEARTBEAT_SECONDS):
                        await self.stopping.wait()
        finally:
            if self.writing is not None:
                await asyncio.gather(self.writing, return_exceptions=True)
            for key in list(self.followed):
                await self._unfollow(key)
            await self._in_redis(self._leave)
            await self._in_db(lambda: connection.close())

    def run(self, until: float | None = None) -> None:
        asyncio.run(self.main(until))

    def close(self) -> None:
        self.closed = True
        if self.loop is not None and self.stopping is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.stopping.set)

    @contextlib.contextmanager
    def running_in_thread(self) -> Any:
        """Run in a background thread for the ``with`` block (tests, benchmarks), then stop."""
        try:
            with background.running_in_thread(self.run, self.close, self.name):
                yield self
        finally:
            for pool in (self.db, self.blocking, self.redis):
                pool.shutdown(wait=True)
