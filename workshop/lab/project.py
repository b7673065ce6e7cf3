"""Finding the workshop folder a lab belongs to."""

from __future__ import annotations

import os
from pathlib import Path

from workshop.errors import LabNotFound

__all__ = ["find_project"]


def find_project(start: Path | None = None) -> Path:
    """The workshop folder: `WORKSHOP_HOME`, else the nearest parent with the Vagrantfile."""
    home = os.environ.get("WORKSHOP_HOME")
    if home:
        return Path(home).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Vagrantfile").is_file() and (folder / "workshop").is_dir():
            return folder
    package_root = Path(__file__).resolve().parents[2]
    if (package_root / "Vagrantfile").is_file():
        return package_root
    raise LabNotFound(
        f"no workshop folder (with a Vagrantfile) at or above {here}; "
        "run from the workshop's folder or set WORKSHOP_HOME."
    )
