"""One round trip for a whole read of the swarm: the snapshot command and its parser.

:func:`snapshot_command` builds one shell line that a manager runs. It runs four
docker commands, one each of ``node ls``, ``node inspect``, ``service ls`` and
``service ps``, and prints their answers one after the other, each under a marker
line (``### workshop-snapshot node-ls``), then a last marker once all succeeded:

- ``node-ls``: ``docker node ls --format '{{json .}}'``
- ``node-inspect``: ``docker node inspect ID...`` (the nodes' addresses)
- ``service-ls``: ``docker service ls --format '{{json .}}'``
- ``service-ps``: ``docker service ps NAME... --no-trunc --format '{{json .}}'
  --filter desired-state=running`` for the services asked for that exist (a name
  the swarm does not have is left out, not an error).

The two listings run side by side, then the two commands that need their IDs and
names (the listings print ``ID JSON`` / ``NAME JSON`` lines into files of a
temporary folder, removed on exit). Every step is chained with ``&&``, so the first
that fails (no leader, not a manager) ends the line with docker's own error, and
the reader asks another manager just as it does for a single command.
:func:`parse_snapshot` splits the answer at the markers and parses each part with
:mod:`workshop.swarm.parse`.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import replace

from workshop.swarm.models import SwarmNode, SwarmSnapshot
from workshop.swarm.parse import (
    SwarmParseError,
    parse_node_inspect,
    parse_node_ls,
    parse_service_ls,
    parse_service_ps,
)

__all__ = [
    "JSON_FORMAT",
    "MARK",
    "NODE_INSPECT",
    "NODE_LS",
    "SERVICE_LS",
    "SERVICE_PS",
    "SNAPSHOT_SECTIONS",
    "parse_snapshot",
    "section_header",
    "snapshot_command",
    "split_sections",
    "with_addresses",
]

JSON_FORMAT = "{{json .}}"
#: Starts every marker line; docker's JSON lines start with ``{``, ``[`` or a space.
MARK = "### workshop-snapshot"
NODE_LS = "node-ls"
NODE_INSPECT = "node-inspect"
SERVICE_LS = "service-ls"
SERVICE_PS = "service-ps"
#: The marker printed once every command has succeeded.
END = "end"
SNAPSHOT_SECTIONS = (NODE_LS, NODE_INSPECT, SERVICE_LS, SERVICE_PS)


def section_header(name: str) -> str:
    """The marker line that starts section ``name`` (without the newline)."""
    return f"{MARK} {name}"


def _pipe(*commands: Sequence[str]) -> str:
    """``a | b | c`` from argument lists, each quoted."""
    return " | ".join(shlex.join(command) for command in commands)


def _line(steps: Iterable[tuple[str, str]], first: Iterable[str]) -> str:
    """``FIRST && echo MARK && COMMAND && ... && echo END-MARK``.

    Args:
        steps: (section, command printing it) pairs.
        first: Commands run before the first section.
    """
    parts = list(first)
    for name, command in steps:
        parts += [shlex.join(["echo", section_header(name)]), command]
    parts.append(shlex.join(["echo", section_header(END)]))
    return " && ".join(parts)


def _background(command: str) -> str:
    """Start ``command`` in the background (``wait $!`` then gives its exit code)."""
    return f"{{ {command} & }}"


#: Into ``nodes``: one line per node, its ID then its ``node ls`` JSON.
_LIST_NODES = shlex.join(["docker", "node", "ls", "--format", "{{.ID}} " + JSON_FORMAT])
#: Into ``services``: one line per service, its name then its ``service ls`` JSON.
_LIST_SERVICES = shlex.join(["docker", "service", "ls", "--format", "{{.Name}} " + JSON_FORMAT])
_FIRST_WORD = ["cut", "-d", " ", "-f1"]
_OTHER_WORDS = ["cut", "-d", " ", "-f2-"]
#: A temporary folder to work in, removed when the shell exits.
_WORK_IN_TEMP = ["d=$(mktemp -d)", "trap 'rm -rf \"$d\"' EXIT", 'cd "$d"']


def snapshot_command(services: Sequence[str] | None = None, desired: str | None = "running") -> str:
    """The shell line that prints every answer a dashboard refresh needs.

    Args:
        services: Services whose tasks to list (``None``: every service; empty: none).
        desired: Keep tasks with this desired state; ``None`` keeps the history too.
    """
    ps = ["xargs", "-r", "docker", "service", "ps", "--no-trunc", "--format", JSON_FORMAT]
    if desired is not None:
        ps += ["--filter", f"desired-state={desired}"]
    if services is None:
        pick = [*_FIRST_WORD, "services"]
    else:  # exact names (service names have no spaces): " a b " contains " a "
        wanted = " " + " ".join(services) + " "
        pick = ["awk", "-v", f"want={wanted}", 'index(want, " " $1 " ") { print $1 }', "services"]
    tasks = ": >tasks" if services is not None and not services else f"{_pipe(pick, ps)} >tasks"
    inspect = f"{_pipe([*_FIRST_WORD, 'nodes'], ['xargs', 'docker', 'node', 'inspect'])} >inspect"
    run = [
        *_WORK_IN_TEMP,
        _background(f"{_LIST_SERVICES} >services"),
        f"{_LIST_NODES} >nodes",
        "wait $!",
        _background(inspect),
        tasks,
        "wait $!",
    ]
    show = [
        (NODE_LS, shlex.join([*_OTHER_WORDS, "nodes"])),
        (NODE_INSPECT, "cat inspect"),
        (SERVICE_LS, shlex.join([*_OTHER_WORDS, "services"])),
        (SERVICE_PS, "cat tasks"),
    ]
    return _line(show, run)


def split_sections(text: str) -> dict[str, str]:
    """Split a snapshot's output at its marker lines.

    Args:
        text: What the snapshot command printed.

    Returns:
        Section name -> the text printed under its marker.

    Raises:
        SwarmParseError: If a section or the end marker is missing (output cut short).
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    ended = False
    for line in text.splitlines(keepends=True):
        if line.startswith(MARK + " "):
            name = line[len(MARK) + 1 :].strip()
            if name == END:
                ended = True
                break
            current = sections.setdefault(name, [])
        elif current is not None:
            current.append(line)
    missing = [name for name in SNAPSHOT_SECTIONS if name not in sections]
    if missing or not ended:
        lacking = ", ".join(missing) or "the end marker"
        raise SwarmParseError(f"swarm snapshot: output ends early ({lacking} missing)")
    return {name: "".join(lines) for name, lines in sections.items()}


