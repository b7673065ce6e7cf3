"""Results of running one command on several nodes.

:class:`RunResult` is what one node answered; :class:`Results` is the answers of a
fan-out, in node order, with a text table for terminals and an HTML table for
notebooks. Fields keep the raw output (a step may need a join token from stdout),
while every ``str``, ``repr`` and HTML form masks secrets.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from workshop.errors import CommandFailed, NodeUnreachable, UnknownNode, UsageError
from workshop.secrets import mask_secrets

__all__ = ["Results", "RunResult", "node_sort_key"]

#: Lines of output shown per node in ``str(results)`` of several nodes (one: all).
TEXT_LINES = 3
#: Lines of output shown per node in the HTML table of several nodes before the rest
#: folds behind "more lines" (one node: all).
HTML_LINES = 10
#: Longest line shown in ``str(results)``.
TEXT_WIDTH = 100
#: How the SSH layer's ``error`` begins when a connection dropped under a command
#: (the node lost power, rebooted, or stopped answering).
CONNECTION_LOST = "connection lost"


def node_sort_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts ``node-2`` before ``node-10``.

    Args:
        name: A node name.

    Returns:
        A key comparing digit runs as numbers.
    """
    parts = re.split(r"(\d+)", name)
    return tuple((1, int(part)) if i % 2 else (0, part) for i, part in enumerate(parts))


def _cut(line: str, width: int | None) -> str:
    return line if width is None or len(line) <= width else line[: width - 1] + "…"


def _first_lines(text: str, count: int | None, width: int | None = None) -> list[str]:
    """The first ``count`` lines (all when None), masked, cut at ``width``."""
    lines = mask_secrets(text).strip("\n").splitlines()
    shown = [_cut(line, width) for line in (lines if count is None else lines[:count])]
    if count is not None and len(lines) > count:
        shown.append(f"[… {len(lines) - count} more lines]")
    return shown


def _last_lines(text: str, count: int | None, width: int | None = None) -> list[str]:
    """The last ``count`` lines (all when None; a failing command says why at the end)."""
    lines = mask_secrets(text).strip("\n").splitlines()
    kept = lines if count is None else lines[-count:] if count > 0 else []
    shown = [_cut(line, width) for line in kept]
    if len(lines) > len(shown):
        shown.insert(0, f"[… {len(lines) - len(shown)} earlier lines]")
    return shown


