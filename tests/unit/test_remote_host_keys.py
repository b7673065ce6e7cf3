"""Host keys: only the key recorded for a node is accepted, and the file is never written.

A real SSH server on loopback (paramiko's server side, its host key the session's
RSA key) and known_hosts files written by the test with real keys: recorded under
``[127.0.0.1]:port`` (an inventory host), under a node name (a lab node's alias),
hashed as OpenSSH writes them, a different key (changed), or none (unknown).
"""

from __future__ import annotations

from dataclasses import replace

import paramiko
import pytest

from tests.unit.fakes import (
    LoopbackSSHServer,
    loopback_node,
    record_host_keys,
    rsa_key,
    trusted_node,
    write_client_key,
)
from workshop.errors import HostKeyRejected, NodeUnreachable
from workshop.remote.host_keys import ChangedHostKey, UnknownHostKey, fingerprint
from workshop.remote.ssh import Remote, connect


@pytest.fixture
def key_file(tmp_path):
    return write_client_key(tmp_path)


def with_known_hosts(node, path, alias=None):
    return replace(node, ssh=replace(node.ssh, known_hosts=str(path), host_key_alias=alias))


def test_the_recorded_key_is_accepted_under_the_host_or_the_alias(key_file, tmp_path):
    with LoopbackSSHServer() as server:
        for folder, alias in ((tmp_path / "a", None), (tmp_path / "b", "node-1")):
            folder.mkdir()
            node = trusted_node(server.port, key_file, folder, alias=alias)
            before = (folder / "known_hosts").read_text()
            assert Remote().run_one(node, "true").succeeded
            assert (folder / "known_hosts").read_text() == before  # never written
    assert len(server.commands) == 2


def test_a_hashed_entry_is_found(key_file, tmp_path):
    with LoopbackSSHServer() as server:
        hashed = paramiko.HostKeys.hash_host(f"[127.0.0.1]:{server.port}")
        path = record_host_keys(tmp_path / "known_hosts", (hashed, rsa_key()))
        node = with_known_hosts(loopback_node(server.port, key_file), path)
        assert Remote().run_one(node, "true").succeeded


def test_an_unknown_key_is_refused_naming_the_file_and_workshop_trust(key_file, tmp_path):
    other = paramiko.RSAKey.generate(1024)
    with LoopbackSSHServer() as server:
        path = record_host_keys(tmp_path / "known_hosts", ("node-2", other))
        node = with_known_hosts(loopback_node(server.port, key_file), path, alias="node-1")
        result = Remote().run_one(node, "true")
        with pytest.raises(UnknownHostKey) as info:
            connect(node)
    assert result.unreachable and result.rc is None
    message = str(info.value)
    assert isinstance(info.value, HostKeyRejected) and isinstance(info.value, NodeUnreachable)
    assert "presented an SSH host key that is not recorded for it" in message
    assert f"{fingerprint(rsa_key())} is not in {path} (under node-1)" in message
    assert "`workshop trust node-1`" in message and "`workshop trust node-1`" in result.error
    assert server.commands == []
    assert (tmp_path / "known_hosts").read_text().count("\n") == 1  # nothing added


def test_an_inventory_host_is_checked_against_the_users_known_hosts(
    key_file, tmp_path, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path))
    with LoopbackSSHServer() as server:
        node = loopback_node(server.port, key_file)  # no known_hosts: the user's own
        result = Remote().run_one(node, "true")
        (tmp_path / ".ssh").mkdir()
        record_host_keys(
            tmp_path / ".ssh" / "known_hosts", (f"[127.0.0.1]:{server.port}", rsa_key())
        )
        assert Remote().run_one(node, "true").succeeded
    assert result.unreachable
    assert f"is not in {tmp_path}/.ssh/known_hosts: the file does not exist." in result.error
    assert "`workshop trust node-1`" in result.error


def test_a_changed_key_is_refused_as_a_possible_man_in_the_middle(key_file, tmp_path):
    old = paramiko.RSAKey.generate(1024)
    with LoopbackSSHServer() as server:
        path = record_host_keys(tmp_path / "known_hosts", ("node-1", old))
        node = with_known_hosts(loopback_node(server.port, key_file), path, alias="node-1")
        with pytest.raises(ChangedHostKey) as info:
            Remote().put_text(node, "x", "/etc/x")
        result = Remote().run_one(node, "true")
    message = str(info.value)
    assert "changed SSH host key: not the one recorded for it" in message
    assert f"it offered {fingerprint(rsa_key())}, {path} records {fingerprint(old)}" in message
    assert "man in the middle" in message and "re-installed" in message
    assert f"ssh-keygen -R 'node-1' -f {path}" in message and "workshop trust node-1" in message
    assert result.unreachable and "man in the middle" in result.error
    assert server.commands == []


@pytest.mark.parametrize(
    ("make", "problem"),
    [(None, "the file does not exist"), ("folder", "it is not a file"), ("binary", None)],
)
def test_a_known_hosts_file_that_cannot_be_used_is_a_clear_refusal(
    key_file, tmp_path, make, problem
):
    path = tmp_path / "lab" / "known_hosts"
    if make == "folder":
        path.mkdir(parents=True)
    elif make == "binary":
        path.parent.mkdir()
        path.write_bytes(b"\xff\xfe\x00 not text")
    with LoopbackSSHServer() as server:
        node = with_known_hosts(loopback_node(server.port, key_file), path, alias="node-1")
        with pytest.raises(UnknownHostKey) as info:
            connect(node)
    said = f"is not in {path} (under node-1)" + (f": {problem}." if problem else ".")
    assert said in str(info.value)
    assert make is not None or not path.exists()


def test_a_key_recorded_for_the_real_address_does_not_count_for_an_aliased_node(key_file, tmp_path):
    with LoopbackSSHServer() as server:
        path = record_host_keys(tmp_path / "known_hosts", (f"[127.0.0.1]:{server.port}", rsa_key()))
        node = with_known_hosts(loopback_node(server.port, key_file), path, alias="node-1")
        with pytest.raises(UnknownHostKey):
            connect(node)
