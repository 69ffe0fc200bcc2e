"""Opening Docker API clients: timeouts, negotiated API versions, TLS and ssh."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import docker
import docker.errors
import docker.tls
import requests.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from docker.constants import MINIMUM_DOCKER_API_VERSION
from docker.utils import version_lt

from topology.engine.errors import EngineError, EngineUnreachable
from topology.engine.ssh import KeyedSSHAdapter, SSHMaterial

__all__ = [
    "DockerClient",
    "EngineAddress",
    "EngineError",
    "EngineUnreachable",
    "SSHMaterial",
    "TLSMaterial",
]

DockerClient = docker.DockerClient  # what ``open_client`` gives, for the callers' type hints


@dataclass(frozen=True)
class TLSMaterial:
    ca_cert: str = ""
    client_cert: str = ""
    client_key: str = ""


def tls_material_problems(material: TLSMaterial, now: datetime | None = None) -> dict[str, str]:
    """What is wrong with TLS material, found without connecting, by part (``ca_cert``,
    ``client_cert``, ``client_key``): not PEM, expired, or a key that is not the certificate's.
    An empty answer does not mean the engine will accept it; the connection test says that."""
    now = now or datetime.now(UTC)
    problems: dict[str, str] = {}
    certificates = {}
    for part, text, name in [
        ("ca_cert", material.ca_cert, "The CA certificate"),
        ("client_cert", material.client_cert, "The client certificate"),
    ]:
        if not text:
            continue
        try:
            certificate = x509.load_pem_x509_certificate(text.encode())
        except ValueError:
            problems[part] = f"{name} is not a PEM certificate (-----BEGIN CERTIFICATE-----)."
            continue
        certificates[part] = certificate
        if certificate.not_valid_after_utc < now:
            expired = certificate.not_valid_after_utc.strftime("%Y-%m-%d")
            problems[part] = f"{name} expired on {expired}."
        elif certificate.not_valid_before_utc > now:
            problems[part] = f"{name} is not valid yet."
    if material.client_key:
        try:
            key = serialization.load_pem_private_key(material.client_key.encode(), password=None)
        except (ValueError, TypeError):
            problems["client_key"] = "The client key is not a PEM private key without a passphrase."
        else:
            certificate = certificates.get("client_cert")
            if certificate is not None and key.public_key() != certificate.public_key():
                problems["client_key"] = "The client key is not the key of the client certificate."
    return problems


@dataclass(frozen=True)
class EngineAddress:
    """Where a daemon's API is and how to speak to it."""

    url: str
    tls: TLSMaterial | None = None
    ssh: SSHMaterial | None = None
    insecure: bool = False
    connect_timeout: float = 2.0
    read_timeout: float = 10.0
    pool_size: int = 10  # connections kept open for calls made at once (the SDK's default)
    tls_dir: Path = field(
        default=Path(tempfile.gettempdir()) / f"topology-tls-{os.getuid()}", compare=False
    )

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme


def _tls_config(address: EngineAddress) -> docker.tls.TLSConfig | bool:
    scheme = address.scheme
    if scheme != "tcp":
        return False
    material = address.tls
    if material is None or not material.client_cert:
        if address.insecure:
            return False
        raise EngineError(
            f"{address.url}: plain tcp:// is refused; give TLS certificates or mark it insecure"
        )
    digest = hashlib.sha256(
        (material.ca_cert + material.client_cert + material.client_key).encode()
    ).hexdigest()[:16]
    address.tls_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    address.tls_dir.chmod(0o700)
    folder = address.tls_dir / digest
    folder.mkdir(exist_ok=True, mode=0o700)
    paths = {}
    for name, content in [
        ("ca.pem", material.ca_cert),
        ("cert.pem", material.client_cert),
        ("key.pem", material.client_key),
    ]:
        path = folder / name
        if content and not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(content)
        paths[name] = str(path) if content else None
    return docker.tls.TLSConfig(
        client_cert=(paths["cert.pem"], paths["key.pem"]),
        ca_cert=paths["ca.pem"],
        verify=bool(paths["ca.pem"]),
    )


_negotiated_versions: dict[str, str] = {}
_version_answers: dict[str, dict] = {}


def forget_version(url: str) -> None:
    """Negotiate again next time (the daemon may have been upgraded or replaced)."""
    _negotiated_versions.pop(url, None)
    _version_answers.pop(url, None)


