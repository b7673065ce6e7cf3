"""Swarm Workshop Kit: teach Docker Swarm on a real lab, from JupyterLab.

Notebooks use the public API only::

    from workshop import Lab
    lab = Lab.connect()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from workshop.facade import Lab
    from workshop.lab import Node, Results, RunResult

#: Public names loaded on first use, so that ``python -m workshop.settings`` (which the
#: Vagrantfile runs) does not import SSH, docker and every layer.
_LAZY = {
    "Lab": "workshop.facade",
    "Node": "workshop.lab",
    "Results": "workshop.lab",
    "RunResult": "workshop.lab",
}


def __getattr__(name: str) -> Any:
    """Import a public name the first time it is asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'workshop' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


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
