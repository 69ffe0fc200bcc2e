"""Typed readers for settings that come from the environment, and the development env file.

Every reader raises ``ImproperlyConfigured`` with a message naming the variable and the
value it could not use, so a bad setting stops start-up with one clear line
(:func:`settings_or_exit` turns it into that line and a non-zero exit).

Development defaults (``DEBUG=1`` and a dev ``SECRET_KEY``) live in a git-ignored env file,
``.env`` by default, that the set-up writes once (``python -m topology.environment``) and the
settings read (:func:`load_env_file`): the django-environ pattern. A variable set in the real
environment always wins over the file, so a deployment that sets its own is unaffected.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import MutableMapping
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def read_bool(name: str, default: bool, environ: dict[str, str] | None = None) -> bool:
    value = (environ if environ is not None else os.environ).get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}"
    )


def read_number(
    name: str,
    default: float,
    *,
    minimum: float,
    maximum: float | None = None,
    environ: dict[str, str] | None = None,
) -> float:
    value = (environ if environ is not None else os.environ).get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {value!r}") from None
    if number != number or number < minimum or (maximum is not None and number > maximum):
        upper = f" and at most {maximum:g}" if maximum is not None else ""
        raise ImproperlyConfigured(f"{name} must be at least {minimum:g}{upper}; got {value!r}")
    return number


def read_list(name: str, default: list[str], environ: dict[str, str] | None = None) -> list[str]:
    value = (environ if environ is not None else os.environ).get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def read_url(
    name: str, default: str, schemes: tuple[str, ...], environ: dict[str, str] | None = None
) -> str:
    value = (environ if environ is not None else os.environ).get(name) or default
    scheme = urlsplit(value).scheme
    if scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with "
            f"{' or '.join(s + '://' for s in schemes)}; got {value!r}"
        )
    return value


ROOT_DOCKER_SOCKET = "/var/run/docker.sock"


def local_engine_sockets(environ: dict[str, str] | None = None) -> list[str]:
    """Where a local engine's socket may be, in order: the system Docker, rootless Docker
    (``$XDG_RUNTIME_DIR/docker.sock``), rootless then system Podman."""
    runtime = (environ if environ is not None else os.environ).get("XDG_RUNTIME_DIR", "")
    paths = [ROOT_DOCKER_SOCKET]
    if runtime.startswith("/"):
        paths += [f"{runtime.rstrip('/')}/docker.sock", f"{runtime.rstrip('/')}/podman/podman.sock"]
    return [*paths, "/run/podman/podman.sock"]


def default_docker_host(environ: dict[str, str] | None = None) -> str:
    """``DOCKER_HOST`` when it is not set: the first local socket that exists, else Docker's."""
    for path in local_engine_sockets(environ):
        if Path(path).is_socket():
            return f"unix://{path}"
    return f"unix://{ROOT_DOCKER_SOCKET}"


def read_secret_key(environ: dict[str, str] | None = None) -> str:
    """``SECRET_KEY`` from the environment (the set-up's env file gives a development one)."""
    value = (environ if environ is not None else os.environ).get("SECRET_KEY", "").strip()
    if not value:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: set it in the environment, or run 'make setup' to write "
            "the development defaults to .env"
        )
    if len(value) < 32:
        raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
    return value


def read_choice(
    name: str, default: str, choices: tuple[str, ...], environ: dict[str, str] | None = None
) -> str:
    value = (environ if environ is not None else os.environ).get(name)
    if value is None or value.strip() == "":
        return default
    word = value.strip().lower()
    if word not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return word


_DOCKER_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def read_docker_tag(name: str, default: str, environ: dict[str, str] | None = None) -> str:
    value = (environ if environ is not None else os.environ).get(name)
    if value is None or value.strip() == "":
        return default
    if not _DOCKER_TAG.match(value.strip()):
        raise ImproperlyConfigured(
            f"{name} must be a Docker image tag (letters, digits, _ . -; at most 128); "
            f"got {value!r}"
        )
    return value.strip()


# --- The development env file ------------------------------------------------------------

_ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


def parse_env_file(text: str, source: str = ".env") -> dict[str, str]:
    """``NAME=value`` lines (``export`` allowed, ``#`` comments and blank lines skipped, one
    pair of matching quotes around a value removed). Anything else is a one-line error."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if match is None:
            raise ImproperlyConfigured(f"{source} line {number} is not NAME=value: {line[:60]!r}")
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def env_file_path(base_dir: Path, environ: MutableMapping[str, str] | None = None) -> Path:
    """``TOPOLOGY_ENV_FILE``, else ``.env`` in the checkout."""
    named = (environ if environ is not None else os.environ).get("TOPOLOGY_ENV_FILE", "")
    return Path(named) if named.strip() else base_dir / ".env"


def load_env_file(path: Path, environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Put the file's variables into the environment where the environment has none; return
    those taken. A missing file is no error (a deployment has none)."""
    target = environ if environ is not None else os.environ
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ImproperlyConfigured(f"{path} cannot be read: {error.strerror}") from None
    taken = {
        name: value for name, value in parse_env_file(text, str(path)).items() if name not in target
    }
    target.update(taken)
    return taken


DEV_ENV_HEADER = """\
# Development defaults for make run, make test and every command run from this checkout,
# written once by the set-up (scripts and settings: topology/environment.py). Git-ignored:
# never commit it, never ship it. A variable set in the real environment wins over this file;
# a deployment sets its own environment instead (compose/.env.example).
"""


def write_dev_env_file(path: Path, old_key_file: Path | None = None) -> bool:
    """Write the development env file unless it exists (it is never overwritten, so edits
    stay); return whether it was written. The key is the one an older set-up kept in
    ``old_key_file`` when there is one (sessions survive), else a new random one."""
    if path.exists():
        return False
    key = ""
    if old_key_file is not None and old_key_file.is_file():
        key = old_key_file.read_text().strip()
    if len(key) < 32:
        key = secrets.token_urlsafe(50)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{DEV_ENV_HEADER}DEBUG=1\nSECRET_KEY={key}\n")
    return True


def settings_or_exit(program: str) -> None:
    """Load the Django settings; a misconfiguration is one line on stderr and exit status 2,
    never a traceback. Entry points (manage.py, the web server, Celery) call this first."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topology.settings")
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - importing the settings module is the check
    except ImproperlyConfigured as error:
        message = " ".join(str(error).split())
        print(f"{program}: {message}", file=sys.stderr)
        raise SystemExit(2) from None


def main(arguments: list[str]) -> int:
    """``python -m topology.environment [FILE]``: write the development env file (the set-up)."""
    base_dir = Path(__file__).resolve().parent.parent
    path = Path(arguments[0]) if arguments else env_file_path(base_dir)
    var_dir = Path(os.environ.get("TOPOLOGY_VAR_DIR", base_dir / "var"))
    if write_dev_env_file(path, var_dir / "secret_key"):
        print(f"Wrote the development defaults (DEBUG=1, a dev SECRET_KEY) to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
