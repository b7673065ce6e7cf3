"""How long-running work reports progress, and how the kit waits for the lab.

:data:`Progress` is the one progress type: a callable that takes one line of text.
:func:`poll_until` is the one wait loop: it asks a probe until an answer is good
enough, and raises :class:`~workshop.errors.NotConverged` with the last answer when
time runs out, so an error always says what the lab looked like.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from workshop.errors import NotConverged

__all__ = ["Progress", "poll_until", "quiet"]

#: A sink for progress lines (``print``, a widget's log, or :func:`quiet`).
Progress = Callable[[str], None]

T = TypeVar("T")


def quiet(_: str) -> None:
    """The default progress sink: say nothing."""


def poll_until(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float,
    interval: float = 1.0,
    what: str = "the lab",
    describe: Callable[[T], str] = str,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``probe()`` until ``done(answer)``; return that answer.

    The probe is always called at least once, even with ``timeout=0``.

    Args:
        probe: Reads the current state (may raise; errors propagate).
        done: Whether an answer is the state waited for.
        timeout: Seconds to wait at the most.
        interval: Seconds between two probes.
        what: What is awaited, for the error message ("service web at 3/3").
        describe: Turns the last answer into text for the error.
        sleep: Sleeps (tests pass a fake).
        clock: A monotonic clock (tests pass a fake).

    Raises:
        NotConverged: ``done`` never held within ``timeout``; carries the last answer.
    """
    deadline = clock() + timeout
    while True:
        answer = probe()
        if done(answer):
            return answer
        left = deadline - clock()
        if left <= 0:
            raise NotConverged(
                f"{what} did not converge", timeout=timeout, last_seen=describe(answer)
            )
        sleep(min(interval, left))
