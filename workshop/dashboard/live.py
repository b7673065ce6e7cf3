"""What every live widget shares: a refresh timer, background actions, a status area.

A :class:`LiveWidget` owns an ipywidgets box (:attr:`LiveWidget.view`) and shows
itself through it in Jupyter. Reads of the swarm run on a daemon thread every
``interval`` seconds while auto-refresh is on; actions (scale, drain, power) run on
another daemon thread, one at a time, with a progress bar. Nothing blocks the kernel,
and every error ends up in the widget's status area instead of a lost traceback.
"""

from __future__ import annotations

import html
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import ipywidgets as widgets

from workshop.errors import UsageError, WorkshopError
from workshop.swarm.read import CommandResult

__all__ = [
    "DashboardLab",
    "LabMachine",
    "LiveWidget",
    "NodeResult",
    "error_html",
    "png_of",
    "stop_all",
]

#: Smallest refresh interval allowed (seconds): a read takes about a second.
MIN_INTERVAL = 0.5


class NodeResult(CommandResult, Protocol):
    """One node's answer (``RunResult`` fits)."""

    @property
    def node(self) -> str:
        """The node's name."""
        ...


class LabMachine(Protocol):
    """What the widgets need of a lab node (``Node`` fits)."""

    @property
    def name(self) -> str:
        """Node name, e.g. ``node-1``."""
        ...

    @property
    def address(self) -> str:
        """Its address on the lab network."""
        ...

    @property
    def state(self) -> str:
        """Machine state (``running``, ``stopped``...)."""
        ...


class DashboardLab(Protocol):
    """What the widgets need of a lab (``Lab`` fits; unit tests pass a fake)."""

    @property
    def nodes(self) -> Sequence[LabMachine]:
        """Every node, in order."""
        ...

    @property
    def managers(self) -> Sequence[LabMachine]:
        """The nodes the lab makes managers."""
        ...

    def run(
        self, command: str, *, on: str, sudo: bool = ..., timeout: float = ...
    ) -> Sequence[NodeResult]:
        """Run a shell line on nodes (``on``: a node name or ``"all"``)."""
        ...

    def halt(self, name: str) -> object:
        """Power a node off."""
        ...

    def start(self, name: str) -> object:
        """Power a node on."""
        ...


def png_of(figure: Any) -> bytes:
    """PNG bytes of a :class:`~workshop.dashboard.plots.DashboardFigure`."""
    data = figure._repr_png_()
    assert isinstance(data, bytes)
    return data


def error_html(exc: BaseException) -> str:
    """An error as a red, pre-formatted block (messages are already masked)."""
    kind = type(exc).__name__
    text = str(exc) if isinstance(exc, WorkshopError) else f"{kind}: {exc}"
    return (
        '<div class="workshop-error" style="color:#7a0000;background:#fde2e2;'
        'padding:4px 8px;border-radius:4px">'
        f'<b>{html.escape(kind)}</b><pre style="margin:0;white-space:pre-wrap">'
        f"{html.escape(text)}</pre></div>"
    )


def check_interval(interval: float) -> float:
    """Validate a refresh interval in seconds.

    Raises:
        UsageError: If it is below :data:`MIN_INTERVAL`.
    """
    if not interval >= MIN_INTERVAL:
        raise UsageError(f"interval must be at least {MIN_INTERVAL:g} s, got {interval!r}")
    return float(interval)


_LIVE: weakref.WeakSet[LiveWidget] = weakref.WeakSet()


def stop_all() -> int:
    """Stop the auto-refresh of every live widget (e.g. after re-running cells).

    Returns:
        How many widgets were refreshing.
    """
    running = [widget for widget in list(_LIVE) if widget.running]
    for widget in running:
        widget.stop()
    return len(running)


