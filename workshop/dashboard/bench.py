"""`python -m workshop.dashboard.bench`: a dashboard refresh against one `docker service ps`.

On the current lab (``Lab.connect()``: set WORKSHOP_LAB / WORKSHOP_SUBNET to pick
one), with a service that already runs (scale it first, e.g. to 30 replicas):
times ``SwarmDashboard(lab, SERVICE).refresh()`` (read the swarm, redraw the replica
map if it changed) and one plain ``docker service ps SERVICE`` run through the same
lab connection on the manager the dashboard reads from, alternately, and prints
both medians and their ratio. Figures are printed, not asserted: hosts are noisy.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence

__all__ = ["main", "timed"]


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action()`` took."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _median(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.3f} s"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workshop.dashboard.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--service", default="helloworld", help="service shown (helloworld)")
    parser.add_argument("--runs", type=int, default=15, help="timings of each (15)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    args = _parser().parse_args(argv)
    if args.runs < 1:
        print("bench: --runs must be at least 1", file=sys.stderr)
        return 2

    from workshop.dashboard.widgets import SwarmDashboard
    from workshop.errors import CommandFailed, WorkshopError
    from workshop.facade import Lab

    try:
        lab = Lab.connect()
        dashboard = SwarmDashboard(lab, args.service, auto_refresh=False)
        first = dashboard.refresh()  # opens the SSH connection, finds a manager
        manager = dashboard.reader.last_manager or lab.managers[0].name
        plain = shlex.join(["docker", "service", "ps", args.service])

        def service_ps() -> None:
            result = lab.run(plain, on=manager, sudo=True)[0]
            if result.rc != 0 or result.error:
                raise CommandFailed(plain, manager, result.rc, result.stdout, result.stderr)

        refreshes: list[float] = []
        reads: list[float] = []
        plains: list[float] = []
        for _ in range(args.runs):  # alternate, so both see the same load
            plains.append(timed(service_ps))
            refreshes.append(timed(dashboard.refresh))
            assert dashboard.state is not None
            reads.append(dashboard.state.took)
        redraw = getattr(dashboard, "redraw", None)  # absent before the snapshot read
        redraws = [timed(redraw) for _ in range(max(3, args.runs // 3))] if redraw else []
    except WorkshopError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    found = first.find(args.service)
    tasks = first.distributions[args.service].total if found else 0
    print(
        f"lab {lab.source.kind}, {len(first.nodes)} nodes, service {args.service}: "
        f"{tasks} running tasks; manager {manager}; median of {args.runs}"
    )
    print(f"plain `{plain}`: {_median(plains)}")
    print(
        f"SwarmDashboard.refresh(): {_median(refreshes)} "
        f"(read {_median(reads)}, min {min(refreshes):.3f} s, max {max(refreshes):.3f} s)"
    )
    if redraws:
        print(f"redraw of the figure when the picture changes: {_median(redraws)}")
    ratio = statistics.median(refreshes) / statistics.median(plains)
    print(f"ratio refresh / plain service ps: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