@dataclass(frozen=True, repr=False)
class RunResult:
    """What one node answered to one command.

    Attributes:
        node: Node name.
        command: The command line that ran.
        rc: Exit code; ``None`` if the command never finished (or never started).
        stdout: Standard output, raw (not masked).
        stderr: Standard error, raw (not masked).
        duration: Seconds from start to finish.
        started: Start time (``time.time()``).
        finished: End time (``time.time()``).
        error: Why there is no proper result (connection refused, timeout...).
        unreachable: The node could not be reached at all (the command never ran).
        address: The node's lab address, for messages about it.
    """

    node: str
    command: str
    rc: int | None
    stdout: str
    stderr: str
    duration: float
    started: float
    finished: float
    error: str | None = None
    unreachable: bool = False
    address: str | None = None

    @property
    def succeeded(self) -> bool:
        """True if the command exited 0 and nothing went wrong around it."""
        return self.rc == 0 and self.error is None

    @property
    def failed(self) -> bool:
        """The opposite of :attr:`succeeded`."""
        return not self.succeeded

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}"
            for name, value in (
                ("node", self.node),
                ("command", mask_secrets(self.command)),
                ("rc", self.rc),
                ("stdout", mask_secrets(self.stdout)),
                ("stderr", mask_secrets(self.stderr)),
                ("duration", round(self.duration, 3)),
                ("error", mask_secrets(self.error) if self.error else None),
            )
        )
        return f"RunResult({fields})"

    @property
    def said(self) -> str:
        """What the command said: stderr, else stdout (apt prints some errors there)."""
        return self.stderr if self.stderr.strip() else self.stdout

    @property
    def connection_lost(self) -> bool:
        """The connection dropped while the command ran (no exit code came back)."""
        return self.rc is None and (self.error or "").startswith(CONNECTION_LOST)

    def summary(self, lines: int | None = TEXT_LINES, width: int | None = TEXT_WIDTH) -> list[str]:
        """Return the lines that tell what happened (masked); all when ``lines`` is None.

        A success: the first lines of stdout. A failure: the error first, if any,
        then the last lines of stderr (else of stdout), where commands say why.
        """
        if self.succeeded:
            return _first_lines(self.stdout, lines, width)
        if self.error:
            error = [_cut(f"error: {self.error}".splitlines()[0], width)]
            rest = None if lines is None else lines - 1
            return error + _last_lines(self.said, rest, width)
        return _last_lines(self.said, lines, width)

    def raise_for_failure(self, failed_nodes: Sequence[str] = ()) -> None:
        """Raise if the command did not succeed.

        Args:
            failed_nodes: Every node that failed in the same fan-out, for the message.

        Raises:
            NodeUnreachable: The node could not be reached; the reason is :attr:`error`.
            CommandFailed: The command exited non-zero, did not finish (timed out, or
                the connection was lost), or an error was recorded. The message starts
                with :attr:`error`, if any, and keeps the tails of stderr and stdout.
        """
        if self.succeeded:
            return
        if self.unreachable:
            raise NodeUnreachable(
                self.node, self.address, self.error or "no answer", failed_nodes=failed_nodes
            )
        failure = CommandFailed(
            self.command,
            self.node,
            self.rc,
            self.stdout,
            self.stderr,
            failed_nodes=failed_nodes,
        )
        if self.error:
            # What went wrong around the command comes first, its output after.
            first = f"{self.node}: {self.error.rstrip('.')}."
            if self.connection_lost:
                first += f" {NodeUnreachable.advice}"
            failure.hint = self.error
            failure.message = mask_secrets(f"{first}\n{failure.message}")
            failure.args = (failure.message,)
        raise failure


