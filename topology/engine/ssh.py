"""The ssh:// transport, with each engine's own key and known host keys.

docker-py's paramiko adapter reads the server user's ``~/.ssh/config`` and system known hosts.
Here an engine brings its own: the private key to log in with and the known_hosts lines that
say which host key to expect. Nothing else is trusted: an unknown or changed host key is
refused, no agent or key file on disk is tried, and no ``ProxyCommand`` is run.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import paramiko
from docker.transport.sshconn import SSHHTTPAdapter
from paramiko.hostkeys import HostKeyEntry, InvalidHostKey

from topology.engine.errors import EngineError, EngineUnreachable

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


class KeyedSSHAdapter(SSHHTTPAdapter):
    """docker-py's ssh adapter, logging in with one engine's key and checking its host key."""

    def __init__(
        self, base_url: str, material: SSHMaterial, connect_timeout: float, read_timeout: float
    ) -> None:
        self._material = material
        self._connect_timeout = connect_timeout
        super().__init__(base_url, timeout=read_timeout, shell_out=False)

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

    def _connect(self) -> None:
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
        except (TimeoutError, OSError) as error:
            raise EngineUnreachable(f"ssh to {target}: no answer ({error})") from error
