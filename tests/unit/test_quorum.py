"""Raft quorum arithmetic: needed = N//2 + 1, tolerance = (N-1)//2."""

from __future__ import annotations

import pytest

from workshop.errors import UsageError
from workshop.swarm.models import Quorum, fault_tolerance, quorum_needed, quorum_table

EXPECTED = {  # N: (needed, tolerance)
    1: (1, 0),
    2: (2, 0),
    3: (2, 1),
    4: (3, 1),
    5: (3, 2),
    6: (4, 2),
    7: (4, 3),
}


@pytest.mark.parametrize(("n", "needed", "tolerance"), [(n, *v) for n, v in EXPECTED.items()])
def test_needed_and_tolerance(n: int, needed: int, tolerance: int) -> None:
    assert quorum_needed(n) == needed
    assert fault_tolerance(n) == tolerance
    quorum = Quorum(managers=n, reachable=n, leader="node-1")
    assert (quorum.needed, quorum.tolerance) == (needed, tolerance)
    assert quorum.has_quorum


@pytest.mark.parametrize("odd", [1, 3, 5])
def test_even_number_adds_no_tolerance(odd: int) -> None:
    assert fault_tolerance(odd + 1) == fault_tolerance(odd)
    assert quorum_needed(odd + 1) == quorum_needed(odd) + 1


def test_table_rows() -> None:
    table = quorum_table()
    assert len(table) == 7
    assert [(r.managers, r.needed, r.tolerance) for r in table] == [
        (n, *v) for n, v in EXPECTED.items()
    ]
    assert table[2].tolerance == 1
    assert len(quorum_table(3)) == 3


def test_table_repr() -> None:
    lines = repr(quorum_table(4)).splitlines()
    assert lines[0].split() == ["MANAGERS", "NEEDED", "TOLERATES"]
    assert lines[3].split() == ["3", "2", "1"]
    assert "even" in lines[2] and "even" in lines[4] and "even" not in lines[3]


@pytest.mark.parametrize(
    ("managers", "reachable", "leader", "has_quorum", "summary"),
    [
        (3, 3, "node-1", True, "quorum OK, tolerates 1 failure"),
        (3, 2, "node-2", True, "quorum OK, tolerates no failure"),
        (3, 1, None, False, "NO QUORUM"),
        (2, 1, None, False, "NO QUORUM"),
        (5, 5, "node-1", True, "quorum OK, tolerates 2 failures"),
        (3, 2, None, True, "quorum OK, tolerates no failure (no leader yet)"),
    ],
)
def test_quorum_state(
    managers: int, reachable: int, leader: str | None, has_quorum: bool, summary: str
) -> None:
    quorum = Quorum(managers=managers, reachable=reachable, leader=leader)
    assert quorum.has_quorum is has_quorum
    assert quorum.summary == summary


def test_quorum_repr_is_a_small_table() -> None:
    text = repr(Quorum(managers=3, reachable=2, leader="node-2"))
    assert text.splitlines()[0] == "Quorum: quorum OK, tolerates no failure"
    assert "needed     2" in text and "leader     node-2" in text


@pytest.mark.parametrize(("managers", "reachable"), [(0, 0), (3, 4), (3, -1)])
def test_invalid_quorum(managers: int, reachable: int) -> None:
    with pytest.raises(UsageError):
        Quorum(managers=managers, reachable=reachable)


def test_invalid_manager_count() -> None:
    with pytest.raises(ValueError, match="at least one manager"):
        quorum_needed(0)
