"""The DinD vs DooD comparison, read from the engines: what a page waits for, and the builds.

One real DinD and one real DooD demo (offline images, launched by the launch task in this
process). Median of 10 reads of each demo's facts (``docker exec`` into its container and the
host engine's API), and of the whole table with both demos read one after the other and at the
same time (as ``services.compare`` does). Then the build experiment, 3 runs on each demo: the
first and second build and the ratio between them (the cache). Goal: the table in under 0.5 s
on this 2-core machine, so that reading it on every page load and demo change stays cheap.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

from harness import median, setup_django

os.environ["TOPOLOGY_OFFLINE"] = "1"
demo_dir = tempfile.mkdtemp(prefix="tc-")
os.environ["TOPOLOGY_DEMO_DIR"] = demo_dir
setup_django()

from django.contrib.auth import get_user_model  # noqa: E402

from topology.demos import services, tasks  # noqa: E402
from topology.demos.models import BuildRun, Demo  # noqa: E402

READS = 10
BUILDS = 3
GOAL_SECONDS = 0.5


def timed(action, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        values.append(time.perf_counter() - started)
    return values


def main() -> None:
    user = get_user_model().objects.create_superuser("bench", password="bench-password-not-used")
    demos: dict[str, Demo] = {}
    try:
        for kind in ("dind", "dood"):
            demo = services.request_launch(user, kind)
            assert tasks.launch_demo(str(demo.pk)) == "running", Demo.objects.get(pk=demo.pk).error
            demos[kind] = Demo.objects.get(pk=demo.pk)
        every = Demo.objects.all()
        one = {kind: timed(lambda d=demo: services.facts(d), READS) for kind, demo in demos.items()}
        sequential = timed(lambda: [services.facts(d) for d in demos.values()], READS)
        parallel = timed(lambda: services.compare(every), READS)
        for kind, values in one.items():
            print(f"facts of the {kind} demo: median {median(values) * 1000:.0f} ms over {READS}")
        print(
            f"both, one after the other: median {median(sequential) * 1000:.0f} ms; "
            f"the table (both at once, worded): median {median(parallel) * 1000:.0f} ms; "
            f"ratio {median(sequential) / median(parallel):.2f}x"
        )
        verdict = "met" if median(parallel) < GOAL_SECONDS else "NOT met"
        print(f"goal: the table under {GOAL_SECONDS} s -> {verdict}")
        for kind, demo in demos.items():
            firsts, seconds = [], []
            for _ in range(BUILDS):
                build = services.request_build(user, demo)
                assert tasks.build_twice(build.pk) == "done", BuildRun.objects.get(
                    pk=build.pk
                ).error
                build.refresh_from_db()
                assert build.second_run_cached and build.image_removed
                firsts.append(build.first_seconds)
                seconds.append(build.second_seconds)
            print(
                f"{kind} builds: 1st median {median(firsts):.2f} s, 2nd (cached) median "
                f"{median(seconds):.2f} s over {BUILDS}; "
                f"ratio {median(firsts) / median(seconds):.1f}x"
            )
    finally:
        for demo in demos.values():
            tasks.tear_down_demo(str(demo.pk))
        shutil.rmtree(demo_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
