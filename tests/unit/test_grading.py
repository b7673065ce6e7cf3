"""Grading the labs: the labs' checks on recorded swarms, `workshop grade`, class files.

The swarms are outputs recorded on a real lab with the solution notebooks
(tests/data/labs/README.md), served to the checks through a fake SSH fan-out.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.unit.fakes import (
    RECORDED_NODES,
    FakeSource,
    Handler,
    SwarmRemote,
    down,
    on,
    swarm_lab,
    swarm_recording,
)
from workshop import cli, grading
from workshop.checks import LAB_CHECKS
from workshop.checks.labs import lab_03, lab_03_parts, lab_04_parts, lab_09_parts
from workshop.checks.labs_stacks import published_problem
from workshop.errors import NodeUnreachable, UsageError
from workshop.facade import Lab
from workshop.swarm.parse import parse_node_inspect, parse_service_ls, parse_service_ps

DATA = Path(__file__).resolve().parent.parent / "data" / "labs"


def _text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def recorded_wsgrade(handlers: list[Handler]) -> Lab:
    """The recorded nodes, with the addresses of the lab the labs' recordings come from."""
    nodes = [replace(n, address=ADDRESSES[n.name]) for n in RECORDED_NODES]
    lab = Lab(FakeSource(nodes), nodes)
    lab.remote = SwarmRemote(handlers)  # type: ignore[assignment]
    return lab


def solved_lab() -> Lab:
    """A lab where labs 03 and 04 were solved: three managers, node-3 drained, lab04 6/6.

    (The recordings were made one after the other; the roles come from lab 03's, the
    availability from lab 04's: each lab's check reads only its own part.)
    """
    return recorded_wsgrade(
        [
            on(r"node ls", _text("node-ls-three-managers.jsonl")),
            on(r"node inspect", _text("node-inspect-three-managers.json")),
            on(r"service ls", _text("service-ls-lab04.jsonl")),
            on(r"service ps", _text("service-ps-lab04.jsonl")),
        ]
    )


def unsolved_lab() -> Lab:
    """The lab as chapter 03 leaves it: two managers and a worker, no lab04 service."""
    lab, _ = swarm_lab(
        [
            on(r"node ls", swarm_recording("node-ls-steps.jsonl")),
            on(r"node inspect", swarm_recording("node-inspect-steps.json")),
            on(r"service ls", ""),
        ]
    )
    return lab


ONLY_03_04 = {name: LAB_CHECKS[name] for name in ("03", "04")}
#: The machines of the lab the recordings were made on: name -> lab address.
ADDRESSES = {"node-1": "192.168.71.11", "node-2": "192.168.71.12", "node-3": "192.168.71.13"}


# --- the labs' checks -----------------------------------------------------------------
def test_lab_03_passes_on_the_recorded_three_managers():
    nodes = parse_node_inspect(_text("node-inspect-three-managers.json"))
    parts = lab_03_parts(nodes, ADDRESSES)
    assert [p.passed for p in parts] == [True, True, True, True]


def test_lab_03_fails_a_node_that_advertises_another_address():
    nodes = parse_node_inspect(_text("node-inspect-three-managers.json"))
    parts = lab_03_parts(nodes, {**ADDRESSES, "node-2": "192.168.71.99"})
    assert [p.passed for p in parts] == [True, True, True, False]
    assert parts[3].message == "node-2 advertises 192.168.71.12, not 192.168.71.99"
    assert parts[3].hint.startswith("`docker node inspect")


def test_lab_03_fails_the_roles_of_the_chapters_swarm_with_the_docker_command():
    nodes = parse_node_inspect(swarm_recording("node-inspect-steps.json"))
    parts = lab_03_parts(nodes, {n.hostname: n.address for n in nodes})
    assert [p.passed for p in parts] == [True, False, True, True]
    assert "workers: node-3" in parts[1].message
    assert parts[1].hint.startswith("`docker node promote")


def test_lab_03_fails_every_part_with_its_hint_when_there_is_no_swarm():
    lab, _ = swarm_lab([on(r"node ls", "Error: This node is not a swarm manager.", rc=1)])
    result = lab_03(lab)
    assert not result.passed and len(result.details) == 4
    assert all(not part.passed and part.hint.startswith("`docker") for part in result.details)


def test_lab_04_passes_on_the_recorded_drained_swarm():
    nodes = parse_node_inspect(_text("node-inspect-drained.json"))
    service = parse_service_ls(_text("service-ls-lab04.jsonl"))[0]
    parts = lab_04_parts(nodes, service, {"node-1": 3, "node-2": 3, "node-3": 0})
    assert [p.passed for p in parts] == [True, True, True]


