"""Checks of the lab's real state, for chapters and graded labs.

Each check returns a :class:`CheckResult` (passed, message, hint) that renders in
Jupyter and in a terminal; ``.assert_passed()`` raises when it failed.
"""

from __future__ import annotations

from workshop.checks.result import CheckFailed, CheckResult, check_all, guarded

__all__ = ["CheckFailed", "CheckResult", "check_all", "guarded"]
