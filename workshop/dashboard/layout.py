"""Panels shown next to each other: a command's output beside the plot of the same data.

Learners trust a plot more when they see the shell's answer beside it. A
:class:`SideBySide` renders as one HTML row in Jupyter (text in monospace, figures
as PNG) and as plain text in a terminal. Text is masked like every other output.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure

from workshop.dashboard.plots import figure_png
from workshop.errors import UsageError
from workshop.secrets import mask_secrets

__all__ = ["SideBySide", "side_by_side"]

Panel = str | Figure


@dataclass(frozen=True)
class SideBySide:
    """Panels in one row, each under its title ("" for none: one title per panel)."""

    panels: tuple[Panel, ...]
    titles: tuple[str, ...]

    def _cell(self, panel: Panel) -> str:
        if isinstance(panel, Figure):
            data = base64.b64encode(figure_png(panel)).decode("ascii")
            return f"<img src='data:image/png;base64,{data}' style='max-width:100%'/>"
        text = html.escape(mask_secrets(panel.rstrip("\n")))
        return f"<pre style='margin:0;font-size:90%'>{text}</pre>"

    def _repr_html_(self) -> str:
        cells = []
        for title, panel in zip(self.titles, self.panels, strict=True):
            head = (
                f"<div style='font-family:monospace;color:#555;margin-bottom:4px'>"
                f"{html.escape(mask_secrets(title))}</div>"
                if title
                else ""
            )
            cells.append(
                "<div style='flex:1 1 0;min-width:240px;padding:0 8px'>"
                f"{head}{self._cell(panel)}</div>"
            )
        return (
            "<div class='workshop-side-by-side' "
            "style='display:flex;flex-wrap:wrap;align-items:flex-start;gap:8px'>"
            f"{''.join(cells)}</div>"
        )

    def __repr__(self) -> str:
        parts = []
        for index, (title, panel) in enumerate(zip(self.titles, self.panels, strict=True), 1):
            body = "(a figure: shown in Jupyter)" if isinstance(panel, Figure) else panel
            parts.append(f"--- {title or f'panel {index}'}\n{body.rstrip()}")
        return mask_secrets("\n".join(parts))


def side_by_side(*panels: Panel, titles: Sequence[str] = ()) -> SideBySide:
    """Show text and figures next to each other, left to right.

    Args:
        panels: Command output (text) or matplotlib figures.
        titles: A title above each panel, in order (fewer titles than panels is fine).

    Raises:
        UsageError: No panel, a panel that is neither text nor a figure, or more
            titles than panels.

    Example:
        >>> dashboard.side_by_side(counted, plot, titles=("uniq -c", "dashboard"))  # doctest: +SKIP
    """
    if not panels:
        raise UsageError("side_by_side needs at least one panel: some text or a figure")
    for panel in panels:
        if not isinstance(panel, str | Figure):
            raise UsageError(
                f"side_by_side shows text or matplotlib figures, not {type(panel).__name__}: "
                "pass a command's stdout (e.g. results['node-1'].stdout) or a plot"
            )
    if len(titles) > len(panels):
        raise UsageError(f"{len(titles)} titles for {len(panels)} panels: give one per panel")
    padded = (*titles, *[""] * (len(panels) - len(titles)))
    return SideBySide(tuple(panels), padded)