def test_lab_04_names_each_missing_part():
    nodes = parse_node_inspect(swarm_recording("node-inspect-steps.json"))
    parts = lab_04_parts(nodes, None, {})
    assert [p.passed for p in parts] == [False, False, False]
    assert parts[0].message == "node-3 is active"
    assert parts[1].message == "there is no service 'lab04'"
    assert [p.hint.split()[0] for p in parts] == ["`docker", "`docker", "`docker"]


def test_lab_04_fails_tasks_left_on_the_drained_node():
    nodes = parse_node_inspect(_text("node-inspect-drained.json"))
    service = parse_service_ls(_text("service-ls-lab04.jsonl"))[0]
    parts = lab_04_parts(nodes, service, {"node-1": 4, "node-2": 1, "node-3": 1})
    assert [p.passed for p in parts] == [True, True, False]
    assert parts[2].message == "tasks per node: node-1 4, node-2 1, node-3 1"


# --- one lab: the table, the JSON, the exit codes --------------------------------------
def test_the_table_has_a_row_per_part_with_the_hint_of_each_failure():
    rows = grading.grade_lab(unsolved_lab(), ["03", "04"], ONLY_03_04)
    table = grading.grade_table(rows).splitlines()
    assert table[0].split() == ["lab", "check", "result", "hint"]
    assert len(table) == 1 + 7 + 1 and table[-1] == "3 of 7 checks passed."
    failing = [line for line in table if "  FAIL  " in line]
    assert len(failing) == 4 and all("`docker " in line for line in failing)
    assert table[2].startswith("03   3 managers and no worker") and "FAIL" in table[2]


def test_the_gradebook_json_holds_every_part():
    rows = grading.grade_lab(solved_lab(), ["03", "04"], ONLY_03_04)
    book = json.loads(grading.gradebook_json(rows))["checks"]
    assert [(c["lab"], c["passed"]) for c in book] == [("03", True)] * 4 + [("04", False)] + [
        ("04", True)
    ] * 2
    assert book[4]["hint"].startswith("`docker node update --availability drain node-3`")


