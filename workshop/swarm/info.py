"""A node's own view of its swarm membership: ``docker info --format '{{json .Swarm}}'``.

Every node can tell whether it is in a swarm and whether it is a manager, even
when no manager answers for the swarm; the swarm's own record (``docker node
ls``) is read through :class:`~workshop.swarm.read.SwarmReader` instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from workshop.swarm.parse import SwarmParseError

__all__ = ["INFO_COMMAND", "SwarmInfo", "parse_swarm_info"]

#: The command whose output :func:`parse_swarm_info` reads.
INFO_COMMAND = ("docker", "info", "--format", "{{json .Swarm}}")
#: ``LocalNodeState`` values of a node that is in a swarm but not settled in it.
UNSETTLED = ("pending", "error", "locked")


@dataclass(frozen=True)
class SwarmInfo:
    """What one node says about its own swarm membership.

    Attributes:
        state: Docker's ``LocalNodeState``: ``inactive``, ``pending``, ``active``,
            ``error`` or ``locked``; ``""`` when the engine did not answer.
        node_id: The node's ID in the swarm ("" outside one).
        address: The address the node advertises ("" outside a swarm).
        control_available: Whether the node is a manager.
        error: What the engine reports as wrong with its membership, if anything.
        managers: Addresses of the managers it knows (``host:2377``).
    """

    state: str
    node_id: str = ""
    address: str = ""
    control_available: bool = False
    error: str = ""
    managers: tuple[str, ...] = ()

    @property
    def engine_answered(self) -> bool:
        """Whether the node's docker engine answered at all."""
        return self.state != ""

    @property
    def active(self) -> bool:
        """Whether the node is settled in a swarm."""
        return self.state == "active"

    @property
    def in_swarm(self) -> bool:
        """Whether the node belongs to a swarm, settled or not."""
        return self.state not in ("", "inactive")

    @property
    def unsettled(self) -> bool:
        """Whether the node is in a swarm it has not settled in (joining, locked, failed)."""
        return self.state in UNSETTLED

    @property
    def is_manager(self) -> bool:
        """Whether the node is an active manager of its swarm."""
        return self.active and self.control_available

    @property
    def role(self) -> str:
        """``manager`` or ``worker`` (what an active node is)."""
        return "manager" if self.control_available else "worker"


def parse_swarm_info(text: str) -> SwarmInfo:
    """Parse ``docker info --format '{{json .Swarm}}'``.

    Args:
        text: What the command printed; empty when the engine did not answer.

    Raises:
        SwarmParseError: If the first line is not a JSON object.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return SwarmInfo(state="")
    try:
        obj = json.loads(lines[0])
    except json.JSONDecodeError as exc:
        raise SwarmParseError(f"docker info: output is not JSON ({exc.msg})") from exc
    if not isinstance(obj, dict):
        raise SwarmParseError("docker info: expected a JSON object for .Swarm")
    managers = obj.get("RemoteManagers") or []
    return SwarmInfo(
        state=str(obj.get("LocalNodeState") or ""),
        node_id=str(obj.get("NodeID") or ""),
        address=str(obj.get("NodeAddr") or ""),
        control_available=bool(obj.get("ControlAvailable")),
        error=str(obj.get("Error") or ""),
        managers=tuple(str(m.get("Addr") or "") for m in managers if isinstance(m, dict)),
    )
