"""A live gauge of the managers' quorum for JupyterLab.

:class:`QuorumGauge` reads the quorum through a :class:`~workshop.swarm.SwarmReader`
(one round trip, and an estimate when the swarm has lost its leader) on an
interval, and redraws its gauge in place when the quorum changes.
"""

from __future__ import annotations

import time

import ipywidgets as widgets

from workshop.dashboard.canvas import FigureImage
from workshop.dashboard.live import DashboardLab, LiveWidget
from workshop.dashboard.plots import quorum_gauge
from workshop.swarm.models import Quorum
from workshop.swarm.read import SwarmReader

__all__ = ["QuorumGauge"]


class QuorumGauge(LiveWidget):
    """The managers' quorum as a gauge, refreshed on an interval.

    Args:
        lab: The lab.
        interval: Seconds between automatic refreshes.
        auto_refresh: Start refreshing at once.
        reader: Read through this reader instead of a new one.
    """

    css_class = "workshop-quorum-gauge"

    def __init__(
        self,
        lab: DashboardLab,
        interval: float = 5.0,
        *,
        auto_refresh: bool = True,
        reader: SwarmReader | None = None,
    ) -> None:
        super().__init__(interval, auto_refresh)
        self.reader = reader or SwarmReader(lab)
        self.quorum: Quorum | None = None
        self.canvas = FigureImage("workshop-quorum", "420px")
        self.image = self.canvas.image
        self._layout(widgets.HBox([self.auto, self.refresh_button]), self.image)

    def refresh(self) -> Quorum:
        """Read the quorum, redraw if it changed, and return it."""
        with self._refresh_lock:
            started = time.monotonic()
            try:
                quorum = self.reader.quorum()
            except Exception as exc:
                self.show_error(exc)
                raise
            self.quorum = quorum
            self.canvas.show(quorum, lambda figure: quorum_gauge(quorum, figure=figure))
            self._refreshed(time.monotonic() - started)
            return quorum

    def __repr__(self) -> str:
        body = repr(self.quorum) if self.quorum else "(not read yet: call refresh())"
        error = f"\nLast error: {self.last_error}" if self.last_error else ""
        return f"QuorumGauge\n{body}{error}"