class Results(Sequence[RunResult]):
    """Immutable results of a fan-out, ordered by node name.

    Index by position (``results[0]``) or by node name (``results["node-2"]``).
    """

    __slots__ = ("_items",)

    def __init__(self, results: Iterable[RunResult] = ()) -> None:
        items = sorted(results, key=lambda r: node_sort_key(r.node))
        names = [r.node for r in items]
        duplicates = sorted({n for n in names if names.count(n) > 1}, key=node_sort_key)
        if duplicates:
            raise UsageError(f"one result per node expected; repeated: {', '.join(duplicates)}")
        self._items: tuple[RunResult, ...] = tuple(items)

    @overload
    def __getitem__(self, key: int | str) -> RunResult: ...

    @overload
    def __getitem__(self, key: slice) -> Results: ...

    def __getitem__(self, key: int | str | slice) -> RunResult | Results:
        if isinstance(key, str):
            for result in self._items:
                if result.node == key:
                    return result
            raise UnknownNode(key, self.nodes)
        if isinstance(key, slice):
            return Results(self._items[key])
        return self._items[key]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[RunResult]:
        return iter(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Results):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    @property
    def nodes(self) -> list[str]:
        """Node names, in order."""
        return [r.node for r in self._items]

    @property
    def succeeded(self) -> list[RunResult]:
        """Results that succeeded."""
        return [r for r in self._items if r.succeeded]

    @property
    def failed(self) -> list[RunResult]:
        """Results that failed (non-zero exit code, or an error)."""
        return [r for r in self._items if r.failed]

    @property
    def stdout(self) -> dict[str, str]:
        """Node name -> stripped stdout (raw, not masked)."""
        return {r.node: r.stdout.strip() for r in self._items}

    def raise_for_failures(self) -> Results:
        """Raise for the first failed node (in node order), naming all failed nodes.

        Returns:
            These results, when all succeeded (so calls can be chained).

        Raises:
            NodeUnreachable: The first failed node gave no exit code.
            CommandFailed: The first failed node's command failed.
        """
        failed = self.failed
        if failed:
            failed[0].raise_for_failure(failed_nodes=[r.node for r in failed])
        return self

    def _uniform_command(self) -> str | None:
        commands = {r.command for r in self._items}
        return commands.pop() if len(commands) == 1 else None

    def __repr__(self) -> str:
        return f"Results({list(self._items)!r})"

    def __str__(self) -> str:
        return self.text(full=len(self._items) == 1)

    def text(self, *, full: bool = False) -> str:
        """The text table; ``full`` shows every line of every output, uncut.

        Without it, each node shows its first lines and how many more there are.
        """
        if not self._items:
            return "(no results)"
        command = self._uniform_command()
        header = ["node", "rc", "time"] + ([] if command is not None else ["command"])
        rows = [
            [r.node, "-" if r.rc is None else str(r.rc), f"{r.duration:.2f}s"]
            + ([] if command is not None else [mask_secrets(r.command)])
            for r in self._items
        ]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

        def line(cells: list[str], output: str) -> str:
            padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=True)]
            return "  ".join([*padded, output]).rstrip()

        out = [f"$ {mask_secrets(command)}"] if command is not None else []
        out.append(line(header, "output"))
        blank = [""] * len(header)
        for result, row in zip(self._items, rows, strict=True):
            summary = (result.summary(None, None) if full else result.summary()) or [""]
            out.append(line(row, summary[0]))
            out.extend(line(blank, more) for more in summary[1:])
        failed = self.failed
        out.append(
            f"{len(self) - len(failed)} of {len(self)} succeeded"
            + (f"; failed: {', '.join(r.node for r in failed)}" if failed else "")
        )
        return "\n".join(out)

    def _repr_html_(self) -> str:
        esc = html.escape
        command = self._uniform_command()
        cells = "padding:2px 8px;text-align:left;vertical-align:top"
        parts = ['<table class="workshop-results" style="border-collapse:collapse">']
        if command is not None:
            parts.append(
                f'<caption style="text-align:left"><code>$ {esc(mask_secrets(command))}'
                "</code></caption>"
            )
        head = ["node", "rc", "time", *([] if command is not None else ["command"]), "output"]
        parts.append(
            "<thead><tr>"
            + "".join(f'<th style="{cells}">{h}</th>' for h in head)
            + "</tr></thead><tbody>"
        )
        fold = len(self._items) > 1
        for r in self._items:
            style = "background:#fde2e2;color:#7a0000" if r.failed else ""
            row = [
                esc(r.node),
                "-" if r.rc is None else str(r.rc),
                f"{r.duration:.2f}s",
                *([] if command is not None else [f"<code>{esc(mask_secrets(r.command))}</code>"]),
                _output_html(r.summary(None, None), HTML_LINES if fold else None),
            ]
            parts.append(
                f'<tr class="{"failed" if r.failed else "succeeded"}" style="{style}">'
                + "".join(f'<td style="{cells}">{cell}</td>' for cell in row)
                + "</tr>"
            )
        failed = [r.node for r in self.failed]
        status = f"{len(self) - len(failed)} of {len(self)} succeeded"
        if failed:
            status += f"; failed: {', '.join(failed)}"
        parts.append(f"</tbody></table><p>{esc(status)}</p>")
        return "".join(parts)


def _output_html(lines: list[str], shown: int | None) -> str:
    """An output as HTML: the first ``shown`` lines, the rest folded in ``<details>``."""
    pre = '<pre style="margin:0;white-space:pre-wrap">{}</pre>'
    head, rest = (lines, []) if shown is None else (lines[:shown], lines[shown:])
    out = pre.format(html.escape("\n".join(head)))
    if rest:
        out += (
            f"<details><summary>{len(rest)} more lines</summary>"
            + pre.format(html.escape("\n".join(rest)))
            + "</details>"
        )
    return out
