import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from topology import environment
from topology.environment import (
    default_docker_host,
    env_file_path,
    load_env_file,
    local_engine_sockets,
    parse_env_file,
    read_bool,
    read_choice,
    read_docker_tag,
    read_list,
    read_number,
    read_secret_key,
    read_url,
    write_dev_env_file,
)


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("yes", True), ("ON", True), ("0", False), ("", False)]
)
def test_read_bool_accepts_common_words(value: str, expected: bool) -> None:
    assert read_bool("DEBUG", False, {"DEBUG": value}) is expected


def test_read_bool_uses_default_when_unset() -> None:
    assert read_bool("DEBUG", True, {}) is True


def test_read_bool_names_variable_and_value_when_bad() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG must be one of .*'maybe'"):
        read_bool("DEBUG", False, {"DEBUG": "maybe"})


@pytest.mark.parametrize("value", ["fast", "0.01", "-2", "nan", "99999"])
def test_read_number_refuses_bad_poll_interval(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="TOPOLOGY_POLL_SECONDS"):
        read_number(
            "TOPOLOGY_POLL_SECONDS",
            2.0,
            minimum=0.2,
            maximum=3600,
            environ={"TOPOLOGY_POLL_SECONDS": value},
        )


def test_read_number_parses_and_defaults() -> None:
    env = {"TOPOLOGY_POLL_SECONDS": "0.5"}
    assert read_number("TOPOLOGY_POLL_SECONDS", 2.0, minimum=0.2, environ=env) == 0.5
    assert read_number("TOPOLOGY_POLL_SECONDS", 2.0, minimum=0.2, environ={}) == 2.0


def test_read_list_splits_and_trims() -> None:
    env = {"ALLOWED_HOSTS": " a.example , b.example,, "}
    assert read_list("ALLOWED_HOSTS", [], env) == ["a.example", "b.example"]


def test_read_url_refuses_wrong_scheme() -> None:
    with pytest.raises(
        ImproperlyConfigured, match=r"REDIS_URL must be a URL starting with redis://"
    ):
        read_url("REDIS_URL", "redis://127.0.0.1:6379/0", ("redis",), {"REDIS_URL": "localhost"})


def test_secret_key_is_required_and_says_how_to_get_one() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"SECRET_KEY is not set.*make setup.*\.env"):
        read_secret_key({})


def test_secret_key_too_short_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="at least 32"):
        read_secret_key({"SECRET_KEY": "short"})


def test_read_choice_names_the_choices() -> None:
    assert read_choice("TOPOLOGY_DEMO_IMAGES", "auto", ("auto", "pull"), {}) == "auto"
    assert (
        read_choice(
            "TOPOLOGY_DEMO_IMAGES", "auto", ("auto", "pull"), {"TOPOLOGY_DEMO_IMAGES": " Pull"}
        )
        == "pull"
    )
    with pytest.raises(
        ImproperlyConfigured, match=r"TOPOLOGY_DEMO_IMAGES must be one of auto, pull; got 'yes'"
    ):
        read_choice(
            "TOPOLOGY_DEMO_IMAGES", "auto", ("auto", "pull"), {"TOPOLOGY_DEMO_IMAGES": "yes"}
        )


def test_read_docker_tag_refuses_what_docker_would() -> None:
    assert read_docker_tag("T", "offline", {"T": "test-1.a_b"}) == "test-1.a_b"
    for bad in ("a:b", "-x", "a/b", "x" * 129):
        with pytest.raises(ImproperlyConfigured, match="T must be a Docker image tag"):
            read_docker_tag("T", "offline", {"T": bad})


def test_env_file_lines_comments_quotes_and_export() -> None:
    text = "# a comment\n\nDEBUG=1\nexport SECRET_KEY='s3cr=t'\nEMPTY=\nSPACED = \"a b\"\n"
    assert parse_env_file(text) == {
        "DEBUG": "1",
        "SECRET_KEY": "s3cr=t",
        "EMPTY": "",
        "SPACED": "a b",
    }


def test_a_bad_env_file_line_is_one_line_naming_it() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^dev\.env line 2 is not NAME=value: 'oops'$"):
        parse_env_file("A=1\noops\n", "dev.env")


def test_the_real_environment_wins_over_the_file(tmp_path) -> None:
    path = tmp_path / ".env"
    path.write_text("DEBUG=1\nSECRET_KEY=from-the-file\n")
    environ = {"DEBUG": "0"}
    assert load_env_file(path, environ) == {"SECRET_KEY": "from-the-file"}
    assert environ == {"DEBUG": "0", "SECRET_KEY": "from-the-file"}
    assert load_env_file(tmp_path / "missing", environ) == {}


def test_env_file_path_follows_topology_env_file(tmp_path) -> None:
    assert env_file_path(tmp_path, {}) == tmp_path / ".env"
    assert env_file_path(tmp_path, {"TOPOLOGY_ENV_FILE": "/x/dev.env"}) == Path("/x/dev.env")


