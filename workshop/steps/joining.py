"""Joining a node to the swarm without its token ever being on a command line.

``docker swarm join --token <token> <manager>:2377`` would put the token in the
process list of the node (``ps`` shows every argument). The kit sends the same
request to the node's own Docker API instead (``POST /swarm/join`` on its local
socket) with ``curl``, the request, token included, on standard input; the
progress line shows the operator's command with the token masked.

A node stuck half-way into a swarm (``pending`` or ``error``, or a worker whose ID
the managers no longer list) is found here too: it leaves (``docker swarm leave
--force``) before it joins again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass

from workshop.errors import CommandFailed, NotConverged, UsageError
from workshop.lab import Node, Results
from workshop.progress import poll_until
from workshop.remote import RemoteLab
from workshop.secrets import mask_secrets
from workshop.steps.commands import sh
from workshop.steps.fanout import run_checked
from workshop.steps.members import answering_manager, reader_for, swarm_members, wait_leader
from workshop.steps.recorder import StepRecorder
from workshop.swarm.info import SwarmInfo
from workshop.swarm.read import SwarmReader, SwarmUnavailable

__all__ = [
    "JOIN_URL",
    "JoinToken",
    "engine_refusal",
    "join_command",
    "join_nodes",
    "join_request",
    "join_token",
    "leave_stuck",
    "operator_command",
    "stuck_nodes",
]

SWARM_PORT = 2377
JOIN_TIMEOUT = 120.0
ROLES = ("manager", "worker")
#: The node's Docker API: its local socket, and the request that joins a swarm. The
#: path has no API version: every engine answers it with its own (the request's
#: fields have been the same since API 1.24).
DOCKER_SOCKET = "/var/run/docker.sock"
JOIN_URL = "http://localhost/swarm/join"
#: Swarm states of a node stuck half-way into a swarm (docker keeps retrying alone).
STUCK_STATES = ("pending", "error")
#: Seconds a node in one of :data:`STUCK_STATES` has to settle by itself before it
#: is made to leave (docker gives up waiting for a join after 20 s, and goes on
#: trying in the background; an engine restarting beside a leader settles in a few).
STUCK_GRACE = 20.0


@dataclass(frozen=True)
class JoinToken:
    """A swarm join token: usable by the kit, masked whenever it is shown.

    Attributes:
        role: ``manager`` or ``worker``.
        manager: Address and port of the manager that gave it (``host:2377``).
    """

    role: str
    manager: str
    _token: str

    @property
    def secret(self) -> str:
        """The full token. Pass it on, never print it."""
        return self._token

    def __str__(self) -> str:
        return mask_secrets(self._token)

    def __repr__(self) -> str:
        return f"JoinToken(role={self.role!r}, manager={self.manager!r}, token={self!s})"


def join_token(lab: RemoteLab, role: str, *, reader: SwarmReader | None = None) -> JoinToken:
    """The join token for ``role``, read from a manager (shown masked).

    The real command: ``docker swarm join-token -q worker``.

    Raises:
        UsageError: ``role`` is not manager or worker.
        NotReady: No node is a manager yet (create the swarm first).
    """
    if role not in ROLES:
        raise UsageError.choice("swarm role", role, ROLES)
    reader = reader_for(lab, reader)
    wait_leader(lab, reader)
    token = reader.docker(["swarm", "join-token", "-q", role]).strip()
    manager = lab.node(answering_manager(reader))
    return JoinToken(role, f"{manager.address}:{SWARM_PORT}", token)


def join_request(node: Node, token: JoinToken) -> str:
    """The body of ``POST /swarm/join`` for ``node`` (it holds the token: stdin only)."""
    return json.dumps(
        {
            "ListenAddr": f"0.0.0.0:{SWARM_PORT}",
            "AdvertiseAddr": node.address,
            "RemoteAddrs": [token.manager],
            "JoinToken": token.secret,
        }
    )


def join_command() -> str:
    """The shell line that sends a join request read from stdin to the local engine."""
    return sh(
        "curl",
        "--unix-socket",
        DOCKER_SOCKET,
        "-sS",
        "--fail-with-body",
        "--max-time",
        int(JOIN_TIMEOUT - 10),
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        "@-",
        JOIN_URL,
    )


def operator_command(node: Node, token: JoinToken) -> str:
    """What an operator types for the same join, token masked (for messages)."""
    return mask_secrets(
        sh("docker", "swarm", "join", "--token", token.secret, "--advertise-addr", node.address)
        + " "
        + token.manager
    )


def engine_refusal(answer: str) -> str:
    """The engine's reason from an error answer of its API (``{"message": ...}``)."""
    try:
        body = json.loads(answer)
    except json.JSONDecodeError:
        return answer.strip()
    message = body.get("message") if isinstance(body, dict) else None
    return str(message).strip() if message else answer.strip()