class LiveWidget:
    """Base of the dashboard widgets: timer, background actions, status and progress.

    Subclasses build their controls, then call :meth:`_layout`, and implement
    :meth:`refresh` (read, draw, return the data drawn).

    Args:
        interval: Seconds between automatic refreshes.
        auto_refresh: Start refreshing on a timer at once.
    """

    css_class = "workshop-live"
    #: Whether showing the widget reads once (False where a read is an action).
    read_on_display = True

    def __init__(self, interval: float, auto_refresh: bool) -> None:
        self.interval = check_interval(interval)
        self.last_error: BaseException | None = None
        self.refreshed_at: float | None = None
        self._refresh_lock = threading.Lock()
        self._action_lock = threading.Lock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._action: threading.Thread | None = None
        self.status = widgets.HTML(value="", layout=widgets.Layout(width="100%"))
        self.status.add_class("workshop-status")
        self.progress = widgets.FloatProgress(
            value=0.0,
            min=0.0,
            max=1.0,
            description="",
            bar_style="info",
            layout=widgets.Layout(visibility="hidden", width="40%"),
        )
        self.auto = widgets.ToggleButton(
            value=False,
            description="auto-refresh",
            icon="refresh",
            tooltip=f"refresh every {self.interval:g} s",
        )
        self.auto.observe(self._on_auto, names="value")
        self.refresh_button = widgets.Button(description="Refresh", icon="repeat")
        self.refresh_button.on_click(lambda _: self.run_in_background("refresh", self.refresh))
        self.view = widgets.VBox()
        self.view.add_class(self.css_class)
        self._auto_refresh = auto_refresh
        self._first_read: threading.Thread | None = None
        _LIVE.add(self)

    # --- display ----------------------------------------------------------------
    def _layout(self, *rows: widgets.Widget) -> None:
        """Put the rows, then the progress bar and status area, in :attr:`view`."""
        self.view.children = (*rows, self.progress, self.status)
        if self._auto_refresh:
            self.resume()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        self._read_once()
        bundle = self.view._repr_mimebundle_(**kwargs)
        data: dict[str, Any] = bundle[0] if isinstance(bundle, tuple) else bundle
        data["text/plain"] = repr(self)
        return data

    def refresh(self) -> object:
        """Read, draw and return what was drawn (subclasses)."""
        raise NotImplementedError

    def _read_once(self) -> None:
        """On first display, read once in the background unless something else reads.

        A widget shown without auto-refresh and before any :meth:`refresh` would
        otherwise say "reading…" until a button is pressed.
        """
        if not self.read_on_display or self._first_read is not None:
            return
        if self.running or self.refreshed_at is not None:
            return
        self._first_read = threading.Thread(
            target=self.refresh_quietly, name=f"{type(self).__name__}-first-read", daemon=True
        )
        self._first_read.start()

    # --- timer ------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether auto-refresh is on."""
        return self._timer is not None and self._timer.is_alive()

    def resume(self) -> None:
        """Turn auto-refresh on: refresh now, then every ``interval`` seconds."""
        if self.running:
            return
        self._stop.clear()
        self._timer = threading.Thread(
            target=self._tick, name=f"{type(self).__name__}-refresh", daemon=True
        )
        self._timer.start()
        if not self.auto.value:
            self.auto.value = True

    def stop(self) -> None:
        """Turn auto-refresh off (a refresh under way finishes)."""
        self._stop.set()
        if self.auto.value:
            self.auto.value = False

    def close(self) -> None:
        """Stop refreshing and close the widgets."""
        self.stop()
        self.view.close()

    def _on_auto(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.resume()
        else:
            self.stop()

    def _tick(self) -> None:
        """Refresh every ``interval`` seconds until stopped: a timer, not a wait for a state."""
        while not self._stop.is_set():
            if self.view.comm is None:  # the widget was closed: nobody is looking
                break
            self.refresh_quietly()
            if self._stop.wait(self.interval):
                break

    def refresh_quietly(self) -> object | None:
        """Refresh, showing an error in the widget instead of raising it."""
        try:
            return self.refresh()
        except Exception as exc:  # shown in the widget, not lost
            self.show_error(exc)
            return None

    # --- actions ----------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Whether a background action is under way."""
        return self._action is not None and self._action.is_alive()

    def run_in_background(
        self, label: str, action: Callable[[], object], *, then_refresh: bool = False
    ) -> threading.Thread | None:
        """Run ``action`` on a daemon thread, with progress; one action at a time.

        Args:
            label: What is being done, shown next to the progress bar.
            action: The work; exceptions are shown in the widget.
            then_refresh: Refresh once the action has succeeded.

        Returns:
            The thread, or ``None`` if another action is still running.
        """
        if not self._action_lock.acquire(blocking=False):
            self.show_message(f"Still busy with the previous action; {label} was not started.")
            return None

        def work() -> None:
            idle = self._disable_buttons()
            done = False
            try:
                self.begin_progress(label)
                started = time.monotonic()
                action()
                self.show_message(f"{label}: done in {time.monotonic() - started:.1f} s")
                done = True
            except Exception as exc:  # shown in the widget, not lost
                self.show_error(exc)
            finally:
                self.end_progress()
                for button in idle:
                    button.disabled = False
                self._action_lock.release()
            if done and then_refresh:  # after the buttons: a refresh may disable some
                self.refresh_quietly()

        self._action = threading.Thread(target=work, name=f"workshop-{label}", daemon=True)
        self._action.start()
        return self._action

    def _disable_buttons(self) -> list[widgets.DOMWidget]:
        """Grey out the widget's enabled buttons while an action runs; returns them."""
        found: list[widgets.DOMWidget] = []
        todo: list[widgets.Widget] = [self.view]
        while todo:
            widget = todo.pop()
            if isinstance(widget, widgets.Button | widgets.ToggleButtons) and not widget.disabled:
                widget.disabled = True
                found.append(widget)
            todo.extend(getattr(widget, "children", ()))
        return found

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background action under way, and the first read (tests, scripts)."""
        for thread in (self._first_read, self._action):
            if thread is not None:
                thread.join(timeout)

    # --- status -----------------------------------------------------------------
    def begin_progress(self, label: str, fraction: float = 0.0) -> None:
        """Show the progress bar with a label."""
        self.progress.description = label[:24]
        self.progress.value = fraction
        self.progress.layout.visibility = "visible"
        self.show_message(f"{label}…")

    def set_progress(self, fraction: float, message: str | None = None) -> None:
        """Move the progress bar (0..1), optionally with a message."""
        self.progress.value = min(max(fraction, 0.0), 1.0)
        if message is not None:
            self.show_message(message)

    def end_progress(self) -> None:
        """Hide the progress bar."""
        self.progress.layout.visibility = "hidden"

    def show_message(self, text: str) -> None:
        """Show a line of text in the status area."""
        self.status.value = f'<span class="workshop-message">{html.escape(text)}</span>'

    def show_error(self, exc: BaseException) -> None:
        """Show an error in the status area and keep it in :attr:`last_error`."""
        self.last_error = exc
        self.status.value = error_html(exc)

    def _refreshed(self, took: float) -> None:
        self.last_error = None
        self.refreshed_at = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(self.refreshed_at))
        if not self.busy:
            self.show_message(f"updated {stamp} (read in {took:.2f} s)")
