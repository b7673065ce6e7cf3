"""Pure parsers for what Vagrant prints: machine states, errors and SSH configs.

No process is started here: the Vagrant lab source runs ``vagrant status
--machine-readable`` and ``vagrant ssh-config`` and hands their output to these
functions, which are tested on recordings from a real lab (``tests/data/vagrant``).
Vagrant's machine-readable lines are CSV records (``timestamp,target,type,data...``);
``vagrant ssh-config`` prints an OpenSSH config, read by
:func:`~workshop.lab.ssh_config.parse_ssh_config`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass

from workshop.lab.ssh_config import parse_ssh_config

__all__ = ["MachineStatus", "find_error", "parse_ssh_config", "parse_status"]


@dataclass(frozen=True)
class MachineStatus:
    """One machine in ``vagrant status``.

    Attributes:
        name: Machine name from the Vagrantfile.
        state: Provider state id: ``running``, ``stopped``, ``not_created``...
        provider: Provider name (``docker``, ``virtualbox``, ``libvirt``).
        state_human: Short human state, e.g. ``not created``.
        description: Vagrant's long explanation of the state.
    """

    name: str
    state: str
    provider: str = ""
    state_human: str = ""
    description: str = ""

    @property
    def running(self) -> bool:
        """Whether the machine is up."""
        return self.state == "running"

    @property
    def created(self) -> bool:
        """Whether the machine exists at all (running or not)."""
        return self.state != "not_created"


def _unescape(data: str) -> str:
    """Undo Vagrant's machine-readable escaping of commas and newlines."""
    return data.replace("%!(VAGRANT_COMMA)", ",").replace("\\n", "\n").replace("\\r", "\r")


def _records(machine_readable: str) -> Iterator[tuple[str, str, list[str]]]:
    """Machine-readable output as ``(target, type, data fields)``; other lines are skipped.

    Vagrant quotes nothing (a comma in data is written ``%!(VAGRANT_COMMA)``), so
    quote characters are data.
    """
    lines = (line.strip() for line in machine_readable.splitlines())
    for row in csv.reader(lines, quoting=csv.QUOTE_NONE):
        if len(row) >= 3 and row[0].isdigit():  # else plugin chatter, warnings
            yield row[1], row[2], [_unescape(item) for item in row[3:]]


def parse_status(machine_readable: str) -> dict[str, MachineStatus]:
    """Parse ``vagrant status --machine-readable``.

    Args:
        machine_readable: The command's stdout.

    Returns:
        Machine name -> status, in the Vagrantfile's order.
    """
    found: dict[str, dict[str, str]] = {}
    keys = {
        "provider-name": "provider",
        "state": "state",
        "state-human-short": "state_human",
        "state-human-long": "description",
    }
    for target, kind, data in _records(machine_readable):
        if not target:
            continue  # UI messages have no target
        entry = found.setdefault(target, {})
        if kind in keys and data:
            entry[keys[kind]] = ",".join(data)
        elif kind == "metadata" and len(data) >= 2 and data[0] == "provider":
            entry.setdefault("provider", data[1])
    return {
        name: MachineStatus(name=name, **entry) for name, entry in found.items() if "state" in entry
    }


def find_error(machine_readable: str) -> str | None:
    """Return the message of an ``error-exit`` record, if Vagrant reported one.

    Args:
        machine_readable: Output of any ``vagrant --machine-readable`` command.

    Returns:
        ``"<error class>: <message>"``, or ``None`` if there is no error record.
    """
    for _target, kind, data in _records(machine_readable):
        if kind == "error-exit":
            name, message = (data[0], ",".join(data[1:])) if data else ("", "")
            return f"{name}: {message.strip()}" if name else message.strip()
    return None
