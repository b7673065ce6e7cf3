"""Exercises inside the chapters: a learner's answer, graded, "not done yet" until given.

A chapter asks a question and leaves an empty answer for the learner::

    per_node = None   # your prediction: tasks per node at 30 replicas
    checks.answer(per_node, 10, name="tasks per node at 30", hint="count with ...")

An untouched answer (``None``, ``...`` or an empty string) is neither right nor wrong:
the result says "not done yet" with the hint, and ``passed`` is False, so a check that
grades an exercise never passes on an untouched notebook. Nothing raises unless the
notebook asks with ``.assert_passed()``, so a chapter run as it comes (nbval) goes on.
:func:`exercise` grades a task done on the lab (a terminal task, a change by hand)
once the learner says it is done. :func:`terminal_text` turns what a command drew on a
terminal (progress bars redrawn in place) into the lines a reader saw last.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workshop.checks.result import CheckResult, guarded
from workshop.secrets import mask_secrets

__all__ = ["ExerciseResult", "answer", "exercise", "is_unanswered", "terminal_text"]

NOT_DONE = "not done yet"


@dataclass(frozen=True, repr=False)
class ExerciseResult(CheckResult):
    """A graded exercise: a CheckResult that may also be "not done yet".

    Attributes:
        done: False while the learner has not answered; ``passed`` is then False too.
    """

    done: bool = True

    def _lines(self, indent: str = "") -> list[str]:
        if self.done:
            return super()._lines(indent)
        return [f"{indent}[TODO] {self.name}: {NOT_DONE} — {mask_secrets(self.hint)}"]

    def _repr_html_(self) -> str:
        if self.done:
            return super()._repr_html_()
        return (
            "<div style='font-family:sans-serif;margin:2px 0'>"
            "<span style='color:white;background:#9e9e9e;padding:1px 6px;border-radius:3px'>"
            f"TODO</span> <b>{html.escape(self.name)}</b>: {NOT_DONE} — "
            f"{html.escape(mask_secrets(self.hint))}</div>"
        )


def is_unanswered(value: object) -> bool:
    """Whether an answer was left as the chapter gave it: None, ``...`` or blank text."""
    return value is None or value is Ellipsis or (isinstance(value, str) and not value.strip())


def _same(value: object, expected: object) -> bool:
    if isinstance(value, str) and isinstance(expected, str):
        return value.strip().casefold() == expected.strip().casefold()
    if isinstance(value, bool) or isinstance(expected, bool):
        return value is expected
    return value == expected


def answer(
    value: object,
    expected: object | Callable[[Any], bool],
    *,
    name: str = "your answer",
    hint: str,
    explain: str = "",
) -> ExerciseResult:
    """Grade a learner's answer to a question.

    Args:
        value: What the learner wrote (``None``, ``...`` or ``""``: not answered yet).
        expected: The right answer (text is compared ignoring case and surrounding
            blanks; True/False only match themselves), or a function that says
            whether an answer is right.
        name: The question, short.
        hint: How to find the answer: the docker/gluster command first, then the
            kit's helper. Shown until the answer is right.
        explain: Said when the answer is right (why it is).
    """
    if is_unanswered(value):
        return ExerciseResult(name, False, NOT_DONE, hint, done=False)
    right = expected(value) if callable(expected) else _same(value, expected)
    if right:
        return ExerciseResult(name, True, f"right: {value!r}" + (f". {explain}" if explain else ""))
    return ExerciseResult(name, False, f"{value!r} is not it", hint)


def exercise(
    name: str,
    done: object,
    probe: Callable[[], CheckResult],
    *,
    hint: str,
) -> ExerciseResult:
    """Grade a task done on the lab, once the learner says it is done.

    Args:
        name: The task, short.
        done: What the learner set when done (e.g. ``True``, or text they pasted);
            left empty, the task is "not done yet" and the lab is not even read.
        probe: The check of the lab's real state that grades the task.
        hint: What to do: the command to type first, then the kit's helper.
    """
    if is_unanswered(done) or done is False:
        return ExerciseResult(name, False, NOT_DONE, hint, done=False)
    result = guarded(name, hint, probe)
    return ExerciseResult(name, result.passed, result.message, "" if result else hint)


_CONTROL = re.compile(
    r"\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-B]"
)


class _Screen:
    """Just enough of a terminal to replay cursor moves, erases and carriage returns.

    Like a terminal scrolled to its end: only a newline adds a line below the last.
    """

    def __init__(self) -> None:
        self.rows: list[list[str]] = [[]]
        self.row = 0
        self.col = 0

    def move(self, row: int) -> None:
        self.row = max(0, row)
        while len(self.rows) <= self.row:
            self.rows.append([])

    def control(self, params: str, code: str) -> None:
        first = params.split(";")[0]
        count = int(first) if first.isdigit() else 1
        if code == "A":
            self.move(self.row - count)
        elif code in "BE":  # down, but never below the last line: no scrolling
            self.row = min(self.row + count, len(self.rows) - 1)
        elif code == "C":
            self.col += count
        elif code == "D":
            self.col = max(0, self.col - count)
        elif code == "G":
            self.col = count - 1
        elif code == "K":
            line = self.rows[self.row]
            if params == "2":
                self.rows[self.row] = []
            elif params in ("", "0"):
                del line[self.col :]
            else:  # 1: from the line's start to the cursor
                line[: self.col + 1] = [" "] * min(len(line), self.col + 1)

    def write(self, text: str) -> None:
        for char in text:
            if char == "\n":
                self.move(self.row + 1)
                self.col = 0
            elif char == "\r":
                self.col = 0
            elif char >= " " or char == "\t":
                line = self.rows[self.row]
                line.extend(" " * (self.col - len(line)))
                line[self.col : self.col + 1] = [char]
                self.col += 1

    def text(self) -> str:
        lines = ["".join(row).rstrip() for row in self.rows]
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines)


def terminal_text(raw: str) -> str:
    """The lines a terminal showed last after ``raw`` was drawn on it.

    Progress displays (``docker service scale`` without ``--detach``, ``apt``,
    ``docker pull``) redraw their lines in place with carriage returns, cursor-up and
    erase-line sequences; printed as they came they are unreadable. This replays them
    on a small screen and returns its final lines, colours and other sequences removed.
    """
    screen = _Screen()
    position = 0
    for match in _CONTROL.finditer(raw):
        screen.write(raw[position : match.start()])
        if match.group(2):
            screen.control(match.group(1), match.group(2))
        position = match.end()
    screen.write(raw[position:])
    return screen.text()
