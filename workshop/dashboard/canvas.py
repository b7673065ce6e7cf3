"""A figure shown in a widget, redrawn in place when what it shows has changed.

A live widget refreshes every few seconds, and most refreshes find the swarm as it
was. :class:`FigureImage` keeps one matplotlib figure and one ``ipywidgets.Image``
for the life of the widget: :meth:`FigureImage.show` compares the data to draw
with the data drawn last, and only when they differ clears the same figure, draws
it again and puts the new PNG into the same image widget. Nothing new is displayed.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
from matplotlib.figure import Figure

from workshop.dashboard.plots import figure_png

__all__ = ["Draw", "FigureImage"]

#: Draws the picture into the figure given (``None``: a new one) and returns it.
Draw = Callable[[Figure | None], Figure]

_NOTHING = object()


class FigureImage:
    """One figure behind one image widget, redrawn only when its data change.

    Args:
        css_class: CSS class of the image widget (tests and the browser find it by it).
        width: Largest width the image is shown at.

    Attributes:
        image: The image widget (its ``value`` is the PNG).
        figure: The figure, once drawn.
        draws: How many times the figure was drawn.
    """

    def __init__(self, css_class: str, width: str = "720px") -> None:
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width=width))
        self.image.add_class(css_class)
        self.figure: Figure | None = None
        self.draws = 0
        self._shown: object = _NOTHING
        self._draw: Draw | None = None

    def show(self, picture: object, draw: Draw) -> bool:
        """Draw ``picture`` with ``draw`` unless it is what the image shows already.

        Args:
            picture: The data drawn (compared with ``==`` to the last one).
            draw: Draws it into the figure given and returns the figure.

        Returns:
            Whether the figure was drawn.
        """
        if self.figure is not None and picture == self._shown:
            return False
        self._shown, self._draw = picture, draw
        self._render(draw)
        return True

    def redraw(self) -> bool:
        """Draw the last picture again, even if unchanged (``False`` if none yet)."""
        if self._draw is None:
            return False
        self._render(self._draw)
        return True

    def _render(self, draw: Draw) -> None:
        self.figure = draw(self.figure)
        self.image.value = figure_png(self.figure, fast=True)
        self.draws += 1
