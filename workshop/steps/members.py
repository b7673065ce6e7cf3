"""Who is in the swarm, and which manager answers for it.

Each node says for itself whether it is in a swarm (``docker info``, parsed by
:mod:`workshop.swarm.info`). The swarm's own record (nodes, roles, leader,
services) is read through :class:`~workshop.swarm.read.SwarmReader`, which picks
a manager that answers and fails over to the next one: steps never pick a
manager themselves, they act through the one that answered.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from workshop.errors import NotReady
from workshop.progress import Progress, poll_until, quiet
from workshop.remote import RemoteLab
from workshop.swarm.info import INFO_COMMAND, SwarmInfo, parse_swarm_info
from workshop.swarm.models import SwarmNode
from workshop.swarm.read import SwarmLab, SwarmReader, SwarmUnavailable

__all__ = [
    "LEADER_TIMEOUT",
    "REACHABLE_TIMEOUT",
    "answering_manager",
    "describe_nodes",
    "reader_for",
    "swarm_members",
    "swarm_needed",
    "wait_leader",
    "wait_reachable",
]

#: Seconds to wait for a leader (an election after a manager restarts takes ~30 s).
LEADER_TIMEOUT = 90.0
#: Seconds a new manager has to become reachable before the next one joins.
REACHABLE_TIMEOUT = 90.0
#: Seconds for reading every node's own view.
INFO_TIMEOUT = 30.0
#: What brings the lab to a swarm, as the messages say it.
REQUIRE_SWARM = 'lab.require("swarm")'


def swarm_members(lab: RemoteLab, on: str | Iterable[str] = "all") -> dict[str, SwarmInfo]:
    """Node -> its own view of its swarm membership (``docker info``).

    A node whose engine does not answer has ``state == ""``.

    Raises:
        NodeUnreachable: A node does not answer SSH.
    """
    results = lab.run(shlex.join(INFO_COMMAND), on=on, sudo=True, timeout=INFO_TIMEOUT)
    members = {}
    for result in results:
        if result.rc is None:
            result.raise_for_failure()
        members[result.node] = parse_swarm_info(result.stdout if result.rc == 0 else "")
    return members


def reader_for(lab: SwarmLab, reader: SwarmReader | None = None) -> SwarmReader:
    """The reader to read the swarm through: the one given, or a new one on ``lab``."""
    return reader if reader is not None else SwarmReader(lab)


def answering_manager(reader: SwarmReader) -> str:
    """The manager that answered the reader's last read (it is asked first next time)."""
    return reader.candidates()[0]


@contextmanager
def swarm_needed() -> Iterator[None]:
    """Turn "no manager could answer" into :class:`NotReady` naming ``lab.require``.

    Raises:
        NotReady: No manager answered a read of the swarm inside the block.
    """
    try:
        yield
    except SwarmUnavailable as exc:
        raise NotReady(
            "no manager answers for the swarm: create it, or start its managers, with "
            f"{REQUIRE_SWARM}\n{exc}"
        ) from exc


def describe_nodes(nodes: Sequence[SwarmNode]) -> str:
    """One line per swarm node, as ``docker node ls`` shows it."""
    return "\n".join(
        f"{n.hostname} {n.id[:12]} {n.status} {n.availability} {n.manager_status or n.role}"
        for n in nodes
    )


@dataclass(frozen=True)
class _LeaderSeen:
    leader: SwarmNode | None
    why: str


def wait_leader(
    lab: RemoteLab,
    reader: SwarmReader,
    members: dict[str, SwarmInfo] | None = None,
    progress: Progress = quiet,
    *,
    timeout: float = LEADER_TIMEOUT,
) -> SwarmNode:
    """The swarm's leader; waits while one is being elected.

    Args:
        lab: The lab.
        reader: Reads the swarm's record.
        members: Every running node's own view (read here if not given).
        progress: Told while the kit waits.
        timeout: Seconds to wait for an election.

    Raises:
        NotReady: No node is a swarm manager (there is no swarm yet).
        NotConverged: No leader within ``timeout`` seconds.
    """
    if members is None:
        members = swarm_members(lab, [n.name for n in lab.nodes if n.running])
    if not any(m.is_manager for m in members.values()):
        raise NotReady(f"no node is a swarm manager yet: create the swarm with {REQUIRE_SWARM}")

    def probe() -> _LeaderSeen:
        try:
            leader = reader.leader()
        except SwarmUnavailable as exc:
            return _LeaderSeen(None, str(exc))
        if leader is None:
            progress("swarm: waiting for a leader")
        return _LeaderSeen(leader, "the swarm has no leader yet")

    seen = poll_until(
        probe,
        lambda s: s.leader is not None,
        timeout=timeout,
        interval=2.0,
        what="a swarm leader (too few managers up?)",
        describe=lambda s: s.why,
    )
    assert seen.leader is not None
    return seen.leader


def _nodes_now(reader: SwarmReader) -> list[SwarmNode]:
    """The swarm's nodes; none while no manager answers (a manager is joining)."""
    try:
        return reader.nodes()
    except SwarmUnavailable:
        return []


def wait_reachable(reader: SwarmReader, node_id: str, timeout: float = REACHABLE_TIMEOUT) -> None:
    """Wait until the manager ``node_id`` takes part in the Raft quorum.

    Raises:
        NotConverged: It is not Leader or Reachable after ``timeout`` seconds.
    """
    poll_until(
        lambda: _nodes_now(reader),
        lambda nodes: any(n.id == node_id and n.is_reachable_manager for n in nodes),
        timeout=timeout,
        what=f"manager {node_id[:12]} reachable in the swarm",
        describe=describe_nodes,
    )
