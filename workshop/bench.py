"""`python -m workshop.bench`: how long provisioning takes on this host.

Prints three figures, on a lab of its own (default ``wsbench`` on 192.168.66.0/24,
destroyed at the end unless ``--keep``):

- cold: bare nodes (just created, nothing installed) to ``require("demoapp")``;
- repeat: a second ``require("demoapp")``, which should find everything in place;
- ratio: ``install_docker`` on three nodes at once over the same on one node (the
  package cache is warm for both, so the ratio measures the fan-out, not the mirror).

Targets on a CI host: cold <= 180 s, repeat <= 10 s, ratio <= 1.5. The figures
are printed, not asserted: hosts are noisy.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

__all__ = ["main"]

TARGETS = {"cold": 180.0, "repeat": 10.0, "ratio": 1.5}
_PURGE_DOCKER = (
    "docker swarm leave --force >/dev/null 2>&1; "
    "env DEBIAN_FRONTEND=noninteractive apt-get -q -y purge docker.io containerd runc "
    ">/dev/null && rm -rf /var/lib/docker/* /etc/docker"
)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _timed(what: str, action: object) -> float:
    assert callable(action)
    started = time.monotonic()
    action()
    elapsed = time.monotonic() - started
    _say(f"[bench] {what}: {elapsed:.1f} s")
    return elapsed


def _verdict(name: str, value: float) -> str:
    return "ok" if value <= TARGETS[name] else f"over the target of {TARGETS[name]:g}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m workshop.bench", description=__doc__)
    parser.add_argument("--lab", default="wsbench", help="lab name (default: wsbench)")
    parser.add_argument("--subnet", default="192.168.66", help="lab subnet (three octets)")
    parser.add_argument("--keep", action="store_true", help="keep the lab afterwards")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the steps' progress")
    args = parser.parse_args(argv)
    if args.lab == "workshop":
        parser.error("the benchmark destroys its lab: give it one of its own (--lab)")
    os.environ["WORKSHOP_LAB"] = args.lab
    os.environ["WORKSHOP_SUBNET"] = args.subnet

    from workshop.facade import Lab
    from workshop.lab import find_project
    from workshop.steps.docker import install_docker

    origin = time.monotonic()

    def progress(line: str) -> None:
        if args.verbose:
            _say(f"{time.monotonic() - origin:7.1f}  {line}")

    lab = Lab.from_vagrant(find_project(), discover=False)
    _say(f"[bench] lab {args.lab}: removing any earlier one, then creating bare nodes")
    lab.destroy()
    try:
        lab.up()
        count = len(lab.nodes)
        origin = time.monotonic()
        cold = _timed("bare nodes -> demoapp", lambda: lab.require("demoapp", progress=progress))
        repeat = _timed("second require('demoapp')", lambda: lab.require("demoapp"))
        lab.run(_PURGE_DOCKER, sudo=True, timeout=300).raise_for_failures()
        one = _timed("install_docker on 1 node", lambda: install_docker(lab, on=["node-1"]))
        lab.run(_PURGE_DOCKER, on=["node-1"], sudo=True, timeout=300).raise_for_failures()
        three = _timed(f"install_docker on {count} nodes", lambda: install_docker(lab, on="all"))
    finally:
        if not args.keep:
            lab.destroy()
    ratio = three / one if one else float("inf")
    print(f"cold   (bare nodes -> demoapp): {cold:6.1f} s  [{_verdict('cold', cold)}]")
    print(f"repeat (require demoapp again): {repeat:6.1f} s  [{_verdict('repeat', repeat)}]")
    print(
        f"ratio  (install_docker {count} nodes / 1 node): {ratio:4.2f}"
        f"  ({three:.1f} s / {one:.1f} s)  [{_verdict('ratio', ratio)}]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
