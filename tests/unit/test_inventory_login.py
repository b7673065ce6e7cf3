"""A node without an identity file logs in as `ssh` would: the agent, then ~/.ssh/id_*.

The SSH server is a real one on loopback (tests/unit/fakes.py). HOME points at a
folder of the test's own, and no SSH agent is reachable, so the only key there is
is the one the test puts in ``~/.ssh``; the server's host key is recorded in its
``~/.ssh/known_hosts``, as the user would have it.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.unit.fakes import LoopbackSSHServer, loopback_node, record_host_keys, rsa_key
from workshop.errors import SSHAuthFailed
from workshop.lab.inventory_parse import parse_inventory
from workshop.remote.ssh import Remote, connect


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty home folder and no SSH agent."""
    folder = tmp_path / "home"
    (folder / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return folder


def trust(home: Path, port: int) -> None:
    record_host_keys(home / ".ssh" / "known_hosts", (f"[127.0.0.1]:{port}", rsa_key()))


def test_a_node_without_identity_file_logs_in_with_the_users_default_key(home, tmp_path):
    rsa_key().write_private_key_file(str(home / ".ssh" / "id_rsa"))
    with LoopbackSSHServer() as server:
        trust(home, server.port)
        inventory = tmp_path / "inventory.yml"
        inventory.write_text(
            f"nodes:\n  - {{name: node-1, host: 127.0.0.1, port: {server.port}, user: lab}}\n"
        )
        (node,) = parse_inventory(inventory)
        assert node.ssh.identity_files == ()
        result = Remote(connect_timeout=5).run_one(node, "hostname")
    assert (result.rc, result.error) == (0, None)
    (line,) = server.commands
    assert shlex.split(line)[:3] == ["sh", "-c", "hostname\nexit $?"]


def test_without_any_key_the_login_failure_says_which_keys_were_tried(home):
    with LoopbackSSHServer() as server:
        trust(home, server.port)
        node = loopback_node(server.port)
        result = Remote(connect_timeout=5).run_one(node, "true")
        with pytest.raises(SSHAuthFailed) as info:
            connect(node)
    assert result.unreachable and "refused the SSH login" in result.error
    assert "with the SSH agent's keys and ~/.ssh/id_*" in result.error
    assert "with the SSH agent's keys and ~/.ssh/id_*" in str(info.value)
    assert server.commands == []
