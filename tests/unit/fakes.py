"""Fakes shared by unit tests that stand in for what the lab answers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from workshop.lab import InventorySource, Node
from workshop.lab.results import RunResult


def result(
    node: str,
    command: str,
    rc: int | None = 0,
    stdout: str = "",
    stderr: str = "",
    error: str | None = None,
) -> RunResult:
    """What one node answered, as `lab.run` returns it."""
    return RunResult(
        node=node,
        command=command,
        rc=rc,
        stdout=stdout,
        stderr=stderr,
        duration=0.01,
        started=0.0,
        finished=0.01,
        error=error,
    )


class FakeSource(InventorySource):
    """An inventory-like source whose hosts are given, not read from a file."""

    def __init__(self, nodes: Sequence[Node] = ()) -> None:
        super().__init__(Path("inventory.yml"))
        self.nodes = list(nodes)

    def discover(self) -> list[Node]:
        return list(self.nodes)


# --- steps: a lab that answers with outputs recorded on a real lab ------------------
import json  # noqa: E402
import re  # noqa: E402
from collections.abc import Iterable  # noqa: E402
from typing import Any  # noqa: E402

from workshop.lab import Results, SSHEndpoint  # noqa: E402

STEPS_DATA = Path(__file__).resolve().parent.parent / "data" / "steps"
GLUSTER_DATA = Path(__file__).resolve().parent.parent / "data" / "gluster"

#: One recorded answer: the node, the exact command line, rc, stdout and stderr.
Recording = dict[str, Any]


def recording(name: str) -> list[Recording]:
    """The answers recorded in ``tests/data/steps/<name>.json``."""
    answers: list[Recording] = json.loads((STEPS_DATA / f"{name}.json").read_text())
    return answers


def same_answer(command: str, stdout: str, nodes: Sequence[str], rc: int = 0) -> list[Recording]:
    """One recorded output as the answer of several nodes, or of one."""
    return [
        {"node": n, "command": command, "rc": rc, "stdout": stdout, "stderr": ""} for n in nodes
    ]


class RecordedRemote:
    """Answers each (node, command) with what a real lab answered to it.

    A later set of answers overrides an earlier one; several answers in one set for
    the same (node, command) are played in order, the last one repeating. Commands
    nobody recorded answer ``rc 0`` and nothing: they are the changes a step makes,
    listed in :attr:`unrecorded` (files written are in :attr:`files`).
    """

    def __init__(self, *sets: Iterable[Recording]) -> None:
        self.replies: dict[tuple[str, str], list[Recording]] = {}
        for answer_set in sets:
            fresh: dict[tuple[str, str], list[Recording]] = {}
            for answer in answer_set:
                fresh.setdefault((answer["node"], answer["command"]), []).append(answer)
            self.replies.update(fresh)
        self.commands: list[tuple[str, str]] = []
        self.unrecorded: list[tuple[str, str]] = []
        self.files: list[tuple[str, str]] = []

    def _answer(self, node: str, command: str) -> RunResult:
        self.commands.append((node, command))
        queue = self.replies.get((node, command))
        if not queue:
            self.unrecorded.append((node, command))
            return result(node, command)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return result(node, command, answer["rc"], answer["stdout"], answer["stderr"])

    def run(self, nodes, command, *, sudo=False, timeout=0.0, stdin=None) -> Results:
        return Results(self._answer(node.name, command) for node in nodes)

    def put_text(self, node, text, path, *, sudo=False, mode="0644") -> None:
        self.files.append((node.name, path))

    def close(self) -> None:
        pass

    def changes(self, pattern: str) -> list[str]:
        """Nodes where an unrecorded command matching ``pattern`` ran."""
        regex = re.compile(pattern)
        return sorted({node for node, command in self.unrecorded if regex.search(command)})


#: The nodes of the lab the recordings come from (the development lab "wsdev").
RECORDED_NODES = (
    Node("node-1", "manager", "192.168.60.11", SSHEndpoint("127.0.0.1", 2200)),
    Node("node-2", "manager", "192.168.60.12", SSHEndpoint("127.0.0.1", 2201)),
    Node("node-3", "worker", "192.168.60.13", SSHEndpoint("127.0.0.1", 2222)),
)


def recorded_lab(
    *sets: Iterable[Recording], nodes: Sequence[Node] = RECORDED_NODES
) -> tuple[Any, RecordedRemote]:
    """A lab of the recorded nodes whose SSH fan-out answers from recordings."""
    from workshop import Lab

    lab = Lab(FakeSource(nodes), list(nodes))
    remote = RecordedRemote(*sets)
    lab.remote = remote  # type: ignore[assignment]
    return lab, remote
