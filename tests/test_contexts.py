"""Docker CLI contexts read from a folder: contexts made by the real ``docker context create``
(under a DOCKER_CONFIG of the test's own, so no one's configuration is touched), TLS files made
with openssl, and folders that are nonsense."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from topology.engine.contexts import (
    MAX_FILE_BYTES,
    ContextsFolderError,
    contexts_folder,
    read_contexts,
)


def test_contexts_made_by_the_docker_cli_are_read_with_their_tls(cli_contexts) -> None:
    config, tls = cli_contexts
    contexts, problems = read_contexts(config)
    assert problems == []
    by_name = {c.name: c for c in contexts}
    assert [c.name for c in contexts] == ["build-box", "lab-tls", "local"]
    assert by_name["local"].host == "unix:///var/run/docker.sock"
    assert by_name["local"].description == "this machine" and not by_name["local"].has_tls
    assert by_name["build-box"].host == "ssh://ci@build.example:2222"
    lab = by_name["lab-tls"]
    assert lab.host == "tcp://127.0.0.1:23760" and not lab.skip_tls_verify
    assert lab.tls.ca_cert == tls["ca"].read_text()
    assert lab.tls.client_cert == tls["cert"].read_text()
    assert lab.tls.client_key == tls["key"].read_text()
    assert "BEGIN" not in repr(lab)  # the key is not in what gets logged
    assert contexts_folder(config) == contexts_folder(config / "contexts") == config / "contexts"


def _meta_folder(root: Path, name: str) -> Path:
    folder = root / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    folder.mkdir(parents=True)
    return folder


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "meta.json is not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"Name": 7}), "has no Name"),
        (json.dumps({"Name": "bad", "Endpoints": []}), "no Endpoints object"),
        (json.dumps({"Name": "bad", "Endpoints": {"docker": {"Host": 5}}}), "not an engine URL"),
        (
            json.dumps({"Name": "bad", "Endpoints": {"docker": {"Host": "npipe:////./pipe/x"}}}),
            "npipe:// engines are not supported",
        ),
        (
            json.dumps(
                {"Name": "bad", "Endpoints": {"docker": {"Host": "tcp://h", "SkipTLSVerify": 1}}}
            ),
            "SkipTLSVerify is not true or false",
        ),
        (b"\xff\xfe".decode("latin-1"), "not UTF-8"),
        ("x" * (MAX_FILE_BYTES + 1), "larger than 64 KiB"),
    ],
)
def test_a_malformed_context_is_a_clear_problem_and_the_others_are_read(
    cli_contexts, text, reason
) -> None:
    config, _tls = cli_contexts
    bad = _meta_folder(config, "bad")
    (bad / "meta.json").write_bytes(text.encode("latin-1"))
    contexts, problems = read_contexts(config)
    assert [c.name for c in contexts] == ["build-box", "lab-tls", "local"]
    assert len(problems) == 1 and reason in problems[0].reason, problems


def test_a_context_folder_not_named_after_its_context_or_a_linked_file_is_refused(
    cli_contexts, tmp_path
) -> None:
    config, _tls = cli_contexts
    meta = config / "contexts" / "meta"
    wrong = meta / ("0" * 64)
    wrong.mkdir()
    body = {"Name": "elsewhere", "Endpoints": {"docker": {"Host": "unix:///x.sock"}}}
    (wrong / "meta.json").write_text(json.dumps(body))
    linked = _meta_folder(config, "linked")
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({**body, "Name": "linked"}))
    (linked / "meta.json").symlink_to(secret)
    (meta / "stray-file").write_text("x")
    tls_of_local = config / "contexts" / "tls" / hashlib.sha256(b"local").hexdigest() / "docker"
    tls_of_local.mkdir(parents=True)
    (tls_of_local / "key.pem").symlink_to(secret)
    contexts, problems = read_contexts(config)
    assert [c.name for c in contexts] == ["build-box", "lab-tls"]
    reasons = {p.where: p.reason for p in problems}
    assert "not named after 'elsewhere'" in reasons["elsewhere"]
    assert "meta.json is not a regular file" in reasons[linked.name]
    assert "not a context folder" in reasons["stray-file"]
    assert "TLS key.pem: key.pem is not a regular file" in reasons["local"]


def test_a_folder_without_contexts_is_refused(tmp_path) -> None:
    with pytest.raises(ContextsFolderError, match="holds no Docker contexts"):
        read_contexts(tmp_path)
