"""Every lab's machines get entries of their own in Vagrant's global machine index.

Vagrant keeps one index of all machines on this host (`vagrant global-status`) and
locks a machine's entry while it updates it. A machine made for the first time
takes the entry of any machine with the same name, provider and Vagrantfile folder,
so two labs of one folder (the tests run three side by side) would share node-2's
entry: one lab's `vagrant up` then fails with "Failed to lock new machine: node-2"
while the other lab's Vagrant holds it. Vagrant reads a machine's entry id from
``index_uuid`` in the machine's data folder; a fresh id written there before the
machine is first made gives it an entry of its own, which Vagrant adds to the index
on the machine's next command.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path

__all__ = ["claim_index_entries"]


def claim_index_entries(dotfile_dir: Path, provider: str, names: Iterable[str]) -> None:
    """Give each machine not made yet an index id of its own (machines made keep theirs)."""
    for name in names:
        folder = dotfile_dir / "machines" / name / provider
        if (folder / "id").is_file() or (folder / "index_uuid").is_file():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index_uuid").write_text(uuid.uuid4().hex, encoding="utf-8")
