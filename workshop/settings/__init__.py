"""Lab settings: how many nodes, which subnet, which provider.

Settings come from defaults, then an optional ``workshop.yml`` in the project
directory, then ``WORKSHOP_*`` environment variables (an empty variable counts as
unset). This package is their only reader: the Vagrantfile asks
``python -m workshop.settings --json`` (see :mod:`workshop.settings.__main__`) for
what it resolved, so Python and Vagrant always agree on node names, roles, addresses
and the provider.

=====================  =========================  ==============
``workshop.yml`` key   environment variable       default
=====================  =========================  ==============
``name``               ``WORKSHOP_LAB``           ``workshop``
``nodes``              ``WORKSHOP_NODES``         ``3``
``managers``           ``WORKSHOP_MANAGERS``      ``2``
``subnet``             ``WORKSHOP_SUBNET``        ``192.168.56``
``memory`` (MB)        ``WORKSHOP_MEMORY``        ``2048``
``cpus``               ``WORKSHOP_CPUS``          ``2``
``provider``           ``WORKSHOP_PROVIDER``      ``auto``
``node_flags``         ``WORKSHOP_NODE_FLAGS``    ``auto``
=====================  =========================  ==============

Rules: ``nodes`` 1 to 9; ``managers`` 1 to ``nodes``; ``memory`` 256 to 65536;
``cpus`` 1 to 64; ``subnet`` three octets 0-255 without leading zeros, not a
loopback, multicast or reserved network; ``name`` matches ``[a-z0-9][a-z0-9-]*``;
``provider`` one of docker, virtualbox, libvirt, auto; ``node_flags`` one of auto,
restricted, privileged. ``node-i`` (i from 1) has address ``<subnet>.<10+i>``; the
first ``managers`` nodes are managers. ``auto`` is resolved by :class:`Host`.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from workshop.errors import UnknownNode, UsageError
from workshop.settings.host import Host

__all__ = [
    "ENV_VARS",
    "NODE_FLAGS",
    "PROVIDERS",
    "RANGES",
    "REPLACE_ENV",
    "SETTINGS_FILE",
    "SNAPSHOTS_ENV",
    "Host",
    "LabSettings",
    "NodeFlags",
    "Provider",
    "replace_requested",
    "snapshots_requested",
]

Provider = Literal["docker", "virtualbox", "libvirt", "auto"]
NodeFlags = Literal["auto", "restricted", "privileged"]
PROVIDERS: tuple[str, ...] = get_args(Provider)
NODE_FLAGS: tuple[str, ...] = get_args(NodeFlags)

#: The optional settings file in the project directory.
SETTINGS_FILE = "workshop.yml"

#: Settings field -> environment variable that overrides it.
ENV_VARS: dict[str, str] = {
    "name": "WORKSHOP_LAB",
    "nodes": "WORKSHOP_NODES",
    "managers": "WORKSHOP_MANAGERS",
    "subnet": "WORKSHOP_SUBNET",
    "memory": "WORKSHOP_MEMORY",
    "cpus": "WORKSHOP_CPUS",
    "provider": "WORKSHOP_PROVIDER",
    "node_flags": "WORKSHOP_NODE_FLAGS",
}

MAX_NODES = 9
MIN_MEMORY_MB = 256
MAX_MEMORY_MB = 65536
MAX_CPUS = 64
#: Whole-number settings -> (lowest, highest, unit); ``managers`` is bounded by ``nodes``.
RANGES: dict[str, tuple[int, int, str]] = {
    "nodes": (1, MAX_NODES, ""),
    "memory": (MIN_MEMORY_MB, MAX_MEMORY_MB, " (MB)"),
    "cpus": (1, MAX_CPUS, ""),
}
_INT_FIELDS = ("nodes", "managers", "memory", "cpus")
_NAME = re.compile(r"[a-z0-9-]+")
_SUBNET = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})")


def _subnet_problem(subnet: str) -> str | None:
    match = _SUBNET.fullmatch(subnet)
    if match is None or any(
        int(octet) > 255 or str(int(octet)) != octet for octet in match.groups()
    ):
        return f"must be the first three octets of an IPv4 network, like 192.168.56; got {subnet!r}"
    first = int(match.group(1))
    if first in (0, 127) or first >= 224:
        return f"{subnet!r} is a reserved, loopback or multicast network (use one like 192.168.56)"
    return None


def _range_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    nodes = values["nodes"]
    bounds = {**RANGES, "managers": (1, nodes, "")}
    for field, (low, high, unit) in bounds.items():
        if field == "managers" and not 1 <= nodes <= MAX_NODES:
            continue  # its bound is unknown until nodes is right
        if not low <= values[field] <= high:
            allowed = f"1 and nodes ({nodes})" if field == "managers" else f"{low} and {high}"
            found.append((field, f"must be between {allowed}{unit}, got {values[field]}"))
    return found


def _problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Check field values; return ``(field, what is wrong)`` pairs."""
    found: list[tuple[str, str]] = []
    for field in _INT_FIELDS:
        value = values[field]
        if not isinstance(value, int) or isinstance(value, bool):
            found.append((field, f"must be a whole number, got {value!r}"))
    if not found:
        found += _range_problems(values)
    name = values["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        found.append(("name", f"must use only a-z, 0-9 and '-', got {name!r}"))
    elif name.startswith("-"):
        found.append(("name", f"must start with a-z or 0-9, got {name!r}"))
    subnet = values["subnet"]
    problem = _subnet_problem(subnet if isinstance(subnet, str) else str(subnet))
    if problem:
        found.append(("subnet", problem))
    for field, choices in (("provider", PROVIDERS), ("node_flags", NODE_FLAGS)):
        if values[field] not in choices:
            found.append(
                (field, f"{values[field]!r} is not valid; choose one of: {', '.join(choices)}")
            )
    return found


def _raise_problems(problems: list[tuple[str, str]], sources: Mapping[str, str]) -> None:
    """Raise one UsageError, on one line, naming where each bad value came from."""
    if not problems:
        return
    lines = [f"{sources.get(field, field)} {text}" for field, text in problems]
    if len(lines) == 1:
        raise UsageError(f"invalid lab setting: {lines[0]}")
    raise UsageError("invalid lab settings: " + "; ".join(lines))


def _parse_int(value: object) -> object:
    """Turn ``"3"`` into ``3``; leave anything else for validation to report."""
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    return value


@dataclass(frozen=True)
class LabSettings:
    """What the lab looks like. Validated on creation (:class:`UsageError`).

    Attributes:
        name: Lab name, used in labels and container names (``[a-z0-9-]+``).
        nodes: Number of nodes, 1 to 9: ``node-1`` ... ``node-N``.
        managers: How many of the first nodes are swarm managers (1 to ``nodes``).
        subnet: First three octets of the lab network; ``node-i`` is ``<subnet>.1i``.
        memory: Memory per node in MB (VM providers), 256 to 65536.
        cpus: CPUs per node (VM providers), 1 to 64.
        provider: Vagrant provider, or ``auto`` to pick one that works here
            (:meth:`resolved_provider`).
        node_flags: Docker provider only: how node containers get their powers
            (:meth:`resolved_node_flags`).
    """

    name: str = "workshop"
    nodes: int = 3
    managers: int = 2
    subnet: str = "192.168.56"
    memory: int = 2048
    cpus: int = 2
    provider: Provider = "auto"
    node_flags: NodeFlags = "auto"

    def __post_init__(self) -> None:
        _raise_problems(_problems(dataclasses.asdict(self)), {})

    @classmethod
    def load(cls, project_dir: Path, env: Mapping[str, str] = os.environ) -> LabSettings:
        """Read ``workshop.yml`` (if present) in ``project_dir``, then the environment.

        Args:
            project_dir: Directory holding the optional ``workshop.yml``.
            env: Environment variables; ``WORKSHOP_*`` ones override the file.

        Returns:
            The validated settings.

        Raises:
            UsageError: A setting is invalid, or ``workshop.yml`` is malformed; the
                message names the file key or variable and the valid values.
        """
        values: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(cls)}
        sources: dict[str, str] = {}
        path = Path(project_dir) / SETTINGS_FILE
        if path.is_file():
            for key, value in _read_settings_file(path).items():
                values[key] = _parse_int(value) if key in _INT_FIELDS else value
                sources[key] = f"{key!r} in {path}"
        for field, var in ENV_VARS.items():
            raw = env.get(var, "")
            if raw.strip():
                value = raw.strip()
                values[field] = _parse_int(value) if field in _INT_FIELDS else value
                sources[field] = var
        _raise_problems(_problems(values), sources)
        return cls(**values)

    @property
    def node_names(self) -> list[str]:
        """Node names in order: ``["node-1", "node-2", ...]``."""
        return [f"node-{i}" for i in range(1, self.nodes + 1)]

    def _index(self, name: str) -> int:
        try:
            return self.node_names.index(name) + 1
        except ValueError:
            raise UnknownNode(name, self.node_names) from None

    def role(self, name: str) -> Literal["manager", "worker"]:
        """Return ``"manager"`` for the first ``managers`` nodes, else ``"worker"``.

        Raises:
            UnknownNode: ``name`` is not one of :attr:`node_names`.
        """
        return "manager" if self._index(name) <= self.managers else "worker"

    def address(self, name: str) -> str:
        """Return a node's lab address: ``node-1`` is ``<subnet>.11``.

        Raises:
            UnknownNode: ``name`` is not one of :attr:`node_names`.
        """
        return f"{self.subnet}.{10 + self._index(name)}"

    @property
    def network(self) -> str:
        """The lab network in CIDR form, e.g. ``192.168.56.0/24``."""
        return f"{self.subnet}.0/24"

    def resolved_provider(self, host: Host | None = None) -> str:
        """The provider to use: the one set, or for ``auto`` what this host can run.

        ``auto`` picks VirtualBox where it can run, then libvirt where KVM, the libvirt
        daemon and Vagrant's ``vagrant-libvirt`` plugin are all present, else docker.

        Args:
            host: What the host offers (default: :meth:`Host.probe`).
        """
        if self.provider != "auto":
            return self.provider
        return (host or Host.probe()).auto_provider()

    def resolved_node_flags(self, host: Host | None = None) -> str:
        """How node containers get their powers: the flags set, or for ``auto`` the host's.

        Args:
            host: What the host offers (default: :meth:`Host.probe`).
        """
        if self.node_flags != "auto":
            return self.node_flags
        return (host or Host.probe()).auto_node_flags()

    def resolved(self, host: Host | None = None) -> dict[str, Any]:
        """The settings with every ``auto`` resolved, and the machines: what Vagrant reads.

        Args:
            host: What the host offers (default: :meth:`Host.probe`).

        Returns:
            A JSON-ready mapping: the settings, plus ``machines``, one
            ``{"name", "role", "address"}`` mapping per node in order.
        """
        host = host or Host.probe()
        values = dataclasses.asdict(self)
        values["provider"] = self.resolved_provider(host)
        values["node_flags"] = self.resolved_node_flags(host)
        values["machines"] = [
            {"name": name, "role": self.role(name), "address": self.address(name)}
            for name in self.node_names
        ]
        return values


