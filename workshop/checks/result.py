"""`CheckResult`: what a check found, shown well in a notebook and a terminal.

A check never just raises: it returns a result with `passed`, a `message` saying
what it saw, and a `hint` saying what to try when it failed. A notebook that must
stop on failure calls `.assert_passed()` (chapters end with that, so nbval fails
when the lab is not in the state the chapter promised).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from workshop.errors import WorkshopError
from workshop.secrets import mask_secrets

__all__ = ["CheckFailed", "CheckResult", "check_all", "guarded", "name_list"]


class CheckFailed(WorkshopError):
    """A check asserted in a notebook did not pass."""


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check.

    Attributes:
        name: What was checked, e.g. ``swarm has 2 managers and 1 worker``.
        passed: Whether the lab is as expected.
        message: What the check saw.
        hint: What to try when it failed (empty when it passed).
        details: Sub-results of a combined check.
    """

    name: str
    passed: bool
    message: str
    hint: str = ""
    details: tuple[CheckResult, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return self.passed

    def assert_passed(self) -> CheckResult:
        """Raise CheckFailed (with the hint) unless the check passed; return self."""
        if not self.passed:
            raise CheckFailed(str(self))
        return self

    def _lines(self, indent: str = "") -> list[str]:
        mark = "PASS" if self.passed else "FAIL"
        lines = [f"{indent}[{mark}] {self.name}: {mask_secrets(self.message)}"]
        if self.hint and not self.passed:
            lines.append(f"{indent}       hint: {mask_secrets(self.hint)}")
        for detail in self.details:
            lines += detail._lines(indent + "  ")
        return lines

    def __str__(self) -> str:
        return "\n".join(self._lines())

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour, word = ("#2e7d32", "PASS") if self.passed else ("#c62828", "FAIL")
        hint = ""
        if self.hint and not self.passed:
            text = html.escape(mask_secrets(self.hint))
            hint = f"<div style='margin-left:3.2em;color:#555'>Hint: {text}</div>"
        details = "".join(d._repr_html_() for d in self.details)
        nested = f"<div style='margin-left:1.5em'>{details}</div>" if details else ""
        return (
            f"<div style='font-family:sans-serif;margin:2px 0'>"
            f"<span style='color:white;background:{colour};padding:1px 6px;border-radius:3px'>"
            f"{word}</span> <b>{html.escape(self.name)}</b>: "
            f"{html.escape(mask_secrets(self.message))}{hint}{nested}</div>"
        )


def check_all(name: str, results: Iterable[CheckResult]) -> CheckResult:
    """Combine checks: passes when all pass; the message counts them."""
    parts = tuple(results)
    failed = [r for r in parts if not r.passed]
    message = (
        f"all {len(parts)} checks passed"
        if not failed
        else f"{len(failed)} of {len(parts)} checks failed: " + ", ".join(r.name for r in failed)
    )
    hint = failed[0].hint if failed else ""
    return CheckResult(name, not failed, message, hint, parts)


def guarded(name: str, hint: str, probe: Callable[[], CheckResult]) -> CheckResult:
    """Run a probe; an error on the way (a node down, no swarm) becomes a failed check."""
    try:
        return probe()
    except WorkshopError as exc:
        return CheckResult(name, False, f"could not check: {str(exc).splitlines()[0]}", hint)


def name_list(names: Sequence[str]) -> str:
    """Names for a message: ``node-1, node-2``, or ``none``."""
    return ", ".join(names) if names else "none"
