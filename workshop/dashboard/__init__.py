"""Plots of the swarm's state (pure functions returning matplotlib figures)."""

from __future__ import annotations

from workshop.dashboard.plots import (
    fault_timeline,
    quorum_gauge,
    replica_map,
    request_histogram,
)

__all__ = [
    "fault_timeline",
    "quorum_gauge",
    "replica_map",
    "request_histogram",
]
