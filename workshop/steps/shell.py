"""What every step needs: quoted commands, checked fan-outs, the lab's network.

Commands are argument lists joined with :func:`shlex.join`; a shell line is only
built from such pieces (``&&``, ``||``, redirections are added as literal
operators). :class:`StepRecorder` collects what a step did on each node and
times it.
"""

from __future__ import annotations

import ipaddress
import shlex
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from workshop.errors import NodeUnreachable, UsageError
from workshop.lab import Node, Results
from workshop.remote import RemoteLab
from workshop.settings import LabSettings
from workshop.steps.report import NodeChange, StepResult

__all__ = [
    "Progress",
    "StepRecorder",
    "check_nodes",
    "first_manager",
    "headlines",
    "install_unit",
    "lab_network",
    "lab_settings",
    "quiet",
    "run_checked",
    "sh",
    "shell_line",
    "write_file",
]

Progress = Callable[[str], None]

#: Seconds for quick remote checks.
CHECK_TIMEOUT = 30.0


def quiet(_: str) -> None:
    """Default progress sink: say nothing."""


def headlines(progress: Progress) -> Progress:
    """A progress sink that forwards only the image builder's headlines, not build logs."""

    def forward(line: str) -> None:
        if line.startswith(("Building", "Making", "Importing", "Pulling", "No registry")):
            progress(line)

    return forward


def sh(*args: str | int) -> str:
    """One command, quoted: ``sh("docker", "info")`` -> ``docker info``."""
    return shlex.join(str(a) for a in args)


def shell_line(*parts: str) -> str:
    """Join already-quoted commands and shell operators with spaces.

    Args:
        parts: Quoted commands (from :func:`sh`) and operators such as ``&&``.

    Returns:
        One shell line.
    """
    return " ".join(parts)


def run_checked(
    lab: RemoteLab,
    command: str,
    on: str | Iterable[str] = "all",
    *,
    sudo: bool = True,
    timeout: float = CHECK_TIMEOUT,
    stdin: str | None = None,
) -> Results:
    """Run a command on nodes in parallel and raise for the first failure.

    Raises:
        CommandFailed: A node answered with a non-zero exit code.
        NodeUnreachable: A node could not be reached, or the command timed out.
    """
    return lab.run(command, on=on, sudo=sudo, timeout=timeout, stdin=stdin).raise_for_failures()


def check_nodes(lab: RemoteLab, command: str, on: str | Iterable[str] = "all") -> dict[str, str]:
    """Run a read-only check on nodes; node -> its stdout (stripped).

    Raises:
        NodeUnreachable: A node does not answer (a check cannot tell anything then).
    """
    results = lab.run(command, on=on, sudo=True, timeout=CHECK_TIMEOUT)
    for result in results:
        if result.rc is None:
            result.raise_for_failure()
    return results.stdout


def lab_settings(lab: RemoteLab) -> LabSettings | None:
    """The settings of a Vagrant lab; ``None`` for an inventory of real hosts."""
    return lab.settings


def lab_network(lab: RemoteLab) -> list[str]:
    """The lab network(s) in CIDR form: the settings' subnet, else the nodes' /24s."""
    settings = lab_settings(lab)
    if settings is not None:
        return [settings.network]
    networks = []
    for node in lab.nodes:
        try:
            net = str(ipaddress.ip_network(f"{node.address}/24", strict=False))
        except ValueError as exc:
            raise UsageError(
                f"{node.name}'s lab address {node.address!r} is not an IPv4 address; "
                "give each node an `address:` in the inventory"
            ) from exc
        if net not in networks:
            networks.append(net)
    return networks


def first_manager(lab: RemoteLab) -> Node:
    """The first manager the lab defines that is running.

    Raises:
        NodeUnreachable: No manager is running.
    """
    for node in lab.managers:
        if node.running:
            return node
    names = ", ".join(n.name for n in lab.managers) or "(none)"
    raise NodeUnreachable(names, None, "no manager of the lab is running")


class StepRecorder:
    """Collects what a step did on each node, and how long it took."""

    def __init__(self, step: str, progress: Progress = quiet) -> None:
        self.step = step
        self.progress = progress
        self.started = time.monotonic()
        self._changes: dict[str, NodeChange] = {}
        self._notes: list[str] = []

    def say(self, line: str) -> None:
        """Report progress, prefixed with the step's name."""
        self.progress(f"{self.step}: {line}")

    def changed(self, nodes: str | Sequence[str], detail: str) -> None:
        """Record a change on one or more nodes (details of several changes add up)."""
        for node in [nodes] if isinstance(nodes, str) else nodes:
            before = self._changes.get(node)
            if before is not None and before.changed:
                detail_here = f"{before.detail}; {detail}"
            else:
                detail_here = detail
            self._changes[node] = NodeChange(node, True, detail_here)

    def unchanged(self, nodes: str | Sequence[str], detail: str) -> None:
        """Record that nothing needed doing on nodes (keeps an earlier change)."""
        for node in [nodes] if isinstance(nodes, str) else nodes:
            if node not in self._changes:
                self._changes[node] = NodeChange(node, False, detail)

    def note(self, text: str) -> None:
        """Add a fact about the whole lab."""
        self._notes.append(text)

    def result(self) -> StepResult:
        """The step's result."""
        return StepResult(
            step=self.step,
            nodes=tuple(self._changes.values()),
            duration=time.monotonic() - self.started,
            notes=tuple(self._notes),
        )


def write_file(
    lab: RemoteLab,
    path: str,
    text: str,
    on: str | Iterable[str] = "all",
    *,
    mode: str = "0644",
) -> None:
    """Write a root-owned file on nodes, in parallel (over SFTP, then ``install``).

    Raises:
        NodeUnreachable: A node could not be reached.
        CommandFailed: The file could not be put in place.
    """
    names = [n.name for n in lab.select(on)]
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        futures = [
            pool.submit(lab.put_text, name, text, path, sudo=True, mode=mode) for name in names
        ]
        for future in futures:
            future.result()


def install_unit(
    lab: RemoteLab, unit: str, text: str, on: Iterable[str], *, timeout: float = 60.0
) -> None:
    """Write a systemd unit on nodes, then enable and (re)start it there.

    Raises:
        NodeUnreachable: A node could not be reached.
        CommandFailed: The unit could not be written, enabled or started.
    """
    nodes = list(on)
    write_file(lab, f"/etc/systemd/system/{unit}", text, on=nodes)
    run_checked(
        lab,
        shell_line(
            sh("systemctl", "daemon-reload"),
            "&&",
            sh("systemctl", "enable", unit),
            "&&",
            sh("systemctl", "restart", unit),
        ),
        nodes,
        timeout=timeout,
    )
