"""Docker CLI contexts read from a folder someone points at (``docker context create`` writes
them): plain values, every file treated as untrusted input.

A Docker configuration folder (``~/.docker``, or whatever ``DOCKER_CONFIG`` names) holds
``contexts/meta/<sha256 of the name>/meta.json``::

    {"Name": "prod", "Metadata": {"Description": "..."},
     "Endpoints": {"docker": {"Host": "tcp://10.0.0.5:2376", "SkipTLSVerify": false}}}

and the TLS material of a context in ``contexts/tls/<sha256 of the name>/docker/{ca,cert,key}.pem``.
A context that cannot be read is a :class:`ContextProblem` naming why; it never stops the others.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topology.engine.connection import TLSMaterial

MAX_FILE_BYTES = 64 * 1024
MAX_CONTEXTS = 1000
SCHEMES = ("unix", "tcp", "ssh")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_TLS_FILES = {"ca_cert": "ca.pem", "client_cert": "cert.pem", "client_key": "key.pem"}


class ContextsFolderError(Exception):
    """The folder is not a Docker configuration folder nor its ``contexts`` folder."""


@dataclass(frozen=True)
class DockerContext:
    """One context's Docker endpoint. ``tls`` holds what its TLS folder has (empty strings for
    files it lacks)."""

    name: str
    host: str
    description: str = ""
    skip_tls_verify: bool = False
    tls: TLSMaterial = field(default_factory=TLSMaterial, repr=False)

    @property
    def scheme(self) -> str:
        return self.host.split("://", 1)[0]

    @property
    def has_tls(self) -> bool:
        return bool(self.tls.ca_cert or self.tls.client_cert or self.tls.client_key)


@dataclass(frozen=True)
class ContextProblem:
    """A context folder that could not be read: ``where`` is its folder name (or its context's
    name when that was read), ``reason`` what was wrong."""

    where: str
    reason: str


def contexts_folder(folder: Path) -> Path:
    """The ``contexts`` folder of a Docker configuration folder, or ``folder`` if it is one."""
    for candidate in (folder / "contexts", folder):
        if (candidate / "meta").is_dir():
            return candidate
    raise ContextsFolderError(
        f"{folder} holds no Docker contexts (no contexts/meta folder): point at a Docker "
        "configuration folder such as ~/.docker, or at its contexts folder"
    )


def read_contexts(folder: Path) -> tuple[list[DockerContext], list[ContextProblem]]:
    """Every context under ``folder`` (see :func:`contexts_folder`), by name, and a problem
    for each one that cannot be read."""
    root = contexts_folder(folder)
    found: list[DockerContext] = []
    problems: list[ContextProblem] = []
    entries = sorted((root / "meta").iterdir())
    if len(entries) > MAX_CONTEXTS:
        problems.append(
            ContextProblem("meta", f"{len(entries)} contexts; only the first {MAX_CONTEXTS} read")
        )
    for entry in entries[:MAX_CONTEXTS]:
        try:
            found.append(_read_context(root, entry))
        except _Unreadable as problem:
            problems.append(ContextProblem(problem.where or entry.name, str(problem)))
        except OSError as error:
            problems.append(ContextProblem(entry.name, f"cannot be read: {error.strerror}"))
    return sorted(found, key=lambda c: c.name), problems


class _Unreadable(Exception):
    def __init__(self, reason: str, where: str = "") -> None:
        super().__init__(reason)
        self.where = where


def _read_context(root: Path, entry: Path) -> DockerContext:
    if not _DIGEST.match(entry.name) or not stat.S_ISDIR(entry.lstat().st_mode):
        raise _Unreadable("not a context folder (a folder named by a SHA-256 digest)")
    try:
        meta = json.loads(_read_file(entry / "meta.json"))
    except ValueError as error:
        raise _Unreadable(f"meta.json is not JSON: {error}") from error
    if not isinstance(meta, dict):
        raise _Unreadable("meta.json is not a JSON object")
    name = meta.get("Name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise _Unreadable("meta.json has no Name (a text of at most 100 characters)")
    if hashlib.sha256(name.encode()).hexdigest() != entry.name:
        raise _Unreadable(f"the folder is not named after {name!r} (its SHA-256)", name)
    endpoint = _object(meta.get("Endpoints"), name, "Endpoints").get("docker")
    endpoint = _object(endpoint, name, "Endpoints.docker")
    host = endpoint.get("Host")
    if not isinstance(host, str) or "://" not in host or len(host) > 500:
        raise _Unreadable("Endpoints.docker.Host is not an engine URL", name)
    if host.split("://", 1)[0] not in SCHEMES:
        raise _Unreadable(f"{host.split('://', 1)[0]}:// engines are not supported", name)
    skip = endpoint.get("SkipTLSVerify", False)
    if not isinstance(skip, bool):
        raise _Unreadable("Endpoints.docker.SkipTLSVerify is not true or false", name)
    metadata = meta.get("Metadata") if isinstance(meta.get("Metadata"), dict) else {}
    description = metadata.get("Description", "")
    return DockerContext(
        name=name,
        host=host,
        description=description[:500] if isinstance(description, str) else "",
        skip_tls_verify=skip,
        tls=_read_tls(root / "tls" / entry.name / "docker", name),
    )


def _object(value: Any, name: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Unreadable(f"meta.json has no {what} object", name)
    return value


def _read_tls(folder: Path, name: str) -> TLSMaterial:
    parts: dict[str, str] = {}
    for part, file_name in _TLS_FILES.items():
        path = folder / file_name
        if path.is_symlink() or path.exists():
            try:
                parts[part] = _read_file(path)
            except _Unreadable as problem:
                raise _Unreadable(f"TLS {file_name}: {problem}", name) from problem
    return TLSMaterial(**parts)


def _read_file(path: Path) -> str:
    """A small regular file's text (no link followed, at most ``MAX_FILE_BYTES``)."""
    try:
        info = path.lstat()
    except FileNotFoundError as error:
        raise _Unreadable(f"{path.name} is missing") from error
    if not stat.S_ISREG(info.st_mode):
        raise _Unreadable(f"{path.name} is not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise _Unreadable(f"{path.name} is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        return path.read_bytes()[:MAX_FILE_BYTES].decode()
    except UnicodeDecodeError as error:
        raise _Unreadable(f"{path.name} is not UTF-8 text") from error
    except OSError as error:
        raise _Unreadable(f"{path.name} cannot be read: {error.strerror}") from error
