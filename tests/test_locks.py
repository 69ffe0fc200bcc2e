"""Redis locks on the real Redis: one holder at a time, per key and database; a lock that is not
required lets the work go on when Redis is down."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
import redis
from django.db import connection
from django.test import override_settings

from tests.conftest import database_url_of_the_test_database
from topology import locks
from topology.inventory.locks import poll_lock, take_dirty


def test_one_holder_at_a_time_per_key() -> None:
    key = uuid.uuid4().hex
    with locks.held("test", key, seconds=5) as first:
        with locks.held("test", key, seconds=5) as second:
            assert (first, second) == (True, False)
        with locks.held("test", f"{key}-other", seconds=5) as other:
            assert other
        with locks.held("other-kind", key, seconds=5) as other_kind:
            assert other_kind
    with locks.held("test", key, seconds=5) as again:
        assert again  # let go when the block ended


def test_two_installations_on_one_redis_do_not_share_locks(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    here = locks.lock_name("poll", "k")
    assert here.startswith("topology:poll:") and here != locks.lock_name("poll", "k2")
    monkeypatch.setitem(connection.settings_dict, "NAME", "another-installation")
    assert locks.lock_name("poll", "k") != here


def test_a_poll_that_finds_the_lock_taken_asks_the_holder_to_poll_again() -> None:
    key = uuid.uuid4().hex
    with poll_lock(key) as held:
        assert held
        with poll_lock(key) as second:
            assert not second
        assert take_dirty(key)
        assert not take_dirty(key)  # taken once


def test_without_redis_a_lock_that_is_not_required_lets_the_work_go_on(private_redis) -> None:
    url, process = private_redis
    process.kill()
    process.wait()
    with override_settings(REDIS_URL=url):
        with locks.held("test", "key", seconds=5, required=False) as held:
            assert held
        with pytest.raises(redis.RedisError), locks.held("test", "key", seconds=5):
            pass
        assert take_dirty("key") is False


def test_a_renewed_lock_outlives_its_seconds_and_a_dead_holder_frees_it_soon() -> None:
    """A long launch keeps a 0.6 s lock renewed; killed, its holder keeps it 0.6 s at most."""
    with locks.held("test-renewed", "k", seconds=0.6, renewed=True) as mine:
        assert mine
        time.sleep(1.5)
        with locks.held("test-renewed", "k", seconds=0.6) as other:
            assert not other
    with locks.held("test-renewed", "k", seconds=0.6) as after:
        assert after
    script = (
        "import os, time, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'topology.settings';"
        "django.setup(); from topology import locks;"
        "cm = locks.held('test-renewed', 'dead', seconds=0.6, renewed=True); cm.__enter__();"
        "print('held', flush=True); time.sleep(60)"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_the_test_database(connection.settings_dict),
    }
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        time.sleep(1.2)  # renewed meanwhile
        with locks.held("test-renewed", "dead", seconds=5) as taken:
            assert not taken
        holder.kill()
        holder.wait()
        time.sleep(0.8)
        with locks.held("test-renewed", "dead", seconds=5) as taken:
            assert taken
    finally:
        holder.kill()
