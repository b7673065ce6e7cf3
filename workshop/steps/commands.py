"""Commands as quoted argument lists, and shell lines built only from them.

A command is a list of arguments joined with :func:`shlex.join` (:func:`sh`); a
shell line adds only literal operators (``&&``, ``||``, redirections) between
such commands (:func:`shell_line`). Nothing is glued from unquoted strings.
"""

from __future__ import annotations

import shlex

__all__ = ["sh", "shell_line"]


def sh(*args: str | int) -> str:
    """One command, quoted: ``sh("docker", "info")`` -> ``docker info``."""
    return shlex.join(str(a) for a in args)


def shell_line(*parts: str) -> str:
    """Join already-quoted commands and shell operators with spaces.

    Args:
        parts: Quoted commands (from :func:`sh`) and operators such as ``&&``.

    Returns:
        One shell line.
    """
    return " ".join(parts)
