"""Swarm Workshop Kit: teach Docker Swarm on a real lab, from JupyterLab.

Notebooks use the public API only::

    from workshop import Lab
    lab = Lab.connect()
"""

from __future__ import annotations

from workshop.errors import (
    CommandFailed,
    LabNotFound,
    NodeUnreachable,
    NotConverged,
    NotReady,
    NotSupported,
    ProviderError,
    UnknownNode,
    UsageError,
    WorkshopError,
)
from workshop.facade import Lab
from workshop.lab import Node, Results, RunResult

__all__ = [
    "CommandFailed",
    "Lab",
    "LabNotFound",
    "Node",
    "NodeUnreachable",
    "NotConverged",
    "NotReady",
    "NotSupported",
    "ProviderError",
    "Results",
    "RunResult",
    "UnknownNode",
    "UsageError",
    "WorkshopError",
]
