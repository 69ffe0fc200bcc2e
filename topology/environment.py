"""Typed readers for settings that come from the environment.

Every reader raises ``ImproperlyConfigured`` with a message naming the variable and the
value it could not use, so a bad setting stops start-up with one clear line.
"""

from __future__ import annotations

import os
import secrets
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


def read_secret_key(debug: bool, key_file: Path, environ: dict[str, str] | None = None) -> str:
    """``SECRET_KEY`` from the environment; with DEBUG on, a dev key made once and kept on disk."""
    value = (environ if environ is not None else os.environ).get("SECRET_KEY", "").strip()
    if value:
        if len(value) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
        return value
    if not debug:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off (set it, or set DEBUG=1 for development)"
        )
    if key_file.exists():
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
