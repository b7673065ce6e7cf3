"""Parsers for the docker CLI's JSON output into the swarm read model.

Each parser takes the text a command printed and returns models:

- ``docker node ls --format '{{json .}}'`` -> :func:`parse_node_ls`
- ``docker node inspect ID...`` -> :func:`parse_node_inspect`
- ``docker service ls --format '{{json .}}'`` -> :func:`parse_service_ls`
- ``docker service ps SERVICE --no-trunc --format '{{json .}}'`` ->
  :func:`parse_service_ps`
"""

from __future__ import annotations

import json
import re
from typing import Any

from workshop.errors import WorkshopError
from workshop.swarm.models import MANAGER, WORKER, Service, SwarmNode, Task

_REPLICAS = re.compile(r"^\s*(\d+)/(\d+)(?:.*?\(max (\d+) per node\))?")
_HISTORY_PREFIX = re.compile(r"^\s*\\_\s*")


class SwarmParseError(WorkshopError, ValueError):
    """Docker printed something the read model does not understand."""


def parse_json_lines(text: str, source: str = "docker") -> list[dict[str, Any]]:
    """Parse one JSON object per non-blank line (``--format '{{json .}}'``).

    Args:
        text: Command output.
        source: Command name used in error messages.

    Raises:
        SwarmParseError: If a line is not a JSON object.
    """
    objects: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SwarmParseError(
                f"{source}: line {number} is not JSON ({exc.msg}): {line[:120]!r}"
            ) from exc
        if not isinstance(value, dict):
            raise SwarmParseError(f"{source}: line {number} is not a JSON object")
        objects.append(value)
    return objects


def _text(obj: dict[str, Any], key: str, source: str) -> str:
    try:
        value = obj[key]
    except KeyError:
        raise SwarmParseError(f"{source}: field {key!r} missing in {sorted(obj)}") from None
    return "" if value is None else str(value)


def _pretty(word: str) -> str:
    """Capitalise like the CLI does for manager status (``reachable`` -> ``Reachable``)."""
    return word[:1].upper() + word[1:]


def parse_node_ls(text: str) -> list[SwarmNode]:
    """Parse ``docker node ls --format '{{json .}}'``.

    The role is derived from the manager status (workers have none); the
    address is left empty because ``node ls`` does not show it.
    """
    source = "docker node ls"
    nodes: list[SwarmNode] = []
    for obj in parse_json_lines(text, source):
        manager_status = _text(obj, "ManagerStatus", source)
        nodes.append(
            SwarmNode(
                id=_text(obj, "ID", source).rstrip(" *"),
                hostname=_text(obj, "Hostname", source),
                role=MANAGER if manager_status else WORKER,
                status=_text(obj, "Status", source).lower(),
                availability=_text(obj, "Availability", source).lower(),
                manager_status=manager_status,
                engine_version=str(obj.get("EngineVersion") or ""),
            )
        )
    return nodes


def _manager_address(addr: str) -> str:
    """``"10.0.0.1:2377"`` -> ``"10.0.0.1"``; ``"[fd00::1]:2377"`` -> ``"fd00::1"``."""
    host = addr.rsplit(":", 1)[0] if ":" in addr else addr
    return host.strip("[]")


