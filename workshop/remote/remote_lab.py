"""`RemoteLab`: the lab's machines, and commands run on them.

A lab comes from a source (:class:`~workshop.lab.LabSource`): the project's
Vagrantfile (VMs or node containers) or an inventory of real hosts. Commands fan out
over SSH in parallel and come back as per-node :class:`Results`. Power operations
(`halt`, `start`) go to the source, which refuses them when it cannot power its
machines. Steps, checks and the swarm read model take a ``RemoteLab``; notebooks get
the facade :class:`workshop.Lab`, which adds ``require``.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from workshop.errors import LabNotFound, UnknownNode, UsageError
from workshop.lab import InventorySource, LabSource, Node, Results, RunResult, VagrantSource
from workshop.lab.project import find_project
from workshop.progress import Progress, quiet
from workshop.remote.ssh import COMMAND_TIMEOUT, Remote
from workshop.settings import LabSettings

__all__ = ["RemoteLab", "Target"]

Target = str | Iterable[str]
L = TypeVar("L", bound="RemoteLab")


class RemoteLab:
    """The lab's machines: look them up, run commands on them, power them."""

    def __init__(self, source: LabSource, nodes: Sequence[Node] | None = None) -> None:
        self.source = source
        self._nodes: list[Node] = list(nodes) if nodes is not None else source.discover()
        self.remote = Remote()

    # --- finding a lab ------------------------------------------------------------
    @classmethod
    def from_vagrant(cls: type[L], path: str | Path | None = None, *, discover: bool = True) -> L:
        """The lab of a Vagrant project (default: this workshop's folder)."""
        project = Path(path) if path is not None else find_project()
        source = VagrantSource(project, LabSettings.load(project))
        return cls(source, None if discover else [])

    @classmethod
    def from_inventory(cls: type[L], path: str | Path) -> L:
        """A lab of real hosts from a YAML inventory or an OpenSSH config file."""
        return cls(InventorySource(Path(path)))

    @classmethod
    def connect(cls: type[L], path: str | Path | None = None) -> L:
        """The lab of the current project: `WORKSHOP_INVENTORY` if set, else the Vagrant lab.

        A Vagrant lab whose machines do not exist yet has no nodes until `lab.up()` or
        `lab.require("nodes")` creates them.
        """
        inventory = os.environ.get("WORKSHOP_INVENTORY")
        if inventory:
            return cls.from_inventory(inventory)
        return cls.from_vagrant(path)

    def ensure_nodes(self) -> RemoteLab:
        """Raise LabNotFound, saying what to run, when the lab has no machines yet."""
        if not self._nodes:
            raise LabNotFound("the lab has no machines yet: run `workshop up` (or `make lab`).")
        return self

    # --- nodes --------------------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        """Every node, in order."""
        return list(self._nodes)

    @property
    def names(self) -> list[str]:
        """Node names, in order."""
        return [n.name for n in self._nodes]

    @property
    def managers(self) -> list[Node]:
        """Nodes the lab makes swarm managers."""
        return [n for n in self._nodes if n.is_manager]

    @property
    def workers(self) -> list[Node]:
        """Nodes the lab makes swarm workers."""
        return [n for n in self._nodes if not n.is_manager]

    def node(self, name: str) -> Node:
        """One node by name; `UnknownNode` lists the valid names."""
        for node in self._nodes:
            if node.name == name:
                return node
        raise UnknownNode(name, self.names)

    def select(self, on: Target = "all") -> list[Node]:
        """Nodes named by `on`: "all", "managers", "workers", a name, or a list of names."""
        if isinstance(on, str):
            if on == "all":
                return self.nodes
            if on == "managers":
                return self.managers
            if on == "workers":
                return self.workers
            return [self.node(on)]
        names = list(on)
        if not names:
            raise UsageError("no nodes given; name at least one of: " + ", ".join(self.names))
        return [self.node(name) for name in names]

    def refresh(self) -> RemoteLab:
        """Read the machines and their states again from the source."""
        self._nodes = self.source.discover()
        return self

    # --- commands -----------------------------------------------------------------
    def run(
        self,
        command: str,
        on: Target = "all",
        *,
        sudo: bool = False,
        timeout: float = COMMAND_TIMEOUT,
        stdin: str | None = None,
    ) -> Results:
        """Run a shell command on nodes in parallel; one result per node, failures kept.

        Nodes the source reports as not running are not contacted: their result says so.
        """
        nodes = self.select(on)
        running = [n for n in nodes if n.running]
        results = list(self.remote.run(running, command, sudo=sudo, timeout=timeout, stdin=stdin))
        for node in nodes:
            if not node.running:
                results.append(_not_running(node, command, self.source.start_advice(node.name)))
        return Results(results)

    def put_text(
        self, name: str, text: str, path: str, *, sudo: bool = False, mode: str = "0644"
    ) -> None:
        """Write a file on one node."""
        self.remote.put_text(self.node(name), text, path, sudo=sudo, mode=mode)

    # --- power --------------------------------------------------------------------
    @property
    def settings(self) -> LabSettings | None:
        """The settings that shape the lab (``None`` for an inventory of real hosts)."""
        return self.source.settings

    def up(self, progress: Progress = quiet) -> RemoteLab:
        """Create and start every machine (reusing what exists), then read them back."""
        self.source.create(progress)
        self.remote.close()
        return self.refresh()

    def halt(self, name: str, progress: Progress = quiet) -> RemoteLab:
        """Power one node off, as pulling its plug would (a clean shutdown)."""
        node = self.node(name)
        self.source.halt([node.name], progress)
        return self.refresh()

    def start(self, name: str, progress: Progress = quiet) -> RemoteLab:
        """Power one node on again and wait until it answers SSH."""
        node = self.node(name)
        self.source.start([node.name], progress)
        self.remote.close()
        return self.refresh()

    def destroy(self, progress: Progress = quiet) -> None:
        """Remove every machine, volume and network of the lab."""
        self.remote.close()
        self.source.remove(progress)
        self._nodes = []

    def close(self) -> None:
        """Close SSH connections."""
        self.remote.close()

    # --- presentation -------------------------------------------------------------
    def _rows(self) -> list[tuple[str, str, str, str, str]]:
        return [(n.name, n.role, n.address, n.state, str(n.ssh)) for n in self._nodes]

    def __repr__(self) -> str:
        header = ("node", "role", "address", "state", "ssh")
        rows = [header, *self._rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]
        return f"Lab ({self.source.kind}, {len(self._nodes)} nodes)\n" + "\n".join(lines)

    def _repr_html_(self) -> str:
        cells = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self._rows()
        )
        head = "".join(f"<th>{h}</th>" for h in ("node", "role", "address", "state", "ssh"))
        return (
            f"<p><b>Lab</b> ({html.escape(self.source.kind)}, {len(self._nodes)} nodes)</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"
        )


def _not_running(node: Node, command: str, advice: str) -> RunResult:
    return RunResult(
        node=node.name,
        command=command,
        rc=None,
        stdout="",
        stderr="",
        duration=0.0,
        started=0.0,
        finished=0.0,
        error=f"the machine is {node.state} ({advice})",
        unreachable=True,
        address=node.address,
    )
