"""Raft quorum arithmetic of a swarm's managers: needed = N//2 + 1, tolerance = (N-1)//2."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from workshop.errors import UsageError

__all__ = [
    "Quorum",
    "QuorumRow",
    "QuorumTable",
    "fault_tolerance",
    "plural",
    "quorum_needed",
    "quorum_table",
]


def quorum_needed(managers: int) -> int:
    """Managers that must be up for the swarm to accept changes: N//2 + 1.

    Raises:
        UsageError: If ``managers`` is below 1.
    """
    _check_managers(managers)
    return managers // 2 + 1


def fault_tolerance(managers: int) -> int:
    """Manager failures the swarm survives: (N-1)//2.

    Raises:
        UsageError: If ``managers`` is below 1.
    """
    _check_managers(managers)
    return (managers - 1) // 2


def _check_managers(managers: int) -> None:
    if managers < 1:
        raise UsageError(f"a swarm needs at least one manager, got {managers}")


def plural(count: int, word: str) -> str:
    """``"1 failure"``, ``"2 failures"``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass(frozen=True, repr=False)
class Quorum:
    """Raft quorum of the swarm's managers.

    Attributes:
        managers: Managers in the swarm (N).
        reachable: Managers taking part in Raft now.
        leader: Host name of the leader, ``None`` when there is none.
    """

    managers: int
    reachable: int
    leader: str | None = None

    def __post_init__(self) -> None:
        _check_managers(self.managers)
        if not 0 <= self.reachable <= self.managers:
            raise UsageError(
                f"reachable managers must be between 0 and {self.managers}, got {self.reachable}"
            )

    @property
    def needed(self) -> int:
        """Managers needed for a quorum: N//2 + 1."""
        return quorum_needed(self.managers)

    @property
    def tolerance(self) -> int:
        """Failures the full swarm tolerates: (N-1)//2."""
        return fault_tolerance(self.managers)

    @property
    def has_quorum(self) -> bool:
        """Whether enough managers are reachable to elect a leader."""
        return self.reachable >= self.needed

    @property
    def failures_left(self) -> int:
        """Further manager failures survivable now (0 when quorum is lost)."""
        return max(0, self.reachable - self.needed)

    @property
    def summary(self) -> str:
        """One line for titles: ``"quorum OK, tolerates 1 failure"`` or ``"NO QUORUM"``."""
        if not self.has_quorum:
            return "NO QUORUM"
        left = self.failures_left
        text = "quorum OK, tolerates " + ("no failure" if left == 0 else plural(left, "failure"))
        if self.leader is None:
            text += " (no leader yet)"
        return text

    def __repr__(self) -> str:
        rows = [
            ("managers", str(self.managers)),
            ("reachable", str(self.reachable)),
            ("needed", str(self.needed)),
            ("tolerance", str(self.tolerance)),
            ("leader", self.leader or "-"),
        ]
        lines = [f"Quorum: {self.summary}"]
        lines += [f"  {name:<10} {value}" for name, value in rows]
        return "\n".join(lines)


@dataclass(frozen=True)
class QuorumRow:
    """One line of the quorum table."""

    managers: int
    needed: int
    tolerance: int


@dataclass(frozen=True, repr=False)
class QuorumTable:
    """Quorum size and fault tolerance for 1..N managers."""

    rows: tuple[QuorumRow, ...]

    def __iter__(self) -> Iterator[QuorumRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> QuorumRow:
        return self.rows[index]

    def __repr__(self) -> str:
        lines = ["MANAGERS  NEEDED  TOLERATES"]
        for row in self.rows:
            note = "  (even: no extra tolerance)" if row.managers % 2 == 0 else ""
            lines.append(f"{row.managers:>8}  {row.needed:>6}  {row.tolerance:>9}{note}")
        return "\n".join(lines)


def quorum_table(max_n: int = 7) -> QuorumTable:
    """Quorum arithmetic for 1..``max_n`` managers.

    Args:
        max_n: Largest number of managers in the table.

    Returns:
        One row per N with the managers needed and the failures tolerated.
    """
    return QuorumTable(
        tuple(QuorumRow(n, quorum_needed(n), fault_tolerance(n)) for n in range(1, max_n + 1))
    )
