"""Which manager answers: fail-over between the swarm's managers.

A read of the swarm may go to any manager. :func:`first_answer` runs one shell line
on the managers in turn until one answers; a manager that is unreachable, says it
is not a manager, or says the swarm has no leader is skipped, and
:class:`SwarmUnavailable` lists every manager asked when none could answer. A
failure of the command itself (``no such service``) is raised at once: every
manager would give the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from workshop.errors import CommandFailed, NodeUnreachable, UnknownNode, WorkshopError

__all__ = [
    "DEFAULT_TIMEOUT",
    "Attempt",
    "CommandResult",
    "ManagerNode",
    "SwarmLab",
    "SwarmUnavailable",
    "classify_failure",
    "first_answer",
]

DEFAULT_TIMEOUT = 15.0

#: Phrases (lower case) in docker's stderr meaning "ask another manager".
MANAGER_UNAVAILABLE = (
    "does not have a leader",
    "not a swarm manager",
    "not part of a swarm",
    "cannot connect to the docker daemon",
    "is the docker daemon running",
    "context deadline exceeded",
    "deadlineexceeded",
    "code = unavailable",
    "connection refused",
    "command not found",
)
NO_LEADER = "does not have a leader"
#: Phrases meaning the node's docker engine itself did not answer.
ENGINE_DOWN = (
    "cannot connect to the docker daemon",
    "is the docker daemon running",
    "command not found",
)


class ManagerNode(Protocol):
    """What the reader needs of a lab node: its name."""

    @property
    def name(self) -> str:
        """The node's name in the lab (``node-1``)."""
        ...


class CommandResult(Protocol):
    """What the reader needs of one node's result (``RunResult`` fits)."""

    @property
    def rc(self) -> int | None:
        """Exit code, ``None`` if the command never finished."""
        ...

    @property
    def stdout(self) -> str:
        """Standard output."""
        ...

    @property
    def stderr(self) -> str:
        """Standard error."""
        ...

    @property
    def error(self) -> object:
        """Why the node could not be reached (falsy when it was)."""
        ...


class SwarmLab(Protocol):
    """What the reader needs of a lab (``Lab`` fits; tests pass a fake)."""

    @property
    def managers(self) -> Sequence[ManagerNode]:
        """The lab's manager nodes, in preference order."""
        ...

    def run(
        self, command: str, *, on: str, sudo: bool = ..., timeout: float = ...
    ) -> Sequence[CommandResult]:
        """Run a shell line on one node and return its result."""
        ...


@dataclass(frozen=True)
class Attempt:
    """One manager asked, and why it could not answer.

    Attributes:
        manager: The manager's name.
        reason: What went wrong.
        answered: Whether the manager's engine answered (the node is up).
        no_leader: Whether it said the swarm has no leader.
    """

    manager: str
    reason: str
    answered: bool = False
    no_leader: bool = False


class SwarmUnavailable(WorkshopError):
    """No manager could answer a read of the swarm.

    Attributes:
        command: The docker command that was tried.
        attempts: Every manager asked, and why it failed.
    """

    def __init__(self, command: str, attempts: Sequence[Attempt]) -> None:
        self.command = command
        self.attempts = tuple(attempts)
        lines = [f"No manager could answer `{command}`:"]
        lines += [f"  {a.manager}: {a.reason}" for a in self.attempts] or ["  (no managers)"]
        if self.no_leader:
            lines.append(
                "The swarm has no leader: a majority of its managers must be running. "
                "Start the stopped managers (`workshop up`) and try again."
            )
        else:
            lines.append(
                "Check the managers with `workshop status`; `workshop up` starts stopped nodes."
            )
        super().__init__("\n".join(lines))

    @property
    def no_leader(self) -> bool:
        """Whether a manager that answered said the swarm has no leader."""
        return any(a.no_leader for a in self.attempts)

    def _init_args(self) -> tuple[object, ...]:
        return (self.command, self.attempts)


def _last_line(text: str) -> str:
    """The last non-blank line (docker's error follows any sudo/ssh warnings)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def classify_failure(stderr: str) -> Attempt | None:
    """Tell whether a failed command means "ask another manager".

    Args:
        stderr: The command's standard error.

    Returns:
        An :class:`Attempt` (without the manager name) if another manager should be
        asked, ``None`` if the failure is about the command itself.
    """
    lowered = stderr.lower()
    if not any(phrase in lowered for phrase in MANAGER_UNAVAILABLE):
        return None
    engine_down = any(phrase in lowered for phrase in ENGINE_DOWN)
    return Attempt("", _last_line(stderr), answered=not engine_down, no_leader=NO_LEADER in lowered)


def _ask_one(lab: SwarmLab, name: str, command: str, timeout: float) -> str | Attempt:
    """Run ``command`` on manager ``name``: its output, or why another must be asked.

    Raises:
        CommandFailed: If the command ran and failed for a reason every manager shares.
    """
    try:
        results = lab.run(command, on=name, sudo=True, timeout=timeout)
        if not results:
            return Attempt(name, "no result")
        result = results[0]
        if result.error:  # e.g. "unreachable at ...", "timed out after 15 s"
            return Attempt(name, _last_line(str(result.error)))
        if result.rc == 0:
            return result.stdout
        raise CommandFailed(command, name, result.rc, result.stdout, result.stderr)
    except CommandFailed as exc:
        attempt = classify_failure(exc.stderr)
        if attempt is None and exc.rc is not None:
            raise
        reason = f"did not finish within {timeout:g} s"
        return replace(attempt or Attempt("", reason), manager=name)
    except NodeUnreachable as exc:
        return Attempt(name, f"unreachable: {exc.reason}")
    except UnknownNode as exc:  # a manager the swarm reported but the lab lacks
        return Attempt(name, str(exc))


def first_answer(
    lab: SwarmLab, managers: Sequence[str], command: str, *, timeout: float, what: str = ""
) -> tuple[str, str]:
    """Run a shell line (as root) on the first of ``managers`` able to answer.

    Args:
        lab: The lab.
        managers: Managers to ask, in order.
        command: The shell line.
        timeout: Seconds allowed on each manager.
        what: How errors name the command (default: the line itself).

    Returns:
        The manager that answered, and the command's standard output.

    Raises:
        CommandFailed: If a manager ran the command and it failed for a reason other
            managers would share (e.g. ``no such service``).
        SwarmUnavailable: If no manager could answer.
    """
    attempts: list[Attempt] = []
    for name in managers:
        answer = _ask_one(lab, name, command, timeout)
        if isinstance(answer, str):
            return name, answer
        attempts.append(answer)
    raise SwarmUnavailable(what or command, attempts)