def _join(lab: RemoteLab, nodes: Sequence[Node], token: JoinToken) -> None:
    """Join nodes at once through their Docker API, the request on stdin.

    Raises:
        CommandFailed: An engine refused; the message gives its reason.
        NodeUnreachable: A node did not answer, or its connection was lost.
    """

    def join_one(node: Node) -> Results:
        return lab.run(
            join_command(),
            on=[node.name],
            sudo=True,
            timeout=JOIN_TIMEOUT,
            stdin=join_request(node, token),
        )

    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        for node, results in zip(nodes, pool.map(join_one, nodes), strict=True):
            result = results[0]
            if result.rc is not None and result.rc != 0 and result.error is None:
                raise CommandFailed(
                    result.command,
                    node.name,
                    result.rc,
                    result.stdout,
                    result.stderr,
                    hint=f"The engine refused `{operator_command(node, token)}`: "
                    f"{engine_refusal(result.stdout or result.stderr)}",
                )
            result.raise_for_failure()


def stuck_nodes(members: dict[str, SwarmInfo], reader: SwarmReader) -> dict[str, str]:
    """Node -> why it is stuck half-way into a swarm (it must leave, then join again).

    Stuck: its own state is ``pending`` or ``error`` (a join that never finished, or
    a node removed while it was off), or it is an active worker whose ID the
    swarm's managers do not list (removed while it ran). A manager that the record
    does not list is left alone: that is a second swarm, not a half-joined node.
    """
    stuck = {
        name: f"its swarm state is {m.state}"
        for name, m in members.items()
        if m.state in STUCK_STATES
    }
    workers = {name: m for name, m in members.items() if m.active and not m.control_available}
    if workers and any(m.is_manager for m in members.values()):
        try:
            listed = {node.id for node in reader.nodes()}
        except SwarmUnavailable:
            return stuck  # no manager answers: the record cannot tell
        stuck.update(
            {
                name: "the swarm's managers do not list it"
                for name, m in workers.items()
                if m.node_id not in listed
            }
        )
    return stuck


def _settle(
    lab: RemoteLab, rec: StepRecorder, members: dict[str, SwarmInfo], names: list[str]
) -> None:
    """Give nodes in a stuck state :data:`STUCK_GRACE` seconds to settle by themselves.

    ``members`` is updated with what they say at the end.
    """
    rec.say(f"waiting up to {STUCK_GRACE:g} s for {', '.join(names)} to settle in the swarm")
    seen: list[dict[str, SwarmInfo]] = []

    def probe() -> dict[str, SwarmInfo]:
        seen.append(swarm_members(lab, names))
        return seen[-1]

    with suppress(NotConverged):  # still stuck at the end: they leave
        poll_until(
            probe,
            lambda now: not any(m.state in STUCK_STATES for m in now.values()),
            timeout=STUCK_GRACE,
            interval=2.0,
            what=f"{', '.join(names)} settling in the swarm",
        )
    members.update(seen[-1])


def leave_stuck(
    lab: RemoteLab, rec: StepRecorder, reader: SwarmReader, members: dict[str, SwarmInfo]
) -> dict[str, str]:
    """Make the nodes stuck half-way into a swarm leave it, so that they can join again.

    A node in a stuck state gets :data:`STUCK_GRACE` seconds to settle first (an
    engine that restarted beside a leader settles in a few). Then the nodes still
    stuck run ``docker swarm leave --force``. ``members`` is updated.

    Returns:
        Node -> why it was stuck, for the nodes that left.
    """
    stuck = stuck_nodes(members, reader)
    waiting = [name for name in stuck if members[name].state in STUCK_STATES]
    if waiting:
        _settle(lab, rec, members, waiting)
        stuck = stuck_nodes(members, reader)
    for name, why in stuck.items():
        rec.say(f"{name} is stuck half-way into a swarm ({why}): docker swarm leave --force")
    if stuck:
        leave = sh("docker", "swarm", "leave", "--force")
        run_checked(lab, leave, list(stuck), timeout=JOIN_TIMEOUT)
    return stuck


def join_nodes(
    lab: RemoteLab,
    rec: StepRecorder,
    nodes: Sequence[Node],
    token: JoinToken,
    stuck: dict[str, str],
) -> dict[str, SwarmInfo]:
    """Join ``nodes`` with ``token``; record what each node then says it is."""
    for node in nodes:
        rec.say(f"{node.name}: {operator_command(node, token)}")
    _join(lab, nodes, token)
    joined = swarm_members(lab, [n.name for n in nodes])
    for node in nodes:
        detail = f"joined as a {joined[node.name].role} via {token.manager}"
        if node.name in stuck:
            detail += f" (it was stuck: {stuck[node.name]}; it left first)"
        rec.changed(node.name, detail)
    return joined
