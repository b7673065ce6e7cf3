"""OpenSSH config text read into SSH endpoints, through :class:`paramiko.SSHConfig`.

``vagrant ssh-config`` prints this format, and an inventory of real hosts may be
written in it. paramiko applies OpenSSH's rules: host patterns and negations,
the first value of a keyword wins, ``IdentityFile`` values add up, quotes,
``%h`` and ``~``, ``Match`` blocks. This module adds what paramiko leaves out:
the concrete hosts in file order, and the ``# key: value`` comments of a host's
block, which carry what SSH has no keyword for (``# role: manager``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from paramiko import SSHConfig, SSHException

from workshop.errors import UsageError
from workshop.lab.node import SSHEndpoint

__all__ = ["SSHHost", "parse_ssh_config", "read_ssh_config"]

_HOST_LINE = re.compile(r"^host(?:\s*=\s*|\s+)(.*)$", re.IGNORECASE)
_MATCH_LINE = re.compile(r"^match(?:\s*=\s*|\s+)", re.IGNORECASE)
_NOTE = re.compile(r"^#+\s*([A-Za-z][\w-]*)\s*[:=]\s*(\S.*?)\s*$")


@dataclass(frozen=True)
class SSHHost:
    """One concrete host of an OpenSSH config.

    Attributes:
        name: The host's name (a ``Host`` pattern without wildcards).
        endpoint: Where and how SSH reaches it.
        notes: ``# key: value`` comments of its ``Host`` blocks (keys lowercased).
    """

    name: str
    endpoint: SSHEndpoint
    notes: dict[str, str]


def _host_blocks(text: str) -> tuple[str, dict[str, dict[str, str]]]:
    """Read the ``Host`` lines and the notes below them.

    Returns:
        The text with comments cut from ``Host`` lines (paramiko would take their
        words for host patterns), and every host pattern -> its notes, in file order.
    """
    lines: list[str] = []
    notes: dict[str, dict[str, str]] = {}
    current: list[str] = []  # patterns of the block being read; none in a Match block
    for raw in text.splitlines():
        line = raw.strip()
        host = _HOST_LINE.match(line)
        note = _NOTE.match(line)
        if host:
            patterns, _, comment = host.group(1).partition("#")
            try:
                current = shlex.split(patterns)
            except ValueError as exc:
                raise UsageError(f"SSH config: cannot read {line!r}: {exc}") from exc
            raw = f"Host {shlex.join(current)}"
            note = _NOTE.match(f"#{comment}") if comment else None
            for pattern in current:
                notes.setdefault(pattern, {})
        elif _MATCH_LINE.match(line):
            current = []
        if note:
            for pattern in current:
                notes[pattern].setdefault(note.group(1).lower(), note.group(2))
        lines.append(raw)
    return "\n".join(lines), notes


def _endpoint(config: SSHConfig, name: str) -> SSHEndpoint:
    """Host ``name``'s endpoint, from paramiko's lookup (OpenSSH's rules)."""
    try:
        options = config.lookup(name)
    except SSHException as exc:  # a Match or canonicalization that cannot be evaluated
        raise UsageError(f"SSH config for {name}: {exc}") from exc
    port = options.get("port", "22")
    if not port.isdigit():
        raise UsageError(f"SSH config for {name}: Port must be a number, got {port!r}")
    return SSHEndpoint(
        host=options["hostname"],
        port=int(port),
        user=options.get("user"),
        identity_files=tuple(options.get("identityfile", [])),
    )


def read_ssh_config(text: str) -> list[SSHHost]:
    """Read an OpenSSH config: its concrete hosts, their endpoints and notes.

    Reads ``HostName`` (default: the host's name), ``Port`` (default 22), ``User``
    and every ``IdentityFile``; other keywords are ignored.

    Args:
        text: The config text.

    Returns:
        The hosts without wildcards or negations, in file order.

    Raises:
        UsageError: A line cannot be read, or a port is not a number.
    """
    clean, notes = _host_blocks(text)
    try:
        config = SSHConfig.from_text(clean)
    except (SSHException, ValueError) as exc:  # a keyword without a value, a bad quote
        raise UsageError(f"SSH config: {exc}") from exc
    # Not config.get_hostnames(): it is a set (the order is lost) and raises KeyError
    # when the file has a Match block (paramiko issue #2014).
    names = [pattern for pattern in notes if not set("*?!") & set(pattern)]
    return [SSHHost(name, _endpoint(config, name), notes[name]) for name in names]


def parse_ssh_config(text: str) -> dict[str, SSHEndpoint]:
    """Host name -> endpoint, in file order, such as ``vagrant ssh-config`` prints.

    Raises:
        UsageError: See :func:`read_ssh_config`.
    """
    return {host.name: host.endpoint for host in read_ssh_config(text)}
