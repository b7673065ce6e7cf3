"""The handle every fault returns: it restores the lab, also as a context manager.

``with power_off(lab, "node-3"):`` powers the node off, runs the block, and powers
it back on when the block ends, also when the block raised, so a failing notebook
cell never leaves the lab broken. :meth:`Fault.restore` may be called any number
of times: the first call that succeeds restores, the others do nothing.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from workshop.errors import WorkshopError
from workshop.progress import Progress

__all__ = ["Fault", "inject"]

#: How a fault undoes itself; returns what it did, in words.
Undo = Callable[[], str]


def _now() -> datetime:
    return datetime.now().astimezone()


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S")


class Fault:
    """A fault injected into the lab, and how to take it back.

    Attributes:
        kind: What was done: ``power_off``, ``cut_network`` or ``stop_brick``.
        node: The node it was done to.
        detail: What was done, in words (with the real command).
        injected_at: When the injection began.
        inject_seconds: How long the injection took.
        restored_at: When the restore began (``None`` until it succeeded).
        restore_seconds: How long the restore took, waits included.
        restore_detail: What the restore did and found, in words.
    """

    def __init__(
        self,
        kind: str,
        node: str,
        detail: str,
        undo: Undo,
        *,
        injected_at: datetime,
        inject_seconds: float,
    ) -> None:
        self.kind = kind
        self.node = node
        self.detail = detail
        self.injected_at = injected_at
        self.inject_seconds = inject_seconds
        self.restored_at: datetime | None = None
        self.restore_seconds: float | None = None
        self.restore_detail = ""
        self._undo = undo
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether the fault is still in place (not restored yet)."""
        return self.restored_at is None

    def restore(self) -> Fault:
        """Bring the lab back; a second call does nothing.

        Raises:
            WorkshopError: The restore failed or timed out; the fault stays active,
                so calling ``restore()`` again tries again.
        """
        with self._lock:
            if not self.active:
                return self
            started_at, started = _now(), time.monotonic()
            self.restore_detail = self._undo()
            self.restore_seconds = time.monotonic() - started
            self.restored_at = started_at
        return self

    def __enter__(self) -> Fault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.restore()

    def _rows(self) -> list[tuple[str, str]]:
        rows = [
            (
                "injected",
                f"{_clock(self.injected_at)} in {self.inject_seconds:.1f} s: {self.detail}",
            )
        ]
        if self.restored_at is None or self.restore_seconds is None:
            rows.append(("restored", "not yet: call .restore() (or use `with`)"))
        else:
            rows.append(
                (
                    "restored",
                    f"{_clock(self.restored_at)} in {self.restore_seconds:.1f} s: "
                    f"{self.restore_detail}",
                )
            )
        return rows

    def __repr__(self) -> str:
        state = "active" if self.active else "restored"
        lines = [f"Fault {self.kind} on {self.node} ({state})"]
        lines += [f"  {label}: {text}" for label, text in self._rows()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        state = "active" if self.active else "restored"
        color = "#7a0000" if self.active else "#1b5e20"
        cells = "".join(
            f'<tr><th style="text-align:left;padding:2px 8px">{esc(label)}</th>'
            f'<td style="text-align:left;padding:2px 8px">{esc(text)}</td></tr>'
            for label, text in self._rows()
        )
        return (
            f"<p><b>Fault</b> <code>{esc(self.kind)}</code> on <b>{esc(self.node)}</b> "
            f'<span style="color:{color}">({state})</span></p>'
            f'<table class="workshop-fault">{cells}</table>'
        )


def inject(kind: str, node: str, do: Callable[[], str], undo: Undo, progress: Progress) -> Fault:
    """Run ``do`` and return its :class:`Fault`; if ``do`` fails, run ``undo`` first.

    Args:
        kind: The fault's name.
        node: The node it is done to.
        do: Makes the fault; returns what it did, in words.
        undo: Takes it back (must be safe to run whatever ``do`` got done).
        progress: Called with a line of text now and then.

    Raises:
        WorkshopError: ``do`` failed (the lab was put back as far as ``undo`` could).
    """
    injected_at, started = _now(), time.monotonic()
    progress(f"{kind} {node}: injecting")
    try:
        detail = do()
    except Exception:
        progress(f"{kind} {node}: the injection failed; putting the lab back")
        try:
            undo()
        except WorkshopError as undo_error:
            progress(f"{kind} {node}: putting it back failed too: {undo_error}")
        raise
    progress(f"{kind} {node}: {detail}")
    return Fault(
        kind, node, detail, undo, injected_at=injected_at, inject_seconds=time.monotonic() - started
    )
