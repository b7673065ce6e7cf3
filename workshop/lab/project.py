"""Finding the workshop folder: the Vagrantfile, the kit's state and its settings file."""

from __future__ import annotations

import os
from pathlib import Path

from workshop.errors import LabNotFound

__all__ = ["find_project"]


def find_project(start: Path | None = None) -> Path:
    """The workshop folder of a lab made by Vagrant.

    ``WORKSHOP_HOME`` when set; else the nearest folder at or above ``start`` (the
    current folder) that holds the Vagrantfile and the ``workshop`` package; else
    the checkout this package runs from, if it has the Vagrantfile.

    Raises:
        LabNotFound: None of these is a workshop folder.
    """
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
