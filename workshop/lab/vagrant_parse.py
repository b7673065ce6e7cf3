"""Pure parsers for what Vagrant prints: machine states and SSH configs.

No process is started here: the Vagrant lab source runs ``vagrant status
--machine-readable`` and ``vagrant ssh-config`` and hands their output to these
functions, which are tested on recordings from a real lab (``tests/data/vagrant``).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

from workshop.errors import UsageError
from workshop.lab.node import SSHEndpoint

__all__ = [
    "MachineStatus",
    "SSHHostBlock",
    "endpoint_from_options",
    "find_error",
    "parse_ssh_config",
    "parse_status",
    "ssh_config_blocks",
    "ssh_config_hosts",
    "ssh_config_options",
]

_RECORD = re.compile(r"^(\d+),([^,]*),([^,]*)(?:,(.*))?$")


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


def _records(machine_readable: str) -> list[tuple[str, str, list[str]]]:
    """Split machine-readable output into ``(target, type, data fields)``."""
    records = []
    for line in machine_readable.splitlines():
        match = _RECORD.match(line.strip())
        if match is None:
            continue  # plugin chatter, warnings: not a record
        _timestamp, target, kind, data = match.groups()
        fields = [_unescape(item) for item in data.split(",")] if data is not None else []
        records.append((target, kind, fields))
    return records


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


@dataclass
class SSHHostBlock:
    """One ``Host`` block of an OpenSSH config file.

    Attributes:
        patterns: Host patterns (``node-1``, ``*``, ``!bastion``).
        options: ``(lowercased keyword, value)`` pairs, in order.
        notes: ``# key: value`` comments inside the block (keys lowercased).
    """

    patterns: list[str]
    options: list[tuple[str, str]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    def matches(self, name: str) -> bool:
        """Whether this block applies to host ``name`` (OpenSSH pattern rules)."""
        positive = False
        for pattern in self.patterns:
            if pattern.startswith("!"):
                if fnmatch.fnmatchcase(name, pattern[1:]):
                    return False
            elif fnmatch.fnmatchcase(name, pattern):
                positive = True
        return positive


_OPTION = re.compile(r"^(\S+?)(?:\s*=\s*|\s+)(.*)$")
_NOTE = re.compile(r"^#+\s*([A-Za-z][\w-]*)\s*[:=]\s*(\S.*?)\s*$")


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def ssh_config_blocks(text: str) -> list[SSHHostBlock]:
    """Split an OpenSSH config into ``Host`` blocks.

    Options before the first ``Host`` line form a block for ``*``. ``Match`` blocks
    are skipped (the kit cannot evaluate them); ``Include`` is ignored.

    Args:
        text: The config file's text.

    Returns:
        The blocks, in file order.
    """
    blocks: list[SSHHostBlock] = [SSHHostBlock(patterns=["*"])]
    current: SSHHostBlock | None = blocks[0]
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            note = _NOTE.match(line)
            if note and current is not None:
                current.notes[note.group(1).lower()] = note.group(2)
            continue
        match = _OPTION.match(line)
        if match is None:
            continue  # a keyword without a value: nothing to use
        keyword, value = match.group(1).lower(), match.group(2)
        if keyword == "host":
            patterns, _, comment = value.partition(" #")
            current = SSHHostBlock(patterns=[_unquote(p) for p in patterns.split()])
            note = _NOTE.match("#" + comment) if comment else None
            if note:
                current.notes[note.group(1).lower()] = note.group(2)
            blocks.append(current)
        elif keyword == "match":
            current = None
        elif current is not None:
            current.options.append((keyword, _unquote(value)))
    return blocks


def ssh_config_hosts(blocks: list[SSHHostBlock]) -> list[str]:
    """Return the concrete host names (no wildcards, no negations), in file order."""
    names: list[str] = []
    for block in blocks:
        for pattern in block.patterns:
            if not any(c in pattern for c in "*?!") and pattern not in names:
                names.append(pattern)
    return names


def ssh_config_options(blocks: list[SSHHostBlock], name: str) -> dict[str, list[str]]:
    """Resolve the options for host ``name`` the way OpenSSH does.

    The first value found for a keyword wins, except ``IdentityFile``, whose values
    accumulate in order.

    Args:
        blocks: From :func:`ssh_config_blocks`.
        name: A host name.

    Returns:
        Lowercased keyword -> values (one value, or several for ``identityfile``).
    """
    options: dict[str, list[str]] = {}
    for block in blocks:
        if not block.matches(name):
            continue
        for keyword, value in block.options:
            if keyword == "identityfile":
                options.setdefault(keyword, []).append(value)
            else:
                options.setdefault(keyword, [value])
    return options


def endpoint_from_options(name: str, options: dict[str, list[str]]) -> SSHEndpoint:
    """Build host ``name``'s endpoint from :func:`ssh_config_options`.

    Raises:
        UsageError: The port is not a number.
    """
    host = options.get("hostname", [name])[0].replace("%h", name)
    port_text = options.get("port", ["22"])[0]
    if not port_text.isdigit():
        raise UsageError(f"SSH config for {name}: Port must be a number, got {port_text!r}")
    user = options.get("user", [None])[0]
    return SSHEndpoint(
        host=host,
        port=int(port_text),
        user=user,
        identity_files=tuple(options.get("identityfile", [])),
    )


def parse_ssh_config(text: str) -> dict[str, SSHEndpoint]:
    """Parse OpenSSH-style ``Host`` blocks, such as ``vagrant ssh-config`` prints.

    Reads ``HostName`` (default: the host's name), ``Port`` (default 22), ``User``
    and every ``IdentityFile`` (quotes removed); other keywords are ignored.

    Args:
        text: The config text.

    Returns:
        Host name -> endpoint, for every concrete (non-wildcard) host, in file order.

    Raises:
        UsageError: A port is not a number.
    """
    blocks = ssh_config_blocks(text)
    return {
        name: endpoint_from_options(name, ssh_config_options(blocks, name))
        for name in ssh_config_hosts(blocks)
    }
