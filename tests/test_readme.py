"""Every command in the README's code blocks runs as written, from a second terminal.

The blocks are read from README.md itself, so a command added there is run here too. Each block
runs as one bash script (``set -euo pipefail``: a variable one line sets reaches the next) in the
environment of a new terminal after ``make run``: none of the set-up's variables, only the
development env file the set-up writes (``TOPOLOGY_ENV_FILE``, here a fresh one written by the
same code), the test database (``DATABASE_URL``), and ``PORT`` of a live web server started for
the test, as ``make run`` would have. ``make run`` and ``make test`` themselves are checked the
cheap way: ``make -n <target>`` (the target exists and its recipe expands), since running them
would start the product or the whole suite.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from tests.conftest import LiveServer, database_url_of_the_test_database
from topology.environment import write_dev_env_file

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SHELLS = {"sh", "bash", "shell", "console"}


def readme_blocks(path: Path = ROOT / "README.md") -> list[str]:
    return [body for lang, body in FENCE.findall(path.read_text()) if lang in SHELLS]


def split_block(block: str) -> tuple[list[str], str]:
    """The block's ``make`` command lines, and the rest as a script."""
    make_lines = [line for line in block.splitlines() if line.strip().startswith("make ")]
    script = "\n".join(line for line in block.splitlines() if line not in make_lines)
    return make_lines, script


def test_the_readme_blocks_are_found_and_split() -> None:
    blocks = readme_blocks()
    assert len(blocks) >= 3
    make_lines, script = split_block(blocks[0])
    assert [line.split()[:2] for line in make_lines] == [["make", "run"], ["make", "test"]]
    assert script.strip() == ""
    assert any("drf_create_token admin" in block for block in blocks)


def second_terminal(env_file: Path, **variables: str) -> dict[str, str]:
    keep = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "TOPOLOGY_OFFLINE"}
        and not name.startswith(("PYTEST", "TOPOLOGY_LIVE", "DJANGO_ALLOW"))
    }
    return {**keep, "TOPOLOGY_ENV_FILE": str(env_file), **variables}


@pytest.fixture
def admin_of_make_run(transactional_db) -> None:  # type: ignore[no-untyped-def]
    """The first admin, as ``make run`` creates it (``ensure_admin``)."""
    get_user_model().objects.create_superuser("admin", password="a-long-readme-password-9")


@pytest.mark.parametrize("index", range(len(readme_blocks())))
def test_every_readme_command_runs_as_written(
    index: int, admin_of_make_run, daphne_server: LiveServer, tmp_path
) -> None:
    block = readme_blocks()[index]
    env_file = tmp_path / ".env"
    write_dev_env_file(env_file)
    env = second_terminal(
        env_file,
        DATABASE_URL=database_url_of_the_test_database(connection.settings_dict),
        PORT=str(daphne_server.port),
    )
    make_lines, script = split_block(block)
    for line in make_lines:
        words = line.split("#", 1)[0].split()
        result = subprocess.run(
            [words[0], "-n", *words[1:]],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, f"{line}\n{result.stderr}"
    if not script.strip():
        return
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{script}\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    assert result.stdout.strip(), f"{script} printed nothing"
    if "/api/topology/" in script:
        assert json.loads(result.stdout)["nodes"] is not None  # the graph, from the live server
