"""`python -m workshop.dashboard.bench`: how long a dashboard refresh takes.

On the current lab (``Lab.connect()``: set WORKSHOP_LAB / WORKSHOP_SUBNET to pick
one), with a service that already runs (default ``helloworld``): times
``SwarmDashboard.refresh()`` (read the swarm + draw the replica map) at the
service's current scale, then scaled to 30 replicas, and prints the medians and
their ratio. The service is scaled back afterwards. Figures are printed, not
asserted: hosts are noisy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence

__all__ = ["main", "time_refresh"]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def time_refresh(dashboard: object, runs: int) -> tuple[list[float], list[float]]:
    """Refresh ``runs`` times; return total seconds and read seconds of each run."""
    from workshop.dashboard.widgets import SwarmDashboard

    assert isinstance(dashboard, SwarmDashboard)
    totals: list[float] = []
    reads: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        state = dashboard.refresh()
        totals.append(time.perf_counter() - started)
        reads.append(state.took)
    return totals, reads


def _line(label: str, totals: list[float], reads: list[float]) -> str:
    total, read = statistics.median(totals), statistics.median(reads)
    return (
        f"{label}: refresh median {total:.2f} s (read {read:.2f} s + draw {total - read:.2f} s;"
        f" min {min(totals):.2f}, max {max(totals):.2f}, {len(totals)} runs)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        prog="python -m workshop.dashboard.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--service", default="helloworld", help="service to scale")
    parser.add_argument("--replicas", type=int, default=30, help="replicas to time (30)")
    parser.add_argument("--runs", type=int, default=7, help="refreshes per figure (7)")
    args = parser.parse_args(argv)

    from workshop.dashboard.widgets import SwarmDashboard
    from workshop.errors import WorkshopError
    from workshop.facade import Lab

    try:
        lab = Lab.connect()
        dashboard = SwarmDashboard(lab, args.service, auto_refresh=False)
        before = dashboard.refresh()
        found = before.find(args.service)
        assert found is not None
        original = found.replicas_desired
        base = time_refresh(dashboard, args.runs)
        _say(f"[bench] scaling {args.service} from {original} to {args.replicas}")
        try:
            dashboard.scale(args.replicas, timeout=300)
            scaled = time_refresh(dashboard, args.runs)
        finally:
            dashboard.scale(original, timeout=300)
    except WorkshopError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    ratio = statistics.median(scaled[0]) / statistics.median(base[0])
    print(f"lab {lab.source.kind}, {len(before.nodes)} nodes, service {args.service}")
    print(_line(f"{original:>3} replicas", *base))
    print(_line(f"{args.replicas:>3} replicas", *scaled))
    print(f"ratio {args.replicas}/{original} replicas: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
