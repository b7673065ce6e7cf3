"""What the kit knows about one lab machine: its name, role, address and SSH endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from workshop.errors import UsageError

__all__ = ["ROLES", "Node", "Role", "SSHEndpoint"]

Role = Literal["manager", "worker"]
ROLES: tuple[str, ...] = get_args(Role)


@dataclass(frozen=True)
class SSHEndpoint:
    """Where and how to SSH into a node (what ``vagrant ssh-config`` gives).

    Attributes:
        host: Host name or IP address to connect to.
        port: TCP port.
        user: Login user; ``None`` means SSH's default (the local user).
        identity_files: Private key files to offer, in order.
        known_hosts: The known_hosts file the node's host key must be in; ``None``
            means the user's own (``~/.ssh/known_hosts``).
        host_key_alias: The name the host key is recorded under, when it is not the
            host (a lab node whose address changes is recorded under its node name).
    """

    host: str
    port: int = 22
    user: str | None = None
    identity_files: tuple[str, ...] = ()
    known_hosts: str | None = None
    host_key_alias: str | None = None

    def __post_init__(self) -> None:
        if not self.host:
            raise UsageError("an SSH endpoint needs a host name or address")
        if not 1 <= self.port <= 65535:
            raise UsageError(f"SSH port must be between 1 and 65535, got {self.port}")

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        return f"{user}{self.host}:{self.port}"


@dataclass(frozen=True)
class Node:
    """One machine of the lab.

    Attributes:
        name: Node name, e.g. ``node-1``.
        role: Swarm role the lab gives it: ``manager`` or ``worker``.
        address: Its address on the lab network (swarm advertise address).
        ssh: How to reach it over SSH (may differ from ``address``).
        state: Machine state as the provider reports it (``running``, ``stopped``...).
    """

    name: str
    role: Role
    address: str
    ssh: SSHEndpoint
    state: str = "running"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise UsageError.choice(f"role of {self.name}", self.role, ROLES)

    @property
    def is_manager(self) -> bool:
        """Whether the lab makes this node a swarm manager."""
        return self.role == "manager"

    @property
    def running(self) -> bool:
        """Whether the provider reports the machine as running."""
        return self.state == "running"
