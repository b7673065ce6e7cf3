"""Exercise checks: "not done yet" until answered, then graded; terminal output replayed."""

from __future__ import annotations

from pathlib import Path

import pytest

from workshop.checks import CheckFailed, CheckResult, answer, exercise, terminal_text

DATA = Path(__file__).resolve().parents[1] / "data" / "exercises"


@pytest.mark.parametrize("untouched", [None, ..., "", "   "])
def test_an_untouched_answer_is_not_done_and_does_not_raise(untouched: object) -> None:
    result = answer(untouched, 2, name="failures 5 managers survive", hint="see the table")
    assert not result and not result.done
    assert str(result) == "[TODO] failures 5 managers survive: not done yet — see the table"
    assert "TODO" in result._repr_html_() and "not done yet" in result._repr_html_()
    assert "FAIL" not in str(result)


def test_an_untouched_answer_raises_only_when_asked() -> None:
    result = answer(None, 2, hint="see the table")
    with pytest.raises(CheckFailed, match="not done yet"):
        result.assert_passed()


def test_a_right_answer_passes_with_the_explanation() -> None:
    result = answer(2, 2, name="failures", hint="see the table", explain="a quorum of 5 is 3")
    assert result and result.done and result.assert_passed() is result
    assert str(result) == "[PASS] failures: right: 2. a quorum of 5 is 3"


def test_a_wrong_answer_fails_with_the_hint() -> None:
    result = answer(3, 2, name="failures", hint="`docker node ls` counts managers")
    assert not result and result.done
    assert "[FAIL] failures: 3 is not it" in str(result)
    assert "hint: `docker node ls` counts managers" in str(result)


def test_text_answers_ignore_case_and_blanks_and_booleans_match_only_themselves() -> None:
    assert answer("  Overlay2 ", "overlay2", hint="h")
    assert not answer(1, True, hint="h")  # 1 == True in Python, not as an answer
    assert answer(False, False, hint="h")
    assert not answer(0, False, hint="h")


def test_an_answer_may_be_judged_by_a_function() -> None:
    refused = "Error response from daemon: This node is not a swarm manager."
    assert answer(refused, lambda text: "not a swarm manager" in text.lower(), hint="h")
    assert not answer("permission denied", lambda text: "not a swarm manager" in text, hint="h")


def test_a_lab_task_is_not_graded_until_done() -> None:
    probed: list[bool] = []

    def probe() -> CheckResult:
        probed.append(True)
        return CheckResult("replicas", True, "12 of 12 running")

    waiting = exercise("scale to 12", None, probe, hint="`docker service scale web=12`")
    assert not waiting and not waiting.done and not probed
    graded = exercise("scale to 12", True, probe, hint="`docker service scale web=12`")
    assert graded and graded.message == "12 of 12 running" and probed


def test_a_failed_lab_task_keeps_the_hint_and_an_error_is_a_failure() -> None:
    from workshop.errors import NodeUnreachable

    def failing() -> CheckResult:
        return CheckResult("replicas", False, "10 of 12 running", "wait")

    def broken() -> CheckResult:
        raise NodeUnreachable("node-1", "192.168.56.11", "connection refused")

    hint = "`docker service scale web=12`"
    failed = exercise("scale to 12", True, failing, hint=hint)
    assert not failed and failed.done and failed.hint == hint
    unreachable = exercise("scale to 12", "done", broken, hint=hint)
    assert not unreachable and "node-1" in unreachable.message


def test_docker_service_scale_progress_is_replayed_to_its_last_picture() -> None:
    # Recorded from the lab: `script -qec 'docker service scale scaletest=9' /dev/null`.
    raw = (DATA / "docker-service-scale-tty.txt").read_bytes().decode("utf-8")
    assert "\x1b[" in raw and raw.count("verify: Waiting") > 10
    lines = terminal_text(raw).splitlines()
    assert lines[0] == "scaletest scaled to 9"
    assert lines[1] == "overall progress: 9 out of 9 tasks"
    assert lines[2:11] == [f"{slot}/9: running" for slot in range(1, 10)]
    assert lines[-1] == "verify: Service converged"
    assert len(lines) == 12


def test_terminal_text_handles_plain_text_colours_and_carriage_returns() -> None:
    assert terminal_text("one\ntwo\n") == "one\ntwo"
    assert terminal_text("\x1b[32mgreen\x1b[0m") == "green"
    assert terminal_text("10%\r50%\r100%\n") == "100%"
    assert terminal_text("abcdef\r\x1b[3Cx\x1b[K") == "abcx"
    assert terminal_text("ab\x1b[1Dc\n\x1b[2Ktail") == "ac\ntail"
