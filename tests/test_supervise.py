"""The supervisor each ``make run`` process runs under: a process that dies is started again,
one that is told to stop (or whose settings are wrong) is not, and nothing outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from topology import supervise


def _start(tmp_path: Path, script: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "topology.supervise", "probe", "--", "sh", "-c", script],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _eventually(check, timeout: float = 20) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_a_process_that_dies_is_started_again_and_a_stop_is_passed_on(tmp_path: Path) -> None:
    """It dies twice (status 1, then SIGKILL), is started a third time, and stays; SIGTERM
    reaches it once, and the supervisor exits 0."""
    script = (
        "n=$(cat starts 2>/dev/null || echo 0); n=$((n+1)); echo $n > starts; echo $$ > pid;"
        "trap 'echo stopped >> signals; exit 0' TERM;"
        '[ "$n" = 1 ] && exit 1; while true; do sleep 0.1; done'
    )
    supervisor = _start(tmp_path, script)
    starts = tmp_path / "starts"
    try:
        assert _eventually(lambda: starts.exists() and starts.read_text().strip() == "2")
        time.sleep(0.3)
        os.kill(int((tmp_path / "pid").read_text()), signal.SIGKILL)
        assert _eventually(lambda: starts.read_text().strip() == "3", timeout=30)
        time.sleep(0.3)
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=20) == 0
    finally:
        supervisor.kill()
    assert (tmp_path / "signals").read_text() == "stopped\n"
    said = supervisor.stderr.read() if supervisor.stderr else ""
    assert "supervise probe: exited with status 1; starting it again in 1 s" in said
    assert "exited on signal 9; starting it again in 2 s" in said


def test_a_wrong_setting_stops_it_for_good(tmp_path: Path) -> None:
    supervisor = _start(tmp_path, "echo x >> starts; exit 2")
    assert supervisor.wait(timeout=20) == supervise.CONFIGURATION_ERROR
    assert (tmp_path / "starts").read_text() == "x\n"
    assert "(a setting is wrong): not started again" in (supervisor.stderr.read() or "")


def test_nothing_outlives_a_killed_supervisor(tmp_path: Path) -> None:
    supervisor = _start(tmp_path, "echo $$ > pid; while true; do sleep 0.1; done")
    pid_file = tmp_path / "pid"
    assert _eventually(pid_file.exists)
    time.sleep(0.2)
    child = int(pid_file.read_text())
    supervisor.kill()
    supervisor.wait()

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        state = Path(f"/proc/{child}/stat").read_text().split()[2]
        return state == "Z"

    assert _eventually(gone, timeout=10)


@pytest.mark.docker
def test_make_run_keeps_everything_under_topology_var_dir(tmp_path: Path) -> None:
    """``make run`` with ``TOPOLOGY_VAR_DIR`` set: every process comes up (the site answers, beat
    keeps its schedule there, the events watcher polls into that folder's database) and nothing
    is written to the checkout's own ``var/run``. Ctrl-C (SIGINT to the group) stops it all."""
    import socket
    import urllib.request

    root = Path(__file__).resolve().parents[1]
    var_dir = tmp_path / "elsewhere"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "TOPOLOGY_VAR_DIR": str(var_dir),
        "PORT": str(port),
        "DATABASE_URL": "",
        "TOPOLOGY_POLL_SECONDS": "1",
    }
    before = (
        {p.name for p in (root / "var" / "run").glob("*")} if (root / "var/run").exists() else set()
    )
    log = (tmp_path / "make-run.log").open("w")
    run = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    try:
        assert _eventually(healthy, timeout=240), (tmp_path / "make-run.log").read_text()[-3000:]
        assert _eventually(
            lambda: (
                (var_dir / "run" / "celerybeat-schedule").exists()
                or any((var_dir / "run").glob("celerybeat-schedule*"))
            ),
            timeout=120,
        ), (tmp_path / "make-run.log").read_text()[-3000:]
        assert (var_dir / "db.sqlite3").exists()
        assert run.poll() is None, (tmp_path / "make-run.log").read_text()[-3000:]
    finally:
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        log.close()
    after = (
        {p.name for p in (root / "var" / "run").glob("*")} if (root / "var/run").exists() else set()
    )
    assert after <= before, f"written to the checkout's var/run: {sorted(after - before)}"
