"""Per-node results of a fan-out: access, failures, text and HTML tables, masking."""

from __future__ import annotations

import pytest

from workshop.errors import CommandFailed, NodeUnreachable, UnknownNode, UsageError
from workshop.lab import Results, RunResult
from workshop.lab.results import node_sort_key

TOKEN = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx"


def result(node: str, rc: int | None = 0, stdout: str = "", stderr: str = "", **kw) -> RunResult:
    fields = {
        "command": "docker info --format '{{.Swarm.LocalNodeState}}'",
        "duration": 0.25,
        "started": 1000.0,
        "finished": 1000.25,
    }
    fields.update(kw)
    return RunResult(node=node, rc=rc, stdout=stdout, stderr=stderr, **fields)


@pytest.fixture
def mixed() -> Results:
    return Results(
        [
            result("node-3", None, error="timed out after 10 s connecting to 192.168.56.13"),
            result("node-1", 0, "active\n"),
            result("node-2", 1, "", "Cannot connect to the Docker daemon\n"),
        ]
    )


def test_run_result_success_and_failure():
    assert result("node-1").succeeded and not result("node-1").failed
    assert result("node-1", 1).failed
    assert result("node-1", None).failed
    assert result("node-1", 0, error="stray output on stderr means trouble").failed


def test_results_are_ordered_by_node_name():
    results = Results([result("node-10"), result("node-2"), result("node-1")])
    assert results.nodes == ["node-1", "node-2", "node-10"]
    assert sorted(["b-1", "a-10", "a-9"], key=node_sort_key) == ["a-9", "a-10", "b-1"]


def test_index_by_position_name_and_slice(mixed):
    assert mixed[0].node == "node-1"
    assert mixed[-1].node == "node-3"
    assert mixed["node-2"].rc == 1
    assert isinstance(mixed[1:], Results)
    assert mixed[1:].nodes == ["node-2", "node-3"]
    assert len(mixed) == 3
    assert [r.node for r in mixed] == ["node-1", "node-2", "node-3"]
    assert mixed["node-1"] in mixed


def test_unknown_node_name(mixed):
    with pytest.raises(UnknownNode) as caught:
        mixed["node-9"]
    assert caught.value.valid == ["node-1", "node-2", "node-3"]
    with pytest.raises(KeyError):
        mixed["manager"]


def test_one_result_per_node():
    with pytest.raises(UsageError, match="repeated: node-1"):
        Results([result("node-1"), result("node-1")])


def test_succeeded_failed_and_stdout(mixed):
    assert [r.node for r in mixed.succeeded] == ["node-1"]
    assert [r.node for r in mixed.failed] == ["node-2", "node-3"]
    assert mixed.stdout == {"node-1": "active", "node-2": "", "node-3": ""}


def test_results_compare_by_content(mixed):
    assert mixed == Results(list(mixed))
    assert hash(mixed) == hash(Results(list(mixed)))
    assert mixed != Results([])


def test_raise_for_failures_names_all_failed_nodes(mixed):
    with pytest.raises(CommandFailed) as caught:
        mixed.raise_for_failures()
    error = caught.value
    assert error.node == "node-2"
    assert error.rc == 1
    assert error.failed_nodes == ("node-2", "node-3")
    assert "Failed on 2 nodes: node-2, node-3" in str(error)
    assert "Cannot connect to the Docker daemon" in str(error)


def test_raise_for_unreachable_first():
    unreachable = result(
        "node-3", None, error="connection refused", unreachable=True, address="192.168.56.13"
    )
    results = Results([result("node-1"), unreachable])
    with pytest.raises(NodeUnreachable) as caught:
        results.raise_for_failures()
    assert caught.value.node == "node-3"
    assert str(caught.value).startswith(
        "node-3 (192.168.56.13) is unreachable: connection refused."
    )


def test_timeout_is_a_command_failure_not_unreachable():
    results = Results([result("node-2", None, error="timed out after 5 s")])
    with pytest.raises(CommandFailed, match="timed out after 5 s") as caught:
        results.raise_for_failures()
    assert caught.value.rc is None


def test_error_with_exit_code_is_a_command_failure():
    results = Results([result("node-1", 0, error="output was cut at 1 MB")])
    with pytest.raises(CommandFailed, match="output was cut at 1 MB"):
        results.raise_for_failures()


def test_all_succeeded_returns_self():
    results = Results([result("node-1"), result("node-2")])
    assert results.raise_for_failures() is results
    assert Results([]).raise_for_failures() == Results([])


def test_text_table(mixed):
    text = str(mixed)
    lines = text.splitlines()
    assert lines[0] == "$ docker info --format '{{.Swarm.LocalNodeState}}'"
    assert lines[1].split() == ["node", "rc", "time", "output"]
    assert lines[2].split() == ["node-1", "0", "0.25s", "active"]
    assert lines[3].split()[:3] == ["node-2", "1", "0.25s"]
    assert lines[3].endswith("Cannot connect to the Docker daemon")
    assert lines[4].startswith("node-3  -   0.25s  error: timed out after 10 s")
    assert lines[-1] == "1 of 3 succeeded; failed: node-2, node-3"
    # output columns line up
    assert (
        len(
            {
                line.index(word)
                for line, word in zip(lines[2:5], ["active", "Cannot", "error"], strict=True)
            }
        )
        == 1
    )


