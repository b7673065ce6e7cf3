"""Read an inventory of real hosts (not made by Vagrant) into :class:`Node` objects.

Two formats are accepted, told apart by content:

YAML::

    known_hosts: ~/lab/known_hosts   # optional (default: ~/.ssh/known_hosts)
    defaults:            # optional, for every node
      user: ubuntu
      identity_file: ~/.ssh/lab_ed25519
    nodes:
      - name: node-1
        host: 203.0.113.11      # SSH host (default: the name)
        port: 22                # optional
        address: 10.0.0.11      # lab address (default: host)
        role: manager           # optional
      - name: node-2
        host: 203.0.113.12
        known_hosts: other_known_hosts   # optional, this node only

An OpenSSH config file (any line ``Host <name>``), read with OpenSSH's rules by
:mod:`workshop.lab.ssh_config`: each concrete host is a node, and comments in its
block give what SSH has no keyword for::

    Host node-1
      # role: manager
      # address: 10.0.0.11
      # known_hosts: ~/lab/known_hosts
      HostName 203.0.113.11
      User ubuntu

Roles (:func:`assign_roles`): a role a node names is kept. When some node is named
``manager``, the nodes without a role are workers: the managers were chosen. Else
the nodes without a role become managers in file order until the lab has as many
as the Vagrant lab by default (``managers: 2``), never every node of a lab of two
or more, and the rest are workers. The README's example (``role: worker`` on the
third of three nodes) has two managers and one worker.

Fields that reach a command line or a file on the nodes are checked: ``host`` is
a host name or an IP address (an IPv6 literal may be in brackets, which are
dropped), ``user`` does not start with ``-`` nor hold spaces, and ``address`` is an
IP address. A node without ``identity_file`` logs in as ``ssh`` would: with the SSH
agent's keys and ``~/.ssh/id_*``. Relative ``identity_file`` paths in YAML are
relative to the inventory file.

Host keys: each node's key is checked against a known_hosts file, the user's
``~/.ssh/known_hosts`` unless the inventory names another (``known_hosts`` at the
top for every node, or on a node; relative to the inventory file; its folder must
exist). A host whose key is not there is refused until ``workshop trust NODE``
adds it with the user's consent (:mod:`workshop.lab.hostkeys`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from workshop.errors import UsageError
from workshop.lab.node import ROLES, Node, Role, SSHEndpoint
from workshop.lab.ssh_config import read_ssh_config
from workshop.settings import LabSettings

__all__ = ["assign_roles", "default_roles", "is_ip_address", "is_ssh_config", "parse_inventory"]

_SSH_HOST_LINE = re.compile(r"^\s*host\s+[^\s:=]", re.IGNORECASE | re.MULTILINE)
_NODE_KEYS = ("name", "host", "port", "user", "identity_file", "role", "address", "known_hosts")
_DEFAULT_KEYS = ("port", "user", "identity_file")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# A DNS name or an IPv4 address: no '-' first (it would be an option), no '@' or ':'
# (Fabric reads "user@host:port" out of a host), no spaces or control characters.
_HOST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class _Entry:
    name: str
    ssh: SSHEndpoint
    role: str | None
    address: str | None


def is_ssh_config(text: str) -> bool:
    """Whether ``text`` looks like an OpenSSH config (has a ``Host <name>`` line)."""
    return _SSH_HOST_LINE.search(text) is not None


def default_roles(count: int) -> list[Role]:
    """Roles for ``count`` nodes when the inventory names none (see :func:`assign_roles`).

    Returns:
        Two managers first if ``count >= 3``, else one; workers after them.
    """
    return assign_roles([None] * count)


def assign_roles(named: Sequence[str | None]) -> list[Role]:
    """Every node's role, from the roles the inventory names (``None``: not named).

    Named roles are kept. If a node is named ``manager``, the others are workers.
    Else nodes without a role are managers in order until there are as many as the
    Vagrant lab has by default (2), but fewer than the nodes when there are two or
    more; the rest are workers.

    Args:
        named: Each node's role as written, in file order (only valid roles).

    Returns:
        One role per node; it may have no manager when every node is named ``worker``.
    """
    if "manager" in named:
        return ["manager" if role == "manager" else "worker" for role in named]
    wanted = min(LabSettings().managers, max(len(named) - 1, 1))
    roles: list[Role] = []
    for role in named:
        promote = role is None and roles.count("manager") < wanted
        roles.append("manager" if promote else "worker")
    return roles


def is_ip_address(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address and nothing else.

    No zone (``%eth0``), no prefix, no spaces: what may go into /etc/hosts or a rule.
    """
    if "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_inventory(path: str | Path) -> list[Node]:
    """Read an inventory file (YAML or OpenSSH config) into nodes.

    Args:
        path: The inventory file.

    Returns:
        The nodes, in file order.

    Raises:
        UsageError: The file is missing or malformed: a node without a name, a
            duplicate name, a bad role, an unknown key, no manager.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"inventory file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    entries = _from_ssh_config(text, path) if is_ssh_config(text) else _from_yaml(text, path)
    return _nodes(entries, path)


def _nodes(entries: list[_Entry], path: Path) -> list[Node]:
    if not entries:
        raise UsageError(f"{path} lists no nodes")
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        if not _NAME.fullmatch(entry.name):
            raise UsageError(
                f"{path}: node #{index}: name {entry.name!r} must use only letters, "
                "digits, '.', '_', '-'"
            )
        if entry.name in seen:
            raise UsageError(f"{path}: node {entry.name!r} is listed twice")
        seen.add(entry.name)
        if entry.role is not None and entry.role not in ROLES:
            raise UsageError.choice(f"{path}: role of {entry.name}", entry.role, ROLES)
    entries = [_checked(entry, f"{path}: node {entry.name}") for entry in entries]
    roles = assign_roles([entry.role for entry in entries])
    if "manager" not in roles:
        raise UsageError(f"{path}: no node has role 'manager'; a swarm needs at least one")
    return [
        Node(name=entry.name, role=role, address=entry.address or entry.ssh.host, ssh=entry.ssh)
        for entry, role in zip(entries, roles, strict=True)
    ]


def _checked(entry: _Entry, where: str) -> _Entry:
    """The entry, once its host, user and address cannot become options or lines.

    Raises:
        UsageError: One of them is not what it should be; ``where`` and the field are named.
    """
    host = entry.ssh.host
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not _HOST_NAME.fullmatch(host):
        if ":" not in bare or not is_ip_address(bare):
            raise UsageError(
                f"{where}: host {host!r} is not a host name or an IP address: use letters, "
                "digits, '.', '_' and '-' (not first), or an IP address such as 10.0.0.11"
            )
        host = bare  # an IPv6 literal, without brackets: what paramiko and ssh take
    user = entry.ssh.user
    if user is not None and (
        user.startswith("-") or any(ch.isspace() or not ch.isprintable() for ch in user)
    ):
        raise UsageError(
            f"{where}: user {user!r} must not start with '-' nor hold spaces or control characters"
        )
    if entry.address is not None and not is_ip_address(entry.address):
        raise UsageError(
            f"{where}: address {entry.address!r} is not an IP address: give the node's "
            "address on the lab network, such as 10.0.0.11 (or leave it out to use host)"
        )
    return replace(entry, ssh=replace(entry.ssh, host=host, user=user or None))


def _from_ssh_config(text: str, path: Path) -> list[_Entry]:
    return [
        _Entry(
            host.name,
            replace(
                host.endpoint,
                known_hosts=_known_hosts(
                    host.notes.get("known_hosts"), f"{path}: {host.name}", path
                ),
            ),
            host.notes.get("role"),
            host.notes.get("address"),
        )
        for host in read_ssh_config(text)
    ]


def _known_hosts(value: object, where: str, inventory: Path) -> str | None:
    """A ``known_hosts`` path, absolute (relative ones are relative to the inventory).

    Raises:
        UsageError: Not a path, a folder, or in a folder that does not exist.
    """
    text = _text(value, f"{where} known_hosts")
    if text is None:
        return None
    if not text.strip() or any(not ch.isprintable() for ch in text):
        raise UsageError(f"{where}: known_hosts {text!r} must be the path of a file")
    file = inventory.absolute().parent / Path(text).expanduser()
    if file.is_dir():
        raise UsageError(f"{where}: known_hosts {text!r} is a folder: give the path of a file")
    if not file.parent.is_dir():
        raise UsageError(
            f"{where}: the folder of known_hosts {text!r} ({file.parent}) does not exist: "
            "create it, or correct the path"
        )
    return str(file)


def _from_yaml(text: str, path: Path) -> list[_Entry]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is neither an SSH config nor valid YAML: {exc}") from exc
    if not isinstance(data, dict) or "nodes" not in data:
        raise UsageError(
            f"{path} must be YAML with a 'nodes:' list (or an SSH config with Host lines)"
        )
    _check_keys(data, ("nodes", "defaults", "known_hosts"), str(path))
    known_hosts = _known_hosts(data.get("known_hosts"), str(path), path)
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise UsageError(f"{path}: 'defaults' must be a mapping of {', '.join(_DEFAULT_KEYS)}")
    _check_keys(defaults, _DEFAULT_KEYS, f"{path} defaults")
    nodes = data["nodes"]
    if not isinstance(nodes, list):
        raise UsageError(f"{path}: 'nodes' must be a list of mappings with name and host")
    entries = [_yaml_entry(item, i, defaults, path) for i, item in enumerate(nodes, start=1)]
    return [
        entry
        if entry.ssh.known_hosts
        else replace(entry, ssh=replace(entry.ssh, known_hosts=known_hosts))
        for entry in entries
    ]


def _check_keys(data: dict[Any, Any], valid: tuple[str, ...], where: str) -> None:
    unknown = [str(key) for key in data if key not in valid]
    if unknown:
        raise UsageError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"valid keys are: {', '.join(valid)}"
        )


def _text(value: object, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UsageError(f"{what} must be text, got {value!r}")
    return str(value)


def _yaml_entry(item: object, index: int, defaults: dict[str, Any], path: Path) -> _Entry:
    where = f"{path}: node #{index}"
    if not isinstance(item, dict):
        raise UsageError(f"{where} must be a mapping with at least 'name', got {item!r}")
    _check_keys(item, _NODE_KEYS, where)
    name = _text(item.get("name"), f"{where} name")
    if not name:
        raise UsageError(f"{where} has no 'name'")
    where = f"{path}: node {name}"
    merged = {**defaults, **item}
    port = merged.get("port", 22)
    if isinstance(port, bool) or not isinstance(port, int | str) or not str(port).isdigit():
        raise UsageError(f"{where}: port must be a number, got {port!r}")
    if not 1 <= int(port) <= 65535:
        raise UsageError(f"{where}: port must be between 1 and 65535, got {port}")
    files = merged.get("identity_file") or []
    files = [files] if isinstance(files, str) else files
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise UsageError(f"{where}: identity_file must be a path or a list of paths")
    return _Entry(
        name=name,
        ssh=SSHEndpoint(
            host=_text(merged.get("host"), f"{where} host") or name,
            port=int(port),
            user=_text(merged.get("user"), f"{where} user"),
            identity_files=tuple(str(path.absolute().parent / Path(f).expanduser()) for f in files),
            known_hosts=_known_hosts(item.get("known_hosts"), where, path),
        ),
        role=_text(merged.get("role"), f"{where} role"),
        address=_text(merged.get("address"), f"{where} address"),
    )