def test_dev_env_file_is_written_once_private_and_keeps_an_older_key(tmp_path) -> None:
    old_key = tmp_path / "var" / "secret_key"
    old_key.parent.mkdir()
    old_key.write_text("k" * 60)
    path = tmp_path / ".env"
    assert write_dev_env_file(path, old_key) is True
    assert path.stat().st_mode & 0o077 == 0
    values = parse_env_file(path.read_text())
    assert values == {"DEBUG": "1", "SECRET_KEY": "k" * 60}
    path.write_text(path.read_text() + "TOPOLOGY_POLL_SECONDS=5\n")
    assert write_dev_env_file(path, old_key) is False  # never overwritten: edits stay
    assert "TOPOLOGY_POLL_SECONDS=5" in path.read_text()
    fresh = tmp_path / "fresh.env"
    write_dev_env_file(fresh, tmp_path / "none")
    assert len(parse_env_file(fresh.read_text())["SECRET_KEY"]) >= 50


ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def second_terminal(env_file: Path | None, **variables: str) -> dict[str, str]:
    """The environment of a new terminal: nothing of the set-up's, only ``variables``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "TOPOLOGY_OFFLINE"}
        and not name.startswith(("PYTEST", "TOPOLOGY_LIVE"))
    }
    env["TOPOLOGY_ENV_FILE"] = str(env_file) if env_file else "/nonexistent/.env"
    return {**env, **variables}


ENTRY_POINTS = {
    "manage.py": [sys.executable, "manage.py", "check"],
    "watcher": [sys.executable, "manage.py", "watch_events"],
    "web server": [sys.executable, "-m", "topology.serve", "-b", "127.0.0.1", "-p", "1"],
    "celery worker": [str(VENV_BIN / "celery"), "-A", "topology", "worker", "-Q", "nothing"],
    "celery beat": [str(VENV_BIN / "celery"), "-A", "topology", "beat"],
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"TOPOLOGY_POLL_SECONDS": "fast"}, "TOPOLOGY_POLL_SECONDS must be a number; got 'fast'"),
        ({"DEBUG": "1"}, "SECRET_KEY is not set"),
        ({"TOPOLOGY_DEMO_IMAGES": "sometimes"}, "TOPOLOGY_DEMO_IMAGES must be one of"),
    ],
)
def test_a_misconfiguration_is_one_line_and_a_non_zero_exit(
    entry: str, variables: dict[str, str], message: str, tmp_path
) -> None:
    env_file = None
    if "SECRET_KEY" not in message:
        env_file = tmp_path / ".env"
        write_dev_env_file(env_file)
    result = subprocess.run(
        ENTRY_POINTS[entry],
        cwd=ROOT,
        env=second_terminal(env_file, **variables),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr


def test_commands_read_the_env_file_from_a_second_terminal(tmp_path) -> None:
    env_file = tmp_path / ".env"
    write_dev_env_file(env_file)
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env=second_terminal(env_file),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "True", "")
    overridden = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env=second_terminal(env_file, DEBUG="0"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert overridden.stdout.strip() == "False", overridden.stderr  # the environment wins


def test_offline_is_the_older_spelling_of_demo_images_offline(tmp_path) -> None:
    env_file = tmp_path / ".env"
    write_dev_env_file(env_file)
    show = "from django.conf import settings; print(settings.TOPOLOGY_DEMO_IMAGES)"
    for variables, expected in [
        ({}, "auto"),
        ({"TOPOLOGY_OFFLINE": "1"}, "offline"),
        ({"TOPOLOGY_OFFLINE": "0", "TOPOLOGY_DEMO_IMAGES": "pull"}, "pull"),
        ({"TOPOLOGY_OFFLINE": "1", "TOPOLOGY_DEMO_IMAGES": "offline"}, "offline"),
    ]:
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", show],
            cwd=ROOT,
            env=second_terminal(env_file, **variables),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.stdout.strip() == expected, (variables, result.stderr)
    clash = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=second_terminal(env_file, TOPOLOGY_OFFLINE="1", TOPOLOGY_DEMO_IMAGES="pull"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert clash.returncode == 2 and "set only one of them" in clash.stderr


def test_settings_module_reports_bad_database_url(monkeypatch) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import topology.settings"],
        env={
            "DATABASE_URL": "nonsense://x",
            "SECRET_KEY": "k" * 40,
            "TOPOLOGY_ENV_FILE": "/nonexistent/.env",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def _listening(path: Path) -> socket.socket:
    path.parent.mkdir(parents=True, exist_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    return server


def test_docker_host_defaults_to_the_first_local_socket_rootless_or_podman(
    tmp_path, monkeypatch
) -> None:
    """System Docker, rootless Docker (``$XDG_RUNTIME_DIR/docker.sock``), rootless Podman, then
    system Podman; a file that is not a socket does not count."""
    runtime = tmp_path / "run-user-1000"
    environ = {"XDG_RUNTIME_DIR": str(runtime)}
    assert local_engine_sockets(environ) == [
        "/var/run/docker.sock",
        f"{runtime}/docker.sock",
        f"{runtime}/podman/podman.sock",
        "/run/podman/podman.sock",
    ]
    assert local_engine_sockets({"XDG_RUNTIME_DIR": "relative"}) == [
        "/var/run/docker.sock",
        "/run/podman/podman.sock",
    ]
    monkeypatch.setattr(environment, "ROOT_DOCKER_SOCKET", str(tmp_path / "no-docker.sock"))
    podman = _listening(runtime / "podman" / "podman.sock")
    (runtime / "docker.sock").write_text("not a socket")
    try:
        assert default_docker_host(environ) == f"unix://{runtime}/podman/podman.sock"
        (runtime / "docker.sock").unlink()
        rootless = _listening(runtime / "docker.sock")
        try:
            assert default_docker_host(environ) == f"unix://{runtime}/docker.sock"
        finally:
            rootless.close()
    finally:
        podman.close()
    assert default_docker_host({}) in (
        f"unix://{tmp_path}/no-docker.sock",
        "unix:///run/podman/podman.sock",
    )
