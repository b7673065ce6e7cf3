"""The lab's machines: where they come from, what they are, how they are powered.

Sources of machines (:class:`VagrantSource`, :class:`InventorySource`) implement
:class:`LabSource` and produce :class:`Node` objects; a command run on nodes
produces :class:`Results` of :class:`RunResult`. This layer runs nothing on the
nodes: that is :mod:`workshop.remote`.
"""

from __future__ import annotations

from workshop.lab.node import Node, SSHEndpoint
from workshop.lab.project import find_project
from workshop.lab.results import Results, RunResult
from workshop.lab.source import InventorySource, LabSource
from workshop.lab.vagrant import VagrantSource

__all__ = [
    "InventorySource",
    "LabSource",
    "Node",
    "Results",
    "RunResult",
    "SSHEndpoint",
    "VagrantSource",
    "find_project",
]