def _read_settings_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise UsageError(f"{path} is not valid YAML: {problem}{where}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path} must be a mapping of settings, like 'nodes: 3'")
    valid = list(ENV_VARS)
    unknown = [str(key) for key in data if key not in valid]
    if unknown:
        raise UsageError(
            f"{path} has unknown setting(s) {', '.join(map(repr, unknown))}; "
            f"valid keys are: {', '.join(valid)}"
        )
    return {str(key): value for key, value in data.items()}


#: Not a setting of the lab's shape but of `workshop up`: replace a lab of the same
#: name that another folder made, or that names no folder, as `workshop up --replace`
#: does. Meant for disposable labs (the tests set it); a user's lab is never replaced
#: without it.
REPLACE_ENV = "WORKSHOP_REPLACE"
_YES = ("1", "yes", "true")
_NO = ("", "0", "no", "false")


def _switch(env: Mapping[str, str], var: str, default: bool, on: str, off: str) -> bool:
    """A yes/no variable: 1/yes/true or 0/no/false (unset or empty: ``default``)."""
    value = env.get(var, "").strip().lower()
    if not value:
        return default
    if value not in _YES + _NO:
        choices = f"1 ({on}{', the default' if default else ''}) or 0 ({off}"
        raise UsageError(f"{var}={value!r}: use {choices}{'' if default else ', the default'})")
    return value in _YES


def replace_requested(env: Mapping[str, str] = os.environ) -> bool:
    """Whether ``WORKSHOP_REPLACE`` asks `up` to replace another folder's lab of this name.

    Raises:
        UsageError: The variable is set to something other than 1/yes/true or 0/no/false.
    """
    return _switch(env, REPLACE_ENV, False, "replace", "refuse")


#: Whether ``lab.require`` restores a state from its snapshot, and saves the states
#: chapters start from (docker provider labs only; 0 turns it off).
SNAPSHOTS_ENV = "WORKSHOP_SNAPSHOTS"


def snapshots_requested(env: Mapping[str, str] = os.environ) -> bool:
    """Whether ``WORKSHOP_SNAPSHOTS`` lets ``require`` use snapshots (the default).

    Raises:
        UsageError: The variable is set to something other than 1/yes/true or 0/no/false.
    """
    return _switch(env, SNAPSHOTS_ENV, True, "use snapshots", "always run the steps")
