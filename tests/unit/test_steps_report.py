"""Step results and require reports: text, HTML, change tracking, masking."""

from __future__ import annotations

from workshop.steps.recorder import StepRecorder
from workshop.steps.report import (
    NodeChange,
    RequireReport,
    StateOutcome,
    StepResult,
    html_table,
    text_table,
)

TOKEN = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx"


def test_step_result_orders_nodes_and_tells_what_changed():
    result = StepResult(
        "install_docker",
        (
            NodeChange("node-10", False, "already running"),
            NodeChange("node-2", True, "installed Docker 20.10"),
            NodeChange("node-1", False, "already running"),
        ),
        duration=12.34,
    )
    assert [c.node for c in result.nodes] == ["node-1", "node-2", "node-10"]
    assert result.changed and result.changed_nodes == ["node-2"]
    assert result["node-2"].detail == "installed Docker 20.10"
    text = str(result)
    assert text.splitlines()[0] == "install_docker: changed on node-2 (12.3 s)"
    assert "no change" in text and "installed Docker 20.10" in text


def test_unchanged_step_says_no_change():
    result = StepResult("firewall", (NodeChange("node-1", False, "rules loaded"),))
    assert not result.changed
    assert str(result).startswith("firewall: no change")
    assert "no change" in repr(result)


def test_html_highlights_changes_and_escapes():
    result = StepResult(
        "x", (NodeChange("node-1", True, "<b>new</b>"), NodeChange("node-2", False, "same"))
    )
    markup = result._repr_html_()
    assert "&lt;b&gt;new&lt;/b&gt;" in markup and "<b>new</b>" not in markup
    assert markup.count("background:#e3f2e1") == 1


def test_tokens_are_masked_in_every_form():
    result = StepResult(
        "swarm_join",
        (NodeChange("node-3", True, f"joined with {TOKEN}"),),
        notes=(f"token {TOKEN}",),
    )
    for shown in (str(result), repr(result), result._repr_html_(), result.nodes[0].detail):
        assert "1awxwuwd3z9j1z3puu7rcgdbx" not in shown
    assert "1awxwuwd3z9j1z3puu7rcgdbx" not in text_table(("a", "b"), [("x", TOKEN)])
    assert "1awxwuwd3z9j1z3puu7rcgdbx" not in html_table(("a",), [(TOKEN,)])


def test_recorder_adds_up_changes_and_keeps_them_over_no_change():
    rec = StepRecorder("gluster_volume")
    rec.changed("node-1", "installed glusterfs-server")
    rec.changed(["node-1", "node-2"], "mounted")
    rec.unchanged(["node-1", "node-2", "node-3"], "already mounted")
    rec.note("volume swarm-data")
    result = rec.result()
    assert result["node-1"].detail == "installed glusterfs-server; mounted"
    assert result["node-2"].changed and not result["node-3"].changed
    assert result.notes == ("volume swarm-data",)


def test_require_report_lists_states_in_order():
    step = StepResult("install_docker", (NodeChange("node-1", True, "installed"),), 3.0)
    report = RequireReport(
        ("docker",),
        (StateOutcome("nodes", False), StateOutcome("docker", True, (step,))),
        duration=3.5,
    )
    assert report.changed and report.steps == [step]
    text = str(report)
    assert text.splitlines()[0] == "require('docker'): reached docker (3.5 s)"
    assert "already there" in text and "install_docker: changed on node-1" in text
    assert "<table" in report._repr_html_()
    again = RequireReport(
        ("docker",), (StateOutcome("nodes", False), StateOutcome("docker", False))
    )
    assert not again.changed and "already there" in again.summary()


def test_headlines_pass_the_builders_lines_and_not_apts() -> None:
    from workshop.steps.recorder import headlines

    seen: list[str] = []
    forward = headlines(seen.append)
    for line in (
        "Building dependency tree...",
        "Building workshop/web:latest from workshop/images/web",
        "Reading package lists...",
        "Pulling debian:bookworm",
    ):
        forward(line)
    assert seen == [
        "Building workshop/web:latest from workshop/images/web",
        "Pulling debian:bookworm",
    ]
