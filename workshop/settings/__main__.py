"""``python -m workshop.settings --json``: the lab's settings as resolved on this host.

The Vagrantfile runs this and builds the lab from its answer, so the settings are
read, checked and resolved (``auto`` provider and node flags) in one place. On
invalid settings it prints one line to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workshop.errors import UsageError, WorkshopError
from workshop.settings import SETTINGS_FILE, LabSettings

__all__ = ["main"]

#: Exit status for settings that cannot make a lab.
EXIT_INVALID = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workshop.settings",
        description="Print the lab's settings: defaults, then workshop.yml, then WORKSHOP_* "
        "variables, with 'auto' resolved for this host.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--project",
        type=Path,
        default=Path.cwd(),
        metavar="DIR",
        help=f"the folder holding {SETTINGS_FILE} and the Vagrantfile (default: this one)",
    )
    return parser


def _text(resolved: dict[str, Any]) -> str:
    """The resolved settings for a person: one line per setting, then one per node."""
    lines = [f"{key}: {value}" for key, value in resolved.items() if key != "machines"]
    lines += [f"{m['name']}: {m['role']} {m['address']}" for m in resolved["machines"]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the resolved settings; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if not args.project.is_dir():
            raise UsageError(f"no folder {args.project} (--project)")
        resolved = LabSettings.load(args.project).resolved()
    except WorkshopError as exc:
        lines = (line.strip() for line in str(exc).splitlines())
        print("; ".join(line for line in lines if line), file=sys.stderr)
        return EXIT_INVALID
    print(json.dumps(resolved) if args.json else _text(resolved))
    return 0


if __name__ == "__main__":
    sys.exit(main())