def with_addresses(listed: Sequence[SwarmNode], inspected: Sequence[SwarmNode]) -> list[SwarmNode]:
    """Nodes of ``node ls`` with the addresses ``node inspect`` gave for the same IDs."""
    addresses = {node.id: node.address for node in inspected}
    return [replace(node, address=addresses.get(node.id, node.address)) for node in listed]


def parse_snapshot(
    text: str, services: Sequence[str] | None = None, manager: str = ""
) -> SwarmSnapshot:
    """Parse what :func:`snapshot_command` printed.

    Args:
        text: The command's standard output.
        services: The services asked for (``None``: every service).
        manager: The manager that answered.

    Raises:
        SwarmParseError: If the output is cut short or a section is not docker's JSON.
    """
    parts = split_sections(text)
    listed = parse_node_ls(parts[NODE_LS])
    nodes = with_addresses(listed, parse_node_inspect(parts[NODE_INSPECT])) if listed else []
    found = parse_service_ls(parts[SERVICE_LS])
    names = [service.name for service in found]
    read = names if services is None else [name for name in services if name in names]
    tasks = [task for task in parse_service_ps(parts[SERVICE_PS]) if task.service in read]
    return SwarmSnapshot(
        nodes=tuple(nodes),
        services=tuple(found),
        tasks=tuple(tasks),
        read=tuple(dict.fromkeys(read)),
        manager=manager,
    )
