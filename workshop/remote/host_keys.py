"""Which SSH host keys the kit accepts: the ones recorded for a node, never a new one.

A node's host key must be in a known_hosts file: the one its endpoint names (a lab
records its nodes' keys when it creates them) or the user's ``~/.ssh/known_hosts``.
A lab node's key is recorded under its node name (``host_key_alias``), since its
address and port change when it is recreated; the key found under that name is
filed, in memory, under the name paramiko looks up, so paramiko itself compares it
with the key the node presents. The file is only read, never written: a key nobody
recorded is refused (:class:`UnknownHostKey`), and so is a key that differs from
the recorded one (:class:`ChangedHostKey`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import paramiko

from workshop.errors import HostKeyRejected, UsageError
from workshop.lab.hostkeys import known_hosts_file, known_hosts_name, load_known_hosts
from workshop.lab.node import Node, SSHEndpoint

__all__ = [
    "ChangedHostKey",
    "UnknownHostKey",
    "changed_host_key",
    "fingerprint",
    "verify_host_keys",
]


class UnknownHostKey(HostKeyRejected):
    """A node presented a host key that is not recorded for it (a host not trusted yet)."""

    what = "presented an SSH host key that is not recorded for it"

    def __init__(self, node: Node, reason: str) -> None:
        self.advice = (
            f"Check that {node.ssh.host} really is {node.name}, then record its key "
            f"with `workshop trust {node.name}`."
        )
        super().__init__(node.name, node.address, reason)


class ChangedHostKey(HostKeyRejected):
    """A node presented a host key other than the one recorded for it."""

    what = "presented an SSH host key that differs from the one recorded for it"

    def __init__(self, node: Node, reason: str) -> None:
        name = known_hosts_name(node.ssh)
        self.advice = (
            "Someone may be intercepting the connection (a man in the middle), or the "
            "machine was re-installed. Only if you know it was re-installed: forget the "
            f"old key (`ssh-keygen -R '{name}' -f {known_hosts_file(node.ssh)}`) and "
            f"record the new one (`workshop trust {node.name}`); otherwise do not connect."
        )
        super().__init__(node.name, node.address, reason)


def fingerprint(key: paramiko.PKey) -> str:
    """A key as ``ssh-keygen -l`` shows it: type and SHA256 fingerprint."""
    return f"{key.get_name()} {key.fingerprint}"


def _lookup_name(ssh: SSHEndpoint) -> str:
    """The name paramiko looks the host up under (OpenSSH's ``[host]:port`` form)."""
    return ssh.host if ssh.port == 22 else f"[{ssh.host}]:{ssh.port}"


def _file_problem(path: Path) -> str | None:
    """Why a known_hosts file cannot be read (missing, unreadable), or None."""
    if not path.exists():
        return "the file does not exist"
    if not path.is_file():
        return "it is not a file"
    if not os.access(path, os.R_OK):
        return "the file cannot be read"
    return None


def recorded_keys(ssh: SSHEndpoint) -> paramiko.HostKeys:
    """The keys the node may present, filed under the name paramiko looks up.

    Without an alias that is the known_hosts file itself; with one, only the keys
    recorded under the alias, filed under the node's ``[host]:port``.
    """
    path = known_hosts_file(ssh)
    found = paramiko.HostKeys()
    if _file_problem(path) is None:
        try:
            found = load_known_hosts(path)
        except UsageError:  # unreadable after all, or not text: nothing recorded
            found = paramiko.HostKeys()
    if ssh.host_key_alias is None:
        return found
    filed = paramiko.HostKeys()
    for key in (found.lookup(ssh.host_key_alias) or {}).values():
        filed.add(_lookup_name(ssh), key.get_name(), key)
    return filed


class _RejectUnknown(paramiko.MissingHostKeyPolicy):
    """Refuse a host key that is not recorded: never add or save one."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> NoReturn:
        ssh = self.node.ssh
        path = known_hosts_file(ssh)
        where = f"{path} (under {ssh.host_key_alias})" if ssh.host_key_alias else str(path)
        problem = _file_problem(path)
        checked = f"{where}: {problem}" if problem else where
        offered = f"ssh {ssh}: its key {fingerprint(key)}"
        raise UnknownHostKey(self.node, f"{offered} is not in {checked}")


def verify_host_keys(client: paramiko.SSHClient, node: Node) -> None:
    """Make ``client`` accept only the host key recorded for ``node``.

    Replaces Fabric's policy (which adds any key) with one that refuses unknown keys;
    a key that differs from the recorded one makes paramiko raise
    ``BadHostKeyException`` (see :func:`changed_host_key`).
    """
    client.set_missing_host_key_policy(_RejectUnknown(node))
    known = client.get_host_keys()
    for name, entry in recorded_keys(node.ssh).items():
        for key in entry.values():
            known.add(name, key.get_name(), key)


def changed_host_key(node: Node, exc: paramiko.BadHostKeyException) -> ChangedHostKey:
    """The kit's error for a node whose host key is not the one recorded."""
    ssh = node.ssh
    recorded = f"{known_hosts_file(ssh)} records {fingerprint(exc.expected_key)}"
    offered = f"it offered {fingerprint(exc.key)}"
    return ChangedHostKey(node, f"ssh {ssh}: {offered}, {recorded} for {known_hosts_name(ssh)}")
