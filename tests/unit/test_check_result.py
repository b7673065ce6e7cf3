"""CheckResult rendering and combining (no lab)."""

from __future__ import annotations

import pytest

from workshop.checks import CheckFailed, CheckResult, check_all, guarded
from workshop.errors import NodeUnreachable


def test_passed_result_is_truthy_and_asserts_quietly() -> None:
    result = CheckResult("nodes answer", True, "3 of 3 nodes answer", "start them")
    assert result and result.assert_passed() is result
    assert str(result) == "[PASS] nodes answer: 3 of 3 nodes answer"
    assert "Hint" not in result._repr_html_()


def test_failed_result_shows_the_hint_and_raises() -> None:
    result = CheckResult("swarm", False, "node-3 is not in the swarm", "run swarm_join(lab)")
    assert not result
    assert "hint: run swarm_join(lab)" in str(result)
    assert "Hint: run swarm_join(lab)" in result._repr_html_()
    with pytest.raises(CheckFailed, match="node-3 is not in the swarm"):
        result.assert_passed()


def test_secrets_are_masked_in_every_form() -> None:
    token = "SWMTKN-1-" + "a" * 50 + "-" + "b" * 25
    result = CheckResult("token", False, f"saw {token}")
    assert token not in str(result) and token not in result._repr_html_()


def test_check_all_names_the_failures() -> None:
    combined = check_all(
        "chapter 03",
        [CheckResult("a", True, "ok"), CheckResult("b", False, "missing", "do b")],
    )
    assert not combined
    assert combined.message == "1 of 2 checks failed: b"
    assert combined.hint == "do b"
    assert "  [FAIL] b: missing" in str(combined)


def test_guarded_turns_lab_errors_into_failed_checks() -> None:
    def probe() -> CheckResult:
        raise NodeUnreachable("node-1", "192.168.56.11", "connection refused")

    result = guarded("leader", "start node-1", probe)
    assert not result and "node-1" in result.message and result.hint == "start node-1"
