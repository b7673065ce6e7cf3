"""Waiting for a check to pass (a heal, a reschedule), through the kit's one wait loop."""

from __future__ import annotations

import time
from collections.abc import Callable

from workshop.checks.result import CheckResult
from workshop.errors import NotConverged
from workshop.progress import poll_until

__all__ = ["wait_until"]


def wait_until(
    check: Callable[[], CheckResult], timeout: float = 120.0, interval: float = 3.0
) -> CheckResult:
    """Run a check until it passes, for at most ``timeout`` seconds.

    Example: ``checks.wait_until(lambda: checks.gluster_healed(lab))``.

    Returns:
        The first passing result, or the last failing one (its message says how
        long it was tried).
    """
    seen: list[CheckResult] = []

    def probe() -> CheckResult:
        seen.append(check())
        return seen[-1]

    started = time.monotonic()
    try:
        return poll_until(probe, bool, timeout=timeout, interval=interval, what="the check")
    except NotConverged:
        last = seen[-1]
        waited = time.monotonic() - started
        message = f"{last.message} (still so after {waited:.0f} s, {len(seen)} tries)"
        return CheckResult(last.name, False, message, last.hint, last.details)