def test_text_table_with_long_and_multiline_output():
    stdout = "\n".join(f"line {i}" for i in range(1, 8)) + "\n" + "x" * 300
    one = Results([result("node-1", 0, stdout, command="seq")])
    two = Results(
        [result("node-1", 0, stdout, command="seq"), result("node-2", 0, "ok", command="seq")]
    )
    lines = str(two).splitlines()
    assert "line 1" in lines[2]
    assert lines[3].strip() == "line 2"
    assert lines[5].strip() == "[… 5 more lines]"
    assert all(len(line) < 150 for line in lines)
    # One node's answer, or --full: every line, uncut.
    for text in (str(one), two.text(full=True)):
        assert "line 7" in text and "x" * 300 in text and "more lines" not in text


def test_html_shows_one_answer_whole_and_folds_long_ones_of_many():
    long = "\n".join(f"task {i}" for i in range(1, 31))
    one = Results([result("node-1", 0, long, command="docker service ps web")])._repr_html_()
    assert "task 30" in one and "<details>" not in one
    many = Results([result("node-1", 0, long), result("node-2", 0, "short")])._repr_html_()
    shown, folded = many.split("<details>")
    assert "task 10" in shown and "task 11" not in shown
    assert "<summary>20 more lines</summary>" in folded and "task 30" in folded


def test_text_table_with_different_commands():
    results = Results([result("node-1", command="hostname"), result("node-2", command="uptime")])
    lines = str(results).splitlines()
    assert lines[0].split() == ["node", "rc", "time", "command", "output"]
    assert "hostname" in lines[1]
    assert "uptime" in lines[2]


def test_empty_results():
    assert str(Results()) == "(no results)"
    assert len(Results()) == 0


def test_html_table_escapes_and_highlights(mixed):
    evil = Results([result("node-1", 1, "", "<script>alert(1)</script>", command="echo '<b>'")])
    page = evil._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;" in page
    assert 'class="failed"' in page
    html_mixed = mixed._repr_html_()
    assert html_mixed.count('class="failed"') == 2
    assert html_mixed.count('class="succeeded"') == 1
    assert "1 of 3 succeeded; failed: node-2, node-3" in html_mixed


def test_secrets_are_masked_in_every_form():
    results = Results(
        [
            result("node-1", 0, f"{TOKEN}\n", command="docker swarm join-token -q worker"),
            result(
                "node-2", 1, "", f"bad token {TOKEN}", command=f"docker swarm join --token {TOKEN}"
            ),
        ]
    )
    for text in (str(results), repr(results), results._repr_html_(), repr(results[0])):
        assert "3pu6****…" in text
        assert "1awxwuwd3z9j1z3puu7rcgdbx" not in text
        assert "hszjas19" not in text
    with pytest.raises(CommandFailed) as caught:
        results.raise_for_failures()
    assert "1awxwuwd" not in str(caught.value) + repr(caught.value)
    # the data itself stays usable: a step reads the token from stdout
    assert results.stdout["node-1"] == TOKEN


# --- failures say why: the error first, then the end of what the command said -------

APT_STDOUT = "".join(f"Unpacking package-{i} ...\n" for i in range(30)) + (
    "E: Sub-process /usr/bin/dpkg returned an error code (1)\n"
)


def test_a_failure_shows_the_end_of_stdout_when_stderr_is_empty():
    failed = result("node-2", 100, APT_STDOUT, "", command="apt-get install docker.io")
    summary = failed.summary()
    assert summary[-1] == "E: Sub-process /usr/bin/dpkg returned an error code (1)"
    assert summary[0] == "[… 28 earlier lines]"
    with pytest.raises(CommandFailed) as caught:
        Results([failed]).raise_for_failures()
    assert "E: Sub-process /usr/bin/dpkg returned an error code (1)" in str(caught.value)


def test_a_connection_lost_mid_command_says_so_first():
    lost = result(
        "node-2",
        None,
        "Unpacking docker.io (20.10.24+dfsg1-1+deb12u1) ...\n",
        command="apt-get install docker.io",
        error="connection lost while the command ran (ssh vagrant@127.0.0.1:2201)",
        address="192.168.56.12",
    )
    assert lost.summary()[0] == (
        "error: connection lost while the command ran (ssh vagrant@127.0.0.1:2201)"
    )
    assert lost.summary()[1].startswith("Unpacking docker.io")
    with pytest.raises(CommandFailed) as caught:
        Results([lost, result("node-1")]).raise_for_failures()
    first, *rest = str(caught.value).splitlines()
    assert first.startswith("node-2: connection lost while the command ran")
    assert "workshop up" in first
    assert (
        rest[0]
        == "`apt-get install docker.io` failed on node-2 with no exit code (it did not finish)."
    )
    assert "Unpacking docker.io" in "\n".join(rest)
    assert caught.value.rc is None and caught.value.stdout.startswith("Unpacking")


def test_a_timeout_says_so_first_and_keeps_the_output():
    slow = result("node-2", None, "half done\n", error="timed out after 5 s")
    with pytest.raises(CommandFailed) as caught:
        Results([slow]).raise_for_failures()
    message = str(caught.value)
    assert message.startswith("node-2: timed out after 5 s.\n") and "half done" in message
    assert "workshop up" not in message
