"""The lab: its machines, how to reach them, and what they answered.

Sources of machines (Vagrant, an inventory file) produce :class:`Node` objects;
running a command on nodes produces :class:`Results` of :class:`RunResult`.
"""

from __future__ import annotations

from workshop.lab.lab import Lab, find_project
from workshop.lab.node import Node, SSHEndpoint
from workshop.lab.results import Results, RunResult

__all__ = ["Lab", "Node", "Results", "RunResult", "SSHEndpoint", "find_project"]
