"""Lab settings: how many nodes, which subnet, which provider.

Settings come from defaults, then an optional ``workshop.yml`` in the project
directory, then ``WORKSHOP_*`` environment variables (an empty variable counts as
unset). The Vagrantfile applies the same rules with the same names and defaults, so
Python and Vagrant always agree on node names, roles and addresses.

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

Rules: ``nodes`` 1 to 9; ``managers`` 1 to ``nodes``; ``subnet`` three octets 0-255
without leading zeros; ``name`` matches ``[a-z0-9-]+``; ``memory`` at least 256;
``cpus`` at least 1; ``provider`` one of docker, virtualbox, libvirt, auto;
``node_flags`` one of auto, restricted, privileged. ``node-i`` (i from 1) has
address ``<subnet>.<10+i>``; the first ``managers`` nodes are managers.
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

__all__ = [
    "ENV_VARS",
    "NODE_FLAGS",
    "PROVIDERS",
    "SETTINGS_FILE",
    "LabSettings",
    "NodeFlags",
    "Provider",
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
_INT_FIELDS = ("nodes", "managers", "memory", "cpus")
_NAME = re.compile(r"[a-z0-9-]+")
_SUBNET = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})")


def _subnet_problem(subnet: str) -> str | None:
    match = _SUBNET.fullmatch(subnet)
    if match is None or any(
        int(octet) > 255 or str(int(octet)) != octet for octet in match.groups()
    ):
        return f"must be the first three octets of an IPv4 network, like 192.168.56; got {subnet!r}"
    return None


def _problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Check field values; return ``(field, what is wrong)`` pairs."""
    found: list[tuple[str, str]] = []
    for field in _INT_FIELDS:
        value = values[field]
        if not isinstance(value, int) or isinstance(value, bool):
            found.append((field, f"must be a whole number, got {value!r}"))
    if found:
        return found
    nodes, managers = values["nodes"], values["managers"]
    if not 1 <= nodes <= MAX_NODES:
        found.append(("nodes", f"must be between 1 and {MAX_NODES}, got {nodes}"))
    elif not 1 <= managers <= nodes:
        found.append(("managers", f"must be between 1 and nodes ({nodes}), got {managers}"))
    if values["memory"] < MIN_MEMORY_MB:
        found.append(("memory", f"must be at least {MIN_MEMORY_MB} (MB), got {values['memory']}"))
    if values["cpus"] < 1:
        found.append(("cpus", f"must be at least 1, got {values['cpus']}"))
    name = values["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        found.append(("name", f"must use only a-z, 0-9 and '-', got {name!r}"))
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
    if not problems:
        return
    lines = [f"{sources.get(field, field)} {text}" for field, text in problems]
    if len(lines) == 1:
        raise UsageError(f"invalid lab setting: {lines[0]}")
    raise UsageError("invalid lab settings:\n" + "\n".join(f"  - {line}" for line in lines))


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
        memory: Memory per node in MB (VM providers).
        cpus: CPUs per node (VM providers).
        provider: Vagrant provider, or ``auto`` to pick one that works here.
        node_flags: Docker provider only: how node containers get their powers.
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


def _read_settings_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is not valid YAML: {exc}") from exc
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
