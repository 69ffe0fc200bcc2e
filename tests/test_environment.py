import pytest
from django.core.exceptions import ImproperlyConfigured

from topology.environment import (
    read_bool,
    read_list,
    read_number,
    read_secret_key,
    read_url,
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


def test_secret_key_required_without_debug(tmp_path) -> None:
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is required when DEBUG is off"):
        read_secret_key(False, tmp_path / "key", {})


def test_secret_key_too_short_is_refused(tmp_path) -> None:
    with pytest.raises(ImproperlyConfigured, match="at least 32"):
        read_secret_key(False, tmp_path / "key", {"SECRET_KEY": "short"})


def test_dev_secret_key_is_generated_once_and_private(tmp_path) -> None:
    key_file = tmp_path / "var" / "secret_key"
    first = read_secret_key(True, key_file, {})
    second = read_secret_key(True, key_file, {})
    assert first == second and len(first) >= 50
    assert key_file.stat().st_mode & 0o077 == 0


def test_settings_module_reports_bad_database_url(monkeypatch) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import topology.settings"],
        env={"DATABASE_URL": "nonsense://x", "DEBUG": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
