"""The ssh:// transport, with each engine's own key and known host keys.

docker-py's paramiko adapter reads the server user's ``~/.ssh/config`` and system known hosts.
Here an engine brings its own: the private key to log in with and the known_hosts lines that
say which host key to expect. Nothing else is trusted: an unknown or changed host key is
refused, no agent or key file on disk is tried, and no ``ProxyCommand`` is run.
"""

from __future__ import annotations

import hashlib
import io
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import paramiko
import requests.adapters
from docker import constants
from docker.transport.sshconn import RecentlyUsedContainer, SSHHTTPAdapter
from paramiko.hostkeys import HostKeyEntry, InvalidHostKey

from topology.engine.errors import EngineError, EngineUnreachable

KEEPALIVE_SECONDS = 15

KEY_TYPES: tuple[type[paramiko.PKey], ...] = (
    paramiko.Ed25519Key,
    paramiko.ECDSAKey,
    paramiko.RSAKey,
)


@dataclass(frozen=True)
class SSHMaterial:
    """What an ssh:// engine needs besides its URL: a private key and its host's public keys."""

    private_key: str = field(default="", repr=False)
    known_hosts: str = ""


def load_private_key(text: str) -> paramiko.PKey:
    """The key in ``text`` (OpenSSH or PEM; Ed25519, ECDSA or RSA, without a passphrase)."""
    if not text.strip():
        raise EngineError("an ssh:// engine needs a private key")
    for key_type in KEY_TYPES:
        try:
            return key_type.from_private_key(io.StringIO(text))
        except paramiko.PasswordRequiredException as error:
            raise EngineError("the ssh private key has a passphrase; give one without") from error
        except (paramiko.SSHException, ValueError):
            continue
    raise EngineError("the ssh private key is not an Ed25519, ECDSA or RSA private key")


def parse_known_hosts(text: str) -> list[HostKeyEntry]:
    """The entries of known_hosts ``text``; a line that is not one is an error, not skipped."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entry = HostKeyEntry.from_line(line.strip(), number)
        except (InvalidHostKey, ValueError) as error:
            raise EngineError(f"known hosts line {number} is not a host key line") from error
        if entry is None:
            raise EngineError(f"known hosts line {number} is not a host key line")
        entries.append(entry)
    if not entries:
        raise EngineError(
            "an ssh:// engine needs its host key: give the line `ssh-keyscan` prints for it"
        )
    return entries


@dataclass
class _Session:
    client: paramiko.SSHClient
    pools: RecentlyUsedContainer  # the HTTP connections over it: each a `dial-stdio` channel


class _Sessions:
    """Logged-in ssh sessions kept per engine and credentials, shared by the clients of one
    process, with their HTTP connections: a poll every few seconds then reuses a channel
    instead of a new ssh login and a new `docker system dial-stdio` on the far side (together
    half a second). A session that died (keepalives unanswered, closed) is replaced."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}

    def get(self, key: str) -> _Session | None:
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                return None
            transport = session.client.get_transport()
            if transport is not None and transport.is_active():
                return session
            del self._sessions[key]
        session.pools.clear()
        session.client.close()
        return None

    def put(self, key: str, client: paramiko.SSHClient) -> _Session:
        """Keep ``client``, unless another thread kept one first (then that one is used)."""
        pools = RecentlyUsedContainer(
            constants.DEFAULT_NUM_POOLS_SSH, dispose_func=lambda pool: pool.close()
        )
        with self._lock:
            kept = self._sessions.setdefault(key, _Session(client, pools))
        if kept.client is not client:
            client.close()
        return kept

    def close_all(self) -> None:
        with self._lock:
            closing, self._sessions = list(self._sessions.values()), {}
        for session in closing:
            session.pools.clear()
            session.client.close()


sessions = _Sessions()


class KeyedSSHAdapter(SSHHTTPAdapter):
    """docker-py's ssh adapter, logging in with one engine's key and checking its host key.

    The ssh session and its connections are shared (see ``sessions``): closing the adapter
    leaves them for the next client.
    """

    def __init__(
        self, base_url: str, material: SSHMaterial, connect_timeout: float, read_timeout: float
    ) -> None:
        self._material = material
        self._connect_timeout = connect_timeout
        super().__init__(base_url, timeout=read_timeout, shell_out=False)
        self.pools = self._session.pools

    def _create_paramiko_client(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        client = paramiko.SSHClient()
        known = client.get_host_keys()
        for entry in parse_known_hosts(self._material.known_hosts):
            for name in entry.hostnames:
                known.add(name, entry.key.get_name(), entry.key)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        self.ssh_client = client
        self.ssh_params = {
            "hostname": parts.hostname,
            "port": parts.port or 22,
            "username": parts.username,
            "pkey": load_private_key(self._material.private_key),
            "allow_agent": False,
            "look_for_keys": False,
            "timeout": self._connect_timeout,
            "banner_timeout": self._connect_timeout,
            "auth_timeout": self._connect_timeout,
        }

    @property
    def _session_key(self) -> str:
        material = f"{self._material.private_key}\0{self._material.known_hosts}"
        params = self.ssh_params
        digest = hashlib.sha256(material.encode()).hexdigest()
        return f"{params['username']}@{params['hostname']}:{params['port']}/{digest}"

    def _connect(self) -> None:
        session = sessions.get(self._session_key)
        if session is None:
            self._login()
            self.ssh_client.get_transport().set_keepalive(KEEPALIVE_SECONDS)
            session = sessions.put(self._session_key, self.ssh_client)
        self._session = session
        self.ssh_client = session.client
        if hasattr(self, "pools"):  # a reconnect after the first (get_connection)
            self.pools = session.pools

    def close(self) -> None:
        requests.adapters.HTTPAdapter.close(self)

    def _login(self) -> None:
        target = f"{self.ssh_params['username'] or ''}@{self.ssh_params['hostname']}".lstrip("@")
        try:
            self.ssh_client.connect(**self.ssh_params)
        except paramiko.BadHostKeyException as error:
            raise EngineError(
                f"the host key of {target} is not the one given for this engine "
                "(the server changed, or something is in the way)"
            ) from error
        except paramiko.AuthenticationException as error:
            raise EngineError(f"{target} refused the ssh key for this engine") from error
        except paramiko.SSHException as error:
            if "known_hosts" in str(error):
                raise EngineError(
                    f"no host key given for {target} matches its address: give the line "
                    "`ssh-keyscan` prints for it (with the port, if not 22)"
                ) from error
            raise EngineUnreachable(f"ssh to {target} failed: {error}") from error
        except OSError as error:
            raise EngineUnreachable(f"ssh to {target}: no answer ({error})") from error