def version_answer(url: str) -> dict | None:
    """What the engine at ``url`` answered to ``GET /version`` when its API version was
    negotiated (untrusted: ``engine.identity`` reads it), or None."""
    return _version_answers.get(url)


def open_client(address: EngineAddress) -> docker.DockerClient:
    """A client with the API version negotiated against the daemon.

    The version is negotiated once per URL and remembered until ``forget_version``. Raises
    ``EngineUnreachable`` when nothing answers in time, and ``EngineError`` when the daemon
    answers with something we cannot use (an API version too old, say).
    """
    tls = _tls_config(address)
    url = address.url.replace("tcp://", "https://", 1) if tls else address.url
    known = _negotiated_versions.get(address.url)
    ssh = address.scheme == "ssh"
    try:
        # For ssh:// the SDK's shell-out adapter is made (it connects to nothing) and then
        # replaced by one that uses this engine's own key and host keys.
        client = docker.DockerClient(
            base_url=url,
            version=known or MINIMUM_DOCKER_API_VERSION,
            timeout=address.read_timeout,
            tls=tls,
            use_ssh_client=ssh,
            max_pool_size=address.pool_size,
        )
        if ssh:
            _use_engine_ssh_keys(client, address)
    except EngineError:
        raise
    except docker.errors.DockerException as error:
        raise _as_engine_error(address.url, error) from error
    # The Docker API is never reached through the environment's proxies, and an engine's own CA
    # must not be replaced by REQUESTS_CA_BUNDLE (requests lets the environment win otherwise),
    # so negotiation happens here, after the session stops trusting the environment.
    client.api.trust_env = False
    if address.scheme in {"tcp", "http", "https"}:
        client.api.timeout = (address.connect_timeout, address.read_timeout)
    if known is None:
        try:
            answer = client.api.version(api_version=False)
            server = answer["ApiVersion"]
            if not isinstance(server, str):
                raise EngineError(f"{address.url}: /version has no API version")
        except Exception as error:
            client.close()
            raise _as_engine_error(address.url, error) from error
        if version_lt(server, MINIMUM_DOCKER_API_VERSION):
            client.close()
            raise EngineError(
                f"{address.url}: the engine speaks API {server}, older than the oldest "
                f"supported ({MINIMUM_DOCKER_API_VERSION})"
            )
        client.api._version = server  # the SDK's own "auto" does this, before we could intervene
        _negotiated_versions[address.url] = server
        _version_answers[address.url] = answer if isinstance(answer, dict) else {}
    return client


def _use_engine_ssh_keys(client: docker.DockerClient, address: EngineAddress) -> None:
    if address.ssh is None:
        raise EngineError(f"{address.url}: an ssh:// engine needs a private key and its host key")
    try:
        adapter = KeyedSSHAdapter(
            address.url, address.ssh, address.connect_timeout, address.read_timeout
        )
    except EngineError as error:
        client.close()
        raise type(error)(f"{address.url}: {error}") from error
    client.api._custom_adapter.close()
    client.api._custom_adapter = adapter
    client.api.mount("http+docker://ssh", adapter)


def _as_engine_error(url: str, error: Exception) -> EngineError:
    text = str(error)
    transient = (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        ConnectionError,
        TimeoutError,
        FileNotFoundError,
    )
    cause = error.__cause__ or error.__context__
    if isinstance(error, transient) or isinstance(cause, transient) or "Connection" in text:
        return EngineUnreachable(f"{url}: no answer ({_short(text)})")
    return EngineError(f"{url}: {_short(text)}")


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refusal(error: Exception) -> str | None:
    """What the engine said when it refused a request (a Docker API error); None otherwise."""
    return str(error.explanation) if isinstance(error, docker.errors.APIError) else None


def as_engine_error(url: str, error: Exception) -> EngineError:
    """Map any Docker SDK or transport error to our two error kinds."""
    if isinstance(error, EngineError):
        return error
    return _as_engine_error(url, error)


def ping(address: EngineAddress) -> None:
    """Raise ``EngineError`` unless the daemon answers ``/_ping`` in time."""
    try:
        client = open_client(address)
        try:
            client.ping()
        finally:
            client.close()
    except EngineError:
        raise
    except Exception as error:
        raise as_engine_error(address.url, error) from error