def parse_node_inspect(text: str) -> list[SwarmNode]:
    """Parse the JSON array printed by ``docker node inspect ID...``.

    ``Status.Addr`` is used as the address, except when the engine reports
    ``0.0.0.0`` for a manager; then the host part of ``ManagerStatus.Addr`` is used.

    Raises:
        SwarmParseError: If the text is not a JSON array of node objects.
    """
    source = "docker node inspect"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SwarmParseError(f"{source}: output is not JSON ({exc.msg})") from exc
    if not isinstance(value, list):
        raise SwarmParseError(f"{source}: expected a JSON array")
    nodes: list[SwarmNode] = []
    for obj in value:
        try:
            spec = obj["Spec"]
            status = obj["Status"]
            description = obj.get("Description") or {}
            manager = obj.get("ManagerStatus") or {}
            address = str(status.get("Addr") or "")
            if address in ("", "0.0.0.0") and manager.get("Addr"):
                address = _manager_address(str(manager["Addr"]))
            if manager.get("Leader"):
                manager_status = "Leader"
            else:
                manager_status = _pretty(str(manager.get("Reachability") or ""))
            nodes.append(
                SwarmNode(
                    id=str(obj["ID"]),
                    hostname=str(description.get("Hostname") or ""),
                    role=str(spec["Role"]).lower(),
                    status=str(status["State"]).lower(),
                    availability=str(spec["Availability"]).lower(),
                    manager_status=manager_status,
                    engine_version=str(
                        (description.get("Engine") or {}).get("EngineVersion") or ""
                    ),
                    address=address,
                )
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise SwarmParseError(f"{source}: unexpected node object ({exc!r})") from exc
    return nodes


def parse_replicas(text: str) -> tuple[int, int, int | None]:
    """Parse a ``Replicas`` column.

    Args:
        text: e.g. ``"3/5"`` or ``"3/5 (max 2 per node)"``.

    Returns:
        ``(running, desired, max_per_node)``.

    Raises:
        SwarmParseError: If the text does not start with ``running/desired``.
    """
    match = _REPLICAS.match(text)
    if match is None:
        raise SwarmParseError(f"docker service ls: cannot read replicas {text!r}")
    running, desired, max_per_node = match.groups()
    return int(running), int(desired), int(max_per_node) if max_per_node else None


def parse_service_ls(text: str) -> list[Service]:
    """Parse ``docker service ls --format '{{json .}}'``."""
    source = "docker service ls"
    services: list[Service] = []
    for obj in parse_json_lines(text, source):
        running, desired, max_per_node = parse_replicas(_text(obj, "Replicas", source))
        ports = _text(obj, "Ports", source) if "Ports" in obj else ""
        services.append(
            Service(
                id=_text(obj, "ID", source),
                name=_text(obj, "Name", source),
                mode=_text(obj, "Mode", source).lower(),
                replicas_running=running,
                replicas_desired=desired,
                image=_text(obj, "Image", source),
                ports=tuple(p.strip() for p in ports.split(",") if p.strip()),
                max_per_node=max_per_node,
            )
        )
    return services


def parse_current_state(text: str) -> tuple[str, str]:
    """Split ``"Running 5 minutes ago"`` into ``("running", "5 minutes ago")``."""
    state, _, since = text.strip().partition(" ")
    return state.lower(), since.strip()


def _split_task_name(name: str) -> tuple[str, int | None]:
    """``"web.3"`` -> ``("web", 3)``; ``"agent.<node id>"`` -> ``("agent", None)``."""
    service, dot, suffix = name.rpartition(".")
    if not dot:
        return name, None
    return service, int(suffix) if suffix.isdigit() else None


def parse_service_ps(text: str) -> list[Task]:
    """Parse ``docker service ps SERVICE --no-trunc --format '{{json .}}'``.

    History lines (names like ``\\_ web.1``) are kept as ordinary tasks; the
    quotes the CLI puts around errors are removed.
    """
    source = "docker service ps"
    tasks: list[Task] = []
    for obj in parse_json_lines(text, source):
        name = _HISTORY_PREFIX.sub("", _text(obj, "Name", source)).strip()
        service, slot = _split_task_name(name)
        current, since = parse_current_state(_text(obj, "CurrentState", source))
        error = str(obj.get("Error") or "").strip()
        if len(error) >= 2 and error[0] == error[-1] == '"':
            error = error[1:-1]
        tasks.append(
            Task(
                id=_text(obj, "ID", source),
                name=name,
                service=service,
                node=_text(obj, "Node", source),
                desired_state=_text(obj, "DesiredState", source).lower(),
                current_state=current,
                error=error,
                slot=slot,
                since=since,
                image=str(obj.get("Image") or ""),
            )
        )
    return tasks
