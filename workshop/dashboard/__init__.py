"""The swarm, drawn: pure plots (matplotlib) and live widgets (ipywidgets).

Example:
    >>> from workshop.dashboard import SwarmDashboard   # doctest: +SKIP
    >>> SwarmDashboard(lab)                             # doctest: +SKIP
"""

from __future__ import annotations

from workshop.dashboard.control import DashboardState
from workshop.dashboard.layout import SideBySide, side_by_side
from workshop.dashboard.live import stop_all
from workshop.dashboard.plots import quorum_gauge, replica_map
from workshop.dashboard.quorum_widget import QuorumGauge
from workshop.dashboard.requests_widget import RequestSampler
from workshop.dashboard.sample_plots import fault_timeline, request_histogram
from workshop.dashboard.sampling import RequestSample, sample_requests
from workshop.dashboard.timeline import FaultTimeline, record_timeline
from workshop.dashboard.topology import topology
from workshop.dashboard.widgets import SwarmDashboard

__all__ = [
    "DashboardState",
    "FaultTimeline",
    "QuorumGauge",
    "RequestSample",
    "RequestSampler",
    "SideBySide",
    "SwarmDashboard",
    "fault_timeline",
    "quorum_gauge",
    "record_timeline",
    "replica_map",
    "request_histogram",
    "sample_requests",
    "side_by_side",
    "stop_all",
    "topology",
]
