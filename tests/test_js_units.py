"""The pure front-end modules' unit tests (``tests/js/*.test.mjs``), run with Node's test runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS_TESTS = Path(__file__).resolve().parent / "js"


def test_front_end_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: make test installs npm, which brings it")
    files = sorted(str(path) for path in JS_TESTS.glob("*.test.mjs"))
    assert files, f"no unit test in {JS_TESTS}"
    # The modules under static/ are ES modules without a package.json saying so.
    result = subprocess.run(
        [node, "--experimental-default-type=module", "--test", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
