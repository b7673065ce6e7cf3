"""`workshop snapshot save|restore|ls|rm`: lab states saved on this host, restored in seconds.

The engine work is :mod:`workshop.lab.snapshots`; this module adds what needs the
nodes: which lab state holds before a save (kept with the snapshot), and after a
save or a restore, waiting until that state holds again (SSH answers, the swarm
has its leader and every node Ready, the Gluster volume is mounted...).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from workshop.errors import NotSupported, UsageError, WorkshopError
from workshop.facade import Lab
from workshop.lab import VagrantSource, find_project
from workshop.lab.snapshot_key import key_differences
from workshop.lab.snapshot_store import Snapshot, check_name
from workshop.lab.snapshot_use import after_down
from workshop.lab.snapshots import (
    current_key,
    remove_snapshots,
    restore,
    save,
    snapshots,
)
from workshop.steps.states import lab_state, wait_for_state

__all__ = ["add_snapshot_parser", "chapter_state", "down_snapshots"]

#: A chapter's first code cell brings the lab to the state it starts from.
_REQUIRE = re.compile(r"""lab\.require\(\s*["']([a-z]+)["']""")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _source() -> VagrantSource:
    """This folder's Vagrant lab (snapshots are of node containers this folder makes).

    Raises:
        NotSupported: ``WORKSHOP_INVENTORY`` names real hosts.
    """
    if os.environ.get("WORKSHOP_INVENTORY"):
        raise NotSupported(
            "WORKSHOP_INVENTORY is set: the lab is real hosts, and `workshop snapshot` "
            "saves the node containers this folder makes (unset it to use them)"
        )
    source = Lab.from_vagrant(find_project(), discover=False).source
    assert isinstance(source, VagrantSource)
    return source


def _cmd_save(args: argparse.Namespace) -> int:
    check_name(args.name)  # before anything is contacted
    source = _source()
    lab = Lab(source)
    state = lab_state(lab) if lab.nodes else ""
    started = time.monotonic()
    snap = save(source, args.name, _say, state=state)
    saved = time.monotonic() - started
    lab.close()
    if state:
        wait_for_state(Lab(source), state, _say)
    print(
        f"Saved snapshot {snap.name!r} of lab {snap.lab!r} (state {state or 'unknown'}, "
        f"{_size(snap.size)}) in {saved:.1f} s; the lab is back after "
        f"{time.monotonic() - started:.1f} s."
    )
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    source = _source()
    started = time.monotonic()
    snap = restore(source, args.name, _say)
    engine = time.monotonic() - started
    if snap.state:
        wait_for_state(Lab(source), snap.state, _say)
    print(
        f"Restored snapshot {snap.name!r} of lab {snap.lab!r}: nodes made again in "
        f"{engine:.1f} s, state {snap.state or 'unknown'} holds after "
        f"{time.monotonic() - started:.1f} s."
    )
    return 0


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return ""  # not reached


def _usable(snap: Snapshot, source: VagrantSource) -> str:
    if snap.lab != source.settings.name:
        return "other lab"
    if not snap.complete:
        return "incomplete"
    return "no: other key" if key_differences(snap.key, current_key(source)) else "yes"


def snapshot_rows(found: Sequence[Snapshot], source: VagrantSource) -> list[list[str]]:
    """The rows of `workshop snapshot ls`: a header, then one per snapshot."""
    rows = [["name", "lab", "state", "key", "size", "saved (UTC)", "usable here"]]
    for snap in found:
        key = snap.key.value if snap.key else "-"
        when = snap.saved.replace("T", " ").removesuffix("+00:00")
        row = [snap.name, snap.lab, snap.state or "-", key, _size(snap.size), when]
        rows.append([*row, _usable(snap, source)])
    return rows


def _cmd_ls(args: argparse.Namespace) -> int:
    source = _source()
    found = snapshots(source, every_lab=True)
    if not found:
        print("No lab snapshots on this host (`workshop snapshot save NAME` makes one).")
        return 0
    rows = snapshot_rows(found, source)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    total = sum(s.size for s in found)
    print(f"{len(found)} snapshots, {_size(total)} on disk.")
    return 0


def _cmd_rm(args: argparse.Namespace) -> int:
    if not args.names and not args.all:
        raise UsageError("name the snapshots to remove, or give --all (every one of this lab)")
    source = _source()
    removed = remove_snapshots(source, [] if args.all else args.names, _say)
    names = ", ".join(s.name for s in removed) or "none"
    print(f"Removed snapshots of lab {source.settings.name!r}: {names}.")
    return 0


def down_snapshots(source: object, *, remove: bool) -> str:
    """After `workshop down`: the lab's snapshots removed (``remove``) or kept; what to print."""
    if not isinstance(source, VagrantSource):
        return ""
    try:
        found = after_down(source, remove=remove, progress=_say)
    except WorkshopError:
        if remove:
            raise
        return ""  # the lab is down; tidying the snapshots' images can wait for the next save
    if not found:
        return ""
    names = ", ".join(s.name for s in found)
    if remove:
        return f"Its snapshots are removed too: {names}."
    return (
        f"Its snapshots stay ({names}, {_size(sum(s.size for s in found))}): `require` and "
        "`workshop reset` restore them after the next `up`; `workshop down --snapshots` or "
        "`workshop snapshot rm --all` removes them."
    )


def chapter_state(notebooks: Path, chapter: str) -> tuple[str, str]:
    """The notebook of ``chapter`` (``07``, ``7`` or ``07-deploy-a-stack``) and its state.

    The state is the one the chapter's first ``lab.require("...")`` names.

    Raises:
        UsageError: No such chapter, or one that starts from no lab state.
    """
    wanted = chapter.strip().removesuffix(".ipynb")
    if wanted.isdigit():
        wanted = f"{int(wanted):02d}"
    found = sorted(notebooks.glob("[0-9][0-9]-*.ipynb"))
    chosen = [p for p in found if p.stem == wanted or p.stem.split("-", 1)[0] == wanted]
    if len(chosen) != 1:
        names = ", ".join(p.stem for p in found) or f"none in {notebooks}"
        raise UsageError(f"no chapter {chapter!r}: the chapters are {names}")
    cells = json.loads(chosen[0].read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") == "code":
            match = _REQUIRE.search("".join(cell.get("source", "")))
            if match:
                return chosen[0].stem, match.group(1)
    raise UsageError(f"chapter {chosen[0].stem} starts from no lab state: nothing to reset")


def _cmd_reset(args: argparse.Namespace) -> int:
    project = find_project()
    chapter, state = chapter_state(project / "notebooks", args.to)
    lab = Lab.connect()
    started = time.monotonic()
    report = lab.reset(state, progress=_say)
    restored = any(r.step == "restore_snapshot" for r in report.steps)
    how = "restored from its snapshot" if restored else "by its steps"
    print(report)
    print(
        f"The lab is where chapter {chapter} starts (state {state}), {how}, "
        f"in {time.monotonic() - started:.1f} s."
    )
    return 0


def add_snapshot_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `workshop snapshot ...` to the command's subparsers."""
    snapshot = sub.add_parser(
        "snapshot", help="save the lab's state and restore it in seconds (node containers)"
    )
    actions = snapshot.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, func, text in (
        ("save", _cmd_save, "stop the nodes, save their file systems and volumes, start them"),
        ("restore", _cmd_restore, "make every node again from a snapshot of this lab"),
    ):
        parser = actions.add_parser(action, help=text)
        parser.add_argument("name", metavar="NAME", help="the snapshot's name, e.g. gluster")
        parser.set_defaults(func=func)
    actions.add_parser("ls", help="the snapshots on this host, their size and key").set_defaults(
        func=_cmd_ls
    )
    rm = actions.add_parser("rm", help="remove snapshots of this lab")
    rm.add_argument("names", nargs="*", metavar="NAME", help="the snapshots to remove")
    rm.add_argument("--all", action="store_true", help="every snapshot of this lab")
    rm.set_defaults(func=_cmd_rm)
    reset = sub.add_parser(
        "reset", help="bring the lab to where a chapter starts (its snapshot, else its steps)"
    )
    reset.add_argument(
        "--to", required=True, metavar="CHAPTER", help="the chapter: 07 or 07-deploy-a-stack"
    )
    reset.set_defaults(func=_cmd_reset)
