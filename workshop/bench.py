"""`python -m workshop.bench`: how long provisioning takes on this host, by steps and by snapshot.

Prints, on a lab of its own (default ``wsbench`` on 192.168.66.0/24, destroyed at
the end unless ``--keep``), built once from bare nodes (just created, nothing
installed):

- for each state a chapter starts from, and ``demoapp``: the time from bare nodes
  by the steps (``require`` of each state in turn, times added up), the time to
  the same state by restoring its snapshot (``Lab.reset``: nodes made again, then
  until the state holds), their ratio, and the snapshot's size;
- repeat: a second ``require("demoapp")``, which should find everything in place;
- with ``--fanout``, ratio: ``install_docker`` on three nodes at once over the same
  on one node (the package cache is warm for both: it measures the fan-out).

Targets on a CI host: demoapp by steps <= 180 s, any restore <= 20 s, demoapp
restored >= 7x faster than built, repeat <= 10 s, fan-out ratio <= 1.5. The figures
are printed, not asserted: hosts are noisy. The snapshots it saves are removed at
the end, unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workshop.facade import Lab
    from workshop.lab import VagrantSource

__all__ = ["main"]

TARGETS = {"cold": 180.0, "repeat": 10.0, "ratio": 1.5, "restore": 20.0, "speedup": 7.0}
#: The states timed: those chapters start from, and the last one.
BENCH_STATES = ("docker", "firewall", "gluster", "registry", "demoapp")
_PURGE_DOCKER = (
    "docker swarm leave --force >/dev/null 2>&1; "
    "env DEBIAN_FRONTEND=noninteractive apt-get -q -y purge docker.io containerd runc "
    ">/dev/null && rm -rf /var/lib/docker/* /etc/docker"
)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _timed(what: str, action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    elapsed = time.monotonic() - started
    _say(f"[bench] {what}: {elapsed:.1f} s")
    return elapsed


def _source(lab: Lab) -> VagrantSource:
    from workshop.lab import VagrantSource

    assert isinstance(lab.source, VagrantSource)  # a lab this benchmark made
    return lab.source


def _verdict(name: str, value: float) -> str:
    good = value >= TARGETS[name] if name == "speedup" else value <= TARGETS[name]
    missed = "below" if name == "speedup" else "over"
    return "ok" if good else f"{missed} the target of {TARGETS[name]:g}"


def _build_and_save(lab: Lab, progress: Callable[[str], None]) -> dict[str, float]:
    """From bare nodes, each state in turn by its steps; a snapshot of each (not timed)."""
    from workshop.lab.snapshot_use import state_snapshot_name
    from workshop.lab.snapshots import save
    from workshop.steps.states import wait_for_state

    os.environ["WORKSHOP_SNAPSHOTS"] = "0"  # require saves nothing by itself here
    total, by_steps = 0.0, {}
    for state in BENCH_STATES:
        total += _timed(
            f"require({state!r}) by steps", partial(lab.require, state, progress=progress)
        )
        by_steps[state] = total
        lab.run("apt-get clean", sudo=True, timeout=120)
        lab.close()
        name = state_snapshot_name(state)
        _timed(f"save {name}", partial(save, _source(lab), name, state=state))
        wait_for_state(lab.refresh(), state)
    return by_steps


def _restore_each(lab: Lab) -> tuple[dict[str, float], dict[str, int]]:
    """Each state by restoring its snapshot (``Lab.reset``), and each snapshot's size."""
    from workshop.lab.snapshot_use import state_snapshot_name
    from workshop.lab.snapshots import snapshots

    os.environ["WORKSHOP_SNAPSHOTS"] = "1"
    by_restore = {
        s: _timed(f"reset to {s} by restore", partial(lab.reset, s)) for s in BENCH_STATES
    }
    sizes = {snap.name: snap.size for snap in snapshots(_source(lab))}
    return by_restore, {s: sizes.get(state_snapshot_name(s), 0) for s in BENCH_STATES}


def _fanout(lab: Lab) -> tuple[float, float]:
    """``install_docker`` on one node, then on every node (Docker purged before each)."""
    from workshop.steps.docker import install_docker

    lab.run(_PURGE_DOCKER, sudo=True, timeout=300).raise_for_failures()
    one = _timed("install_docker on 1 node", lambda: install_docker(lab, on=["node-1"]))
    lab.run(_PURGE_DOCKER, on=["node-1"], sudo=True, timeout=300).raise_for_failures()
    every = _timed(
        f"install_docker on {len(lab.nodes)} nodes", lambda: install_docker(lab, on="all")
    )
    return one, every


def _print_states(
    by_steps: dict[str, float], by_restore: dict[str, float], sizes: dict[str, int]
) -> None:
    print(f"{'state':9} {'by steps':>9} {'restore':>8} {'ratio':>6} {'size':>8}")
    for state in BENCH_STATES:
        steps, restore = by_steps[state], by_restore[state]
        ratio = steps / restore if restore else float("inf")
        print(
            f"{state:9} {steps:8.1f}s {restore:7.1f}s {ratio:5.1f}x {sizes[state] / 2**30:6.2f}GB"
            f"  [restore {_verdict('restore', restore)}]"
        )
    speedup = by_steps["demoapp"] / by_restore["demoapp"] if by_restore["demoapp"] else 0.0
    print(f"demoapp restored {speedup:.1f}x faster than built  [{_verdict('speedup', speedup)}]")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m workshop.bench", description=__doc__)
    parser.add_argument("--lab", default="wsbench", help="lab name (default: wsbench)")
    parser.add_argument("--subnet", default="192.168.66", help="lab subnet (three octets)")
    parser.add_argument("--keep", action="store_true", help="keep the lab and its snapshots")
    parser.add_argument("--fanout", action="store_true", help="also time install_docker's fan-out")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the steps' progress")
    args = parser.parse_args(argv)
    if args.lab == "workshop":
        parser.error("the benchmark destroys its lab: give it one of its own (--lab)")
    os.environ["WORKSHOP_LAB"] = args.lab
    os.environ["WORKSHOP_SUBNET"] = args.subnet

    from workshop.facade import Lab
    from workshop.lab import find_project
    from workshop.lab.snapshots import remove_snapshots

    origin = time.monotonic()

    def progress(line: str) -> None:
        if args.verbose:
            _say(f"{time.monotonic() - origin:7.1f}  {line}")

    lab = Lab.from_vagrant(find_project(), discover=False)
    _say(f"[bench] lab {args.lab}: removing any earlier one, then creating bare nodes")
    lab.destroy()
    try:
        lab.up()
        origin = time.monotonic()
        by_steps = _build_and_save(lab, progress)
        repeat = _timed("second require('demoapp')", lambda: lab.require("demoapp"))
        by_restore, sizes = _restore_each(lab)
        one, every = _fanout(lab) if args.fanout else (0.0, 0.0)
    finally:
        if not args.keep:
            lab.destroy()
            remove_snapshots(_source(lab))
    _print_states(by_steps, by_restore, sizes)
    print(f"repeat (require demoapp again): {repeat:6.1f} s  [{_verdict('repeat', repeat)}]")
    if args.fanout:
        ratio = every / one if one else float("inf")
        print(
            f"ratio  (install_docker {len(lab.nodes) or 3} nodes / 1 node): {ratio:4.2f}"
            f"  ({every:.1f} s / {one:.1f} s)  [{_verdict('ratio', ratio)}]"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
