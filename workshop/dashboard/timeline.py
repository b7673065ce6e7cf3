"""Record running tasks and the leader over time, for the fault chapter's timeline.

Example (chapter 09)::

    timeline = FaultTimeline(lab, "helloworld").start()
    timeline.mark("node-1 powered off"); lab.halt("node-1")
    timeline.wait(90)        # keep sampling for 90 s
    timeline.stop()          # shows the plot (and a text table in a terminal)

Sampling runs at a fixed rate and keeps every sample; it is not a wait for a state
(that is :func:`workshop.progress.poll_until`). Each sample is one round trip
(:meth:`~workshop.swarm.SwarmReader.sample`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from matplotlib.figure import Figure

from workshop.dashboard.live import check_interval, png_of
from workshop.dashboard.sample_plots import fault_timeline
from workshop.errors import UsageError, WorkshopError
from workshop.swarm.models import TimelineSample
from workshop.swarm.read import SwarmLab, SwarmReader

__all__ = ["FaultTimeline", "record_timeline"]


class FaultTimeline:
    """Samples a service every ``interval`` seconds on a background thread.

    Args:
        lab: The lab (or anything a :class:`SwarmReader` reads from).
        service: The service to watch.
        interval: Seconds between samples.
        desired: Replicas wanted, drawn as a dashed line.
        reader: Read through this reader instead of a new one.
        clock: Time source (tests pass a fake one).
    """

    def __init__(
        self,
        lab: SwarmLab,
        service: str,
        *,
        interval: float = 2.0,
        desired: int | None = None,
        reader: SwarmReader | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not service:
            raise UsageError("name the service to watch, e.g. FaultTimeline(lab, 'helloworld')")
        self.service = service
        self.interval = check_interval(interval)
        self.desired = desired
        self.reader = reader or SwarmReader(lab)
        self.clock = clock
        self.samples: list[TimelineSample] = []
        self.last_error: WorkshopError | None = None
        self._started: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since :meth:`start` (0 before)."""
        return 0.0 if self._started is None else self.clock() - self._started

    def sample(self, event: str | None = None) -> TimelineSample:
        """Take one sample now (a failed read gives a sample with ``running=None``)."""
        if self._started is None:
            self._started = self.clock()
        t = round(self.elapsed, 2)
        try:
            sample = self.reader.sample(self.service, t, event)
        except WorkshopError as exc:
            self.last_error = exc
            sample = TimelineSample(t=t, running=None, leader=None, event=event)
        with self._lock:
            self.samples.append(sample)
        return sample

    def mark(self, event: str) -> TimelineSample:
        """Note an event now (e.g. ``"node-1 powered off"``), without reading the swarm."""
        if self._started is None:
            self._started = self.clock()
        with self._lock:
            last = self.samples[-1] if self.samples else None
            mark = TimelineSample(
                t=round(self.elapsed, 2),
                running=last.running if last else None,
                leader=last.leader if last else None,
                event=event,
            )
            self.samples.append(mark)
        return mark

    def start(self) -> FaultTimeline:
        """Start sampling in the background; returns ``self`` for chaining."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        if self._started is None:
            self._started = self.clock()
        self._thread = threading.Thread(target=self._record, name="fault-timeline", daemon=True)
        self._thread.start()
        return self

    def _record(self, seconds: float | None = None) -> FaultTimeline:
        """Sample every ``interval`` seconds until :meth:`stop` (or for ``seconds``).

        A fixed-rate sampler, not a wait for a state: every sample is kept, and it
        blocks the caller (:meth:`start` runs it on a thread).

        Args:
            seconds: Stop after this long (``None``: only :meth:`stop` ends it).
        """
        until = None if seconds is None else self.clock() + seconds
        while True:
            self.sample()
            pause = self.interval if until is None else min(self.interval, until - self.clock())
            if pause <= 0 or self._stop.wait(pause):
                return self

    def wait(self, seconds: float) -> FaultTimeline:
        """Block for ``seconds`` while the background sampling goes on."""
        time.sleep(seconds)
        return self

    def stop(self) -> FaultTimeline:
        """Stop sampling (the sample under way finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        return self

    def refresh(self) -> list[TimelineSample]:
        """Take one sample now and return every sample so far."""
        self.sample()
        return self.timeline()

    def timeline(self) -> list[TimelineSample]:
        """The samples so far, in time order."""
        with self._lock:
            return sorted(self.samples, key=lambda s: s.t)

    def figure(self) -> Figure:
        """The timeline plot of the samples so far."""
        return fault_timeline(
            self.timeline(), desired=self.desired, title=f"{self.service} during the fault"
        )

    def _repr_png_(self) -> bytes:
        return png_of(self.figure())

    def __repr__(self) -> str:
        samples = self.timeline()
        lines = [f"{self.service}: {len(samples)} samples over {self.elapsed:.0f} s"]
        lines.append(f"{'T':>6}  {'RUNNING':>7}  LEADER")
        for s in samples:
            running = "?" if s.running is None else str(s.running)
            event = f"  <- {s.event}" if s.event else ""
            lines.append(f"{s.t:>6.1f}  {running:>7}  {s.leader or '-'}{event}")
        return "\n".join(lines)


def record_timeline(
    lab: SwarmLab,
    service: str,
    seconds: float,
    interval: float = 2.0,
    *,
    reader: SwarmReader | None = None,
) -> list[TimelineSample]:
    """Sample ``service`` for ``seconds`` (blocking) and return the samples.

    Args:
        lab: The lab.
        service: The service to watch.
        seconds: How long to watch.
        interval: Seconds between samples.
        reader: Read through this reader instead of a new one.
    """
    if seconds < 0:
        raise UsageError(f"seconds must not be negative, got {seconds!r}")
    recorder = FaultTimeline(lab, service, interval=interval, reader=reader)
    return recorder._record(seconds).timeline()
