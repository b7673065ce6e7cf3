"""A live view of which container answered a burst of HTTP requests, for JupyterLab.

:class:`RequestSampler` sends requests from a lab node to a published port
(:func:`~workshop.dashboard.sampling.sample_requests`) and redraws its histogram in
place: per replica, and per node the replicas run on.
"""

from __future__ import annotations

import ipywidgets as widgets

from workshop.dashboard.canvas import FigureImage
from workshop.dashboard.live import DashboardLab, LiveWidget
from workshop.dashboard.sample_plots import request_histogram
from workshop.dashboard.sampling import RequestSample, check_port, check_requests, sample_requests

__all__ = ["RequestSampler"]


class RequestSampler(LiveWidget):
    """Send requests to a published port and plot which container answered.

    Args:
        lab: The lab.
        port: The service's published port.
        requests: Requests per burst.
        service: The service answering (maps containers to nodes; ``None``: all tasks).
        sender: Node the requests start from (default: the first running node).

    Raises:
        UsageError: For a bad port or number of requests (before anything is sent).
    """

    css_class = "workshop-request-sampler"
    read_on_display = False  # a read sends requests: the learner starts it

    def __init__(
        self,
        lab: DashboardLab,
        port: int,
        requests: int = 50,
        *,
        service: str | None = None,
        sender: str | None = None,
        interval: float = 10.0,
        auto_refresh: bool = False,
    ) -> None:
        super().__init__(interval, auto_refresh)
        self.lab = lab
        self.port = check_port(port)
        self.service = service
        self.sender = sender
        self.sample: RequestSample | None = None
        self.requests = widgets.IntSlider(
            value=check_requests(requests),
            min=1,
            max=max(500, requests),
            description="requests",
            continuous_update=False,
        )
        self.send_button = widgets.Button(
            description="Send requests", icon="paper-plane", button_style="primary"
        )
        self.send_button.on_click(lambda _: self.run_in_background("send requests", self.refresh))
        self.canvas = FigureImage("workshop-request-histogram", "900px")
        self.image = self.canvas.image
        self.title = widgets.HTML(value=f"<b>Requests to port {self.port}</b>: press Send")
        self._layout(
            self.title, widgets.HBox([self.requests, self.send_button, self.auto]), self.image
        )

    def refresh(self) -> RequestSample:
        """Send a burst of requests, redraw, and return the answers."""
        with self._refresh_lock:
            try:
                sample = sample_requests(
                    self.lab,
                    self.port,
                    self.requests.value,
                    service=self.service,
                    sender=self.sender,
                )
            except Exception as exc:
                self.show_error(exc)
                raise
            self.sample = sample
            self.canvas.show(
                (sample.answers, sample.replicas),
                lambda figure: request_histogram(sample.answers, sample.replicas, figure=figure),
            )
            missing = sum(sample.unanswered.values())
            note = f"; <b>{missing} got no answer</b>" if missing else ""
            self.title.value = (
                f"<b>{sample.requests} requests to port {self.port}</b> from "
                f"{sample.sender}: {sample.answered} answered{note}"
            )
            self._refreshed(sample.took)
            return sample

    def __repr__(self) -> str:
        head = f"RequestSampler(port={self.port}, requests={self.requests.value})"
        body = repr(self.sample) if self.sample else "(no requests sent yet: call refresh())"
        error = f"\nLast error: {self.last_error}" if self.last_error else ""
        return f"{head}\n{body}{error}"
