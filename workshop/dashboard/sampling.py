"""Which container answered: send HTTP requests from a node and count the answers.

The requests start on a lab node (``curl`` in a loop over SSH), so they travel
the lab network like a client's would, and go round-robin to the published port on
each node's lab address. The service is expected to answer with its container's
host name (the workshop's ``hello`` site does). Which node each container runs on
comes from ``docker ps`` on every node.
"""

from __future__ import annotations

import shlex
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from workshop.dashboard.live import DashboardLab, LabMachine
from workshop.errors import CommandFailed, UnknownNode, UsageError
from workshop.lab.results import node_sort_key

__all__ = [
    "MAX_REQUESTS",
    "RequestSample",
    "check_port",
    "count_answers",
    "replica_hosts",
    "sample_requests",
]

#: Most requests one sample sends.
MAX_REQUESTS = 1000
#: Marks a request that got no answer in the loop's output.
NO_ANSWER = "!"


def check_port(port: object) -> int:
    """Validate a TCP port.

    Raises:
        UsageError: If it is not a whole number between 1 and 65535.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise UsageError(f"port must be a whole number between 1 and 65535, got {port!r}")
    return port


def check_requests(requests: object) -> int:
    """Validate a number of requests (1..:data:`MAX_REQUESTS`).

    Raises:
        UsageError: If it is out of range.
    """
    if isinstance(requests, bool) or not isinstance(requests, int):
        raise UsageError(f"requests must be a whole number, got {requests!r}")
    if not 1 <= requests <= MAX_REQUESTS:
        raise UsageError(f"requests must be between 1 and {MAX_REQUESTS}, got {requests}")
    return requests


@dataclass(frozen=True, repr=False)
class RequestSample:
    """Answers to one burst of requests.

    Attributes:
        port: The port asked.
        sender: The node the requests were sent from.
        requests: Requests sent.
        answers: Container host name -> requests it answered.
        replicas: Container host name -> node it runs on.
        unanswered: Node asked -> requests it did not answer.
        took: Seconds the burst took.
    """

    port: int
    sender: str
    requests: int
    answers: Counter[str] = field(default_factory=Counter)
    replicas: dict[str, str] = field(default_factory=dict)
    unanswered: Counter[str] = field(default_factory=Counter)
    took: float = 0.0

    @property
    def answered(self) -> int:
        """Requests that got an answer."""
        return sum(self.answers.values())

    @property
    def per_node(self) -> dict[str, int]:
        """Node -> requests answered by containers on it (``"unknown"`` if not a replica)."""
        counts: Counter[str] = Counter()
        for container, count in self.answers.items():
            counts[self.replicas.get(container, "unknown")] += count
        return dict(sorted(counts.items(), key=lambda item: node_sort_key(item[0])))

    def __repr__(self) -> str:
        lines = [
            f"{self.requests} requests to port {self.port} from {self.sender}: "
            f"{self.answered} answered in {self.took:.1f} s"
        ]
        containers = sorted(set(self.answers) | set(self.replicas))
        width = max([9, *(len(c) for c in containers)])
        lines.append(f"{'CONTAINER':<{width}}  {'NODE':<8}  ANSWERS")
        for container in containers:
            node = self.replicas.get(container, "?")
            lines.append(f"{container:<{width}}  {node:<8}  {self.answers.get(container, 0):>7}")
        for node, count in sorted(self.unanswered.items()):
            lines.append(f"no answer from {node}: {count}")
        return "\n".join(lines)


def _targets(lab: DashboardLab, names: Sequence[str] | None) -> list[LabMachine]:
    nodes = list(lab.nodes)
    if names is None:
        return nodes
    by_name = {node.name: node for node in nodes}
    for name in names:
        if name not in by_name:
            raise UnknownNode(name, by_name)
    return [by_name[name] for name in names]


def _sender(lab: DashboardLab, sender: str | None) -> str:
    names = [node.name for node in lab.nodes]
    if sender is not None:
        if sender not in names:
            raise UnknownNode(sender, names)
        return sender
    running = [node.name for node in lab.nodes if node.state == "running"]
    if not running:
        raise UsageError("no node of the lab is running: start one (`workshop up`) first")
    return running[0]


def request_loop(addresses: Sequence[str], port: int, timeout: float) -> str:
    """The shell loop that asks each address in turn and prints ``ADDRESS ANSWER``."""
    listed = " ".join(shlex.quote(a) for a in addresses)
    curl = shlex.join(["curl", "-s", "-m", f"{timeout:g}"])
    return (
        f"for a in {listed}; do "
        f'r=$({curl} "http://$a:{port}/" | head -n 1); '
        f'echo "$a ${{r:-{NO_ANSWER}}}"; done'
    )


def count_answers(output: str, names: dict[str, str]) -> tuple[Counter[str], Counter[str]]:
    """Read the request loop's ``ADDRESS ANSWER`` lines.

    Args:
        output: What :func:`request_loop` printed.
        names: Address -> node name.

    Returns:
        Answer (container host name) -> requests it answered, and node asked ->
        requests it did not answer.
    """
    answers: Counter[str] = Counter()
    unanswered: Counter[str] = Counter()
    for line in output.splitlines():
        address, _, answer = line.strip().partition(" ")
        if not address:
            continue
        if answer in ("", NO_ANSWER):
            unanswered[names.get(address, address)] += 1
        else:
            answers[answer.strip()] += 1
    return answers, unanswered


def replica_hosts(
    lab: DashboardLab, service: str | None = None, timeout: float = 20.0
) -> dict[str, str]:
    """Container host name -> node, for the swarm tasks running on every node.

    Args:
        lab: The lab.
        service: Only this service's containers (``None``: every swarm task).
        timeout: Seconds per node.
    """
    label = f"com.docker.swarm.service.name={service}" if service else "com.docker.swarm.task"
    ps = shlex.join(["docker", "ps", "-q", "--filter", f"label={label}"])
    inspect = shlex.join(["xargs", "-r", "docker", "inspect", "--format", "{{.Config.Hostname}}"])
    results = lab.run(f"{ps} | {inspect}", on="all", sudo=True, timeout=timeout)
    hosts: dict[str, str] = {}
    for result in results:
        if result.rc == 0 and not result.error:
            for line in result.stdout.split():
                hosts[line] = result.node
    return hosts


def sample_requests(
    lab: DashboardLab,
    port: int,
    requests: int = 50,
    *,
    service: str | None = None,
    sender: str | None = None,
    targets: Sequence[str] | None = None,
    timeout: float = 2.0,
) -> RequestSample:
    """Send ``requests`` HTTP requests from a node, round-robin over the nodes.

    Args:
        lab: The lab.
        port: Published port of the service.
        requests: How many requests.
        service: The service answering (for the container -> node map; ``None``:
            every swarm task).
        sender: Node the requests start from (default: the first running node).
        targets: Nodes to ask (default: every node).
        timeout: Seconds each request may take.

    Raises:
        UsageError: If an argument is invalid (before anything is sent).
        CommandFailed: If the sender could not run the loop.
    """
    check_port(port)
    check_requests(requests)
    nodes = _targets(lab, targets)
    if not nodes:
        raise UsageError("no nodes to send requests to")
    origin = _sender(lab, sender)
    addresses = [nodes[i % len(nodes)].address for i in range(requests)]
    names = {node.address: node.name for node in nodes}
    started = time.monotonic()
    budget = 15.0 + requests * (timeout + 0.5)
    loop = request_loop(addresses, port, timeout)
    result = lab.run(loop, on=origin, timeout=budget)[0]
    if result.rc != 0 or result.error:
        raise CommandFailed(
            loop,
            origin,
            result.rc,
            result.stdout,
            result.stderr,
            hint=str(result.error) if result.error else None,
        )
    answers, unanswered = count_answers(result.stdout, names)
    took = time.monotonic() - started
    return RequestSample(
        port=port,
        sender=origin,
        requests=requests,
        answers=answers,
        replicas=replica_hosts(lab, service),
        unanswered=unanswered,
        took=took,
    )