def _grade(monkeypatch, capsys, lab: Lab, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(Lab, "connect", classmethod(lambda cls, path=None: lab))
    code = cli.main(["grade", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_grade_exits_0_when_every_named_check_passes(monkeypatch, capsys):
    code, out, _ = _grade(monkeypatch, capsys, solved_lab(), "03")
    assert code == 0 and out.splitlines()[-1] == "4 of 4 checks passed."


def test_grade_exits_1_when_a_check_fails_and_json_says_which(monkeypatch, capsys):
    code, out, _ = _grade(monkeypatch, capsys, unsolved_lab(), "lab_04", "--json")
    assert code == 1
    assert [c["passed"] for c in json.loads(out)["checks"]] == [False, False, False]


def test_an_unknown_lab_is_a_usage_error_that_lists_the_known_ones(monkeypatch, capsys):
    contacted = []
    monkeypatch.setattr(Lab, "connect", classmethod(lambda cls, path=None: contacted.append(1)))
    code = cli.main(["grade", "03", "06"])
    _, err = capsys.readouterr()
    assert code == 2 and not contacted
    assert err.strip() == (
        f"workshop grade: lab '06' is not valid; choose one of: {', '.join(LAB_CHECKS)}"
    )


def test_lab_names_accept_the_notebook_names_in_course_order():
    names = grading.lab_names(["labs/04-drained-node.ipynb", "3", "lab03"], ["03", "04", "05"])
    assert names == ["03", "04"]
    assert grading.lab_names([], ["03", "04"]) == ["03", "04"]


# --- a class --------------------------------------------------------------------------
def _class_file(tmp_path: Path, text: str) -> Path:
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada" / "inventory.yml").write_text("nodes: []\n")
    (tmp_path / "grace").mkdir()
    path = tmp_path / "class.yml"
    path.write_text(text)
    return path


def test_a_class_file_lists_learners_by_inventory_or_lab_folder(tmp_path):
    path = _class_file(
        tmp_path,
        "labs: ['03', 4]\nlearners:\n"
        "  - {name: ada, inventory: ada/inventory.yml}\n"
        "  - {name: grace, folder: grace, lab: wsgrace, subnet: 192.168.80}\n",
    )
    learners, labs = grading.load_class(path)
    assert labs == ["03", "4"]
    assert learners == [
        grading.Learner("ada", inventory=tmp_path / "ada" / "inventory.yml"),
        grading.Learner("grace", folder=tmp_path / "grace", lab="wsgrace", subnet="192.168.80"),
    ]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("learners: [", "is not valid YAML"),
        ("labs: ['03']\n", "expected a mapping with a `learners:` list"),
        ("learners:\n  - inventory: ada/inventory.yml\n", "learner 1 needs a name"),
        ("learners:\n  - {name: ada}\n", "learner 'ada' needs one of `inventory:` or `folder:`"),
        ("learners:\n  - {name: ada, folder: nowhere}\n", "nowhere does not exist"),
        (
            "learners:\n  - {name: ada, folder: grace}\n  - {name: ada, folder: grace}\n",
            "learners named twice: ada",
        ),
    ],
)
def test_a_bad_class_file_is_a_usage_error_saying_what_is_wrong(tmp_path, text, said):
    with pytest.raises(UsageError, match=said.replace("`", ".").replace("[", ".")):
        grading.load_class(_class_file(tmp_path, text))


def test_a_missing_class_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cannot read the class file"):
        grading.load_class(tmp_path / "class.yml")


def test_a_class_gets_one_row_per_learner_and_unreachable_labs_are_rows(tmp_path):
    silent, _ = swarm_lab([down("node-2")])
    labs = {"ada": solved_lab(), "bob": unsolved_lab(), "eve": silent}

    def connect(learner: grading.Learner) -> Lab:
        if learner.name == "joe":
            raise NodeUnreachable("node-1", None, "connection refused")
        return labs[learner.name]

    learners = [grading.Learner(n, folder=tmp_path) for n in ("ada", "bob", "eve", "joe")]
    rows = grading.grade_class(learners, ["03"], jobs=2, checks=ONLY_03_04, connect=connect)
    assert [(r.learner, r.labs_passed, bool(r.error)) for r in rows] == [
        ("ada", 1, False),
        ("bob", 0, False),
        ("eve", 0, True),
        ("joe", 0, True),
    ]
    assert rows[1].failing == "03: 3 managers and no worker"
    assert rows[1].hint.startswith("`docker node promote")
    assert rows[2].error.startswith("node-2: ")
    table = grading.class_table(rows).splitlines()
    assert table[1].split()[:4] == ["ada", "1/1", "all", "passed"]
    assert table[3].split()[:3] == ["eve", "-", "unreachable"]
    assert "connection refused" in table[4]


def test_grade_class_exits_1_and_prints_a_row_per_learner(monkeypatch, capsys, tmp_path):
    path = _class_file(tmp_path, "learners:\n  - {name: grace, folder: grace}\n")
    monkeypatch.setattr(grading.Learner, "connect", lambda self: unsolved_lab())
    code = cli.main(["grade", "--class", str(path), "03", "--json"])
    out, _ = capsys.readouterr()
    assert code == 1
    assert json.loads(out)["learners"] == [
        {
            "learner": "grace",
            "labs_passed": 0,
            "labs": 1,
            "failing": "03: 3 managers and no worker",
            "hint": lab_03_parts([], {})[1].hint,
            "error": "",
        }
    ]


# --- labs 07 and 09 ---------------------------------------------------------------------
def test_lab_07_passes_the_recorded_fixed_port_and_names_the_wrong_target():
    fixed = json.loads(_text("ports-lab07-fixed.json"))
    assert published_problem(fixed) == ""
    broken = json.loads(
        _text("ports-lab07-fixed.json").replace('"TargetPort":80', '"TargetPort":8080')
    )
    assert published_problem(broken) == "port 8090 goes to port 8080 in the task"
    assert published_problem(None) == "port 8090 is not published"


def _lab09_view() -> tuple[list, object, dict[str, int]]:
    nodes = parse_node_inspect(_text("node-inspect-manager-off.json"))
    service = next(
        s for s in parse_service_ls(_text("service-ls-lab09.jsonl")) if s.name == "lab09"
    )
    counts = {"node-1": 0, "node-2": 0, "node-3": 0}
    for task in parse_service_ps(_text("service-ps-lab09.jsonl")):
        if task.desired_state == "running" and task.node:
            counts[task.node] += 1
    return nodes, service, counts


def test_lab_09_passes_the_recorded_swarm_with_a_manager_off():
    nodes, service, counts = _lab09_view()
    assert service.replicas_running == 6  # service ls still counts node-2's tasks
    parts = lab_09_parts(nodes, service, counts)
    assert [p.passed for p in parts] == [True, True, True]
    assert parts[2].message == "tasks per node: node-1 4, node-2 0, node-3 0"


def test_lab_09_fails_while_the_manager_is_up_or_tasks_are_missing():
    nodes = parse_node_inspect(_text("node-inspect-three-managers.json"))
    parts = lab_09_parts(nodes, None, {})
    assert [p.passed for p in parts] == [False, False, False]
    assert [p.hint.split()[0] for p in parts] == ["`docker", "`docker", "`docker"]
    off, service, counts = _lab09_view()
    parts = lab_09_parts(off, service, {**counts, "node-1": 3})
    assert parts[2].message == "3 tasks running on nodes that are up, 0 on node-3"
