"""The build experiment's pure parts (the real builds run in tests/test_engine_demos.py)."""

from __future__ import annotations

from topology.engine import build_probe

COLD = """Sending build context to Docker daemon  2.048kB
Step 1/4 : FROM topology/workload:offline
 ---> 84e897fe199f
Step 2/4 : RUN echo built > /built.txt
 ---> Running in 3541113cb90e
Removing intermediate container 3541113cb90e
 ---> c3b83e4a67ae
Step 3/4 : LABEL topology.managed=true
 ---> Running in 42517214955b
 ---> 6acd3d62d3fb
Step 4/4 : LABEL topology.build-probe=true
 ---> Running in 9a2ed9a0e09d
 ---> e86d2aaf5116
Successfully built e86d2aaf5116
"""
WARM = """Step 1/4 : FROM topology/workload:offline
 ---> 84e897fe199f
Step 2/4 : RUN echo built > /built.txt
 ---> Using cache
 ---> c3b83e4a67ae
Step 3/4 : LABEL topology.managed=true
 ---> Using cache
 ---> 6acd3d62d3fb
Step 4/4 : LABEL topology.build-probe=true
 ---> Using cache
 ---> e86d2aaf5116
"""


def test_the_log_says_which_steps_came_from_the_cache() -> None:
    assert build_probe.parse_build_output(COLD) == (3, 0, False)
    assert build_probe.parse_build_output(WARM) == (3, 3, True)
    assert build_probe.parse_build_output("") == (0, 0, False)
    assert build_probe.parse_build_output(" ---> Using cache\n") == (0, 0, False)


def test_the_dockerfile_starts_from_the_offline_image_and_runs_one_step() -> None:
    text = build_probe.dockerfile("topology/workload:offline")
    assert text.splitlines()[0] == "FROM topology/workload:offline"
    assert text.splitlines()[1].startswith("RUN ")
    assert build_probe.probe_tag("0b9e5c1a-2f4d-4c6e-9a7b-1d2e3f405162") == (
        "topology/build-probe:0b9e5c1a2f4d"
    )
