"""Whose a lab's objects are, and what `up` and `down` may remove; Vagrant stopped as a group.

The engine's answers are recordings from a real one-node lab (``tests/data/owner``,
trimmed to the fields the kit reads): ``container-inspect-node.json`` and the two
``volume-inspect-{docker,bricks}.json`` of node-1, made by `workshop up` in the
folder ``/tmp/owner2``; ``*-unlabelled.json``, a container and its volume that name
no folder (as a kit before owner labels, or a user by hand, made them).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from tests.unit.test_cli import workshop
from workshop.errors import ProviderError, UsageError
from workshop.lab import VagrantSource, host_command, lifecycle, runtime
from workshop.lab.lifecycle import not_ours, owner_refusal, prepare_node_containers
from workshop.lab.runtime import LabObject, leftovers
from workshop.settings import replace_requested

DATA = Path(__file__).resolve().parents[1] / "data" / "owner"
OWNER = Path("/tmp/owner2")


def _load(name: str) -> dict[str, object]:
    return json.loads((DATA / name).read_text())


NODE = LabObject.from_container(_load("container-inspect-node.json"))
STRAY = LabObject.from_container(_load("container-inspect-unlabelled.json"))
VOLUMES = [
    LabObject.from_volume(_load(f"volume-inspect-{kind}.json"))
    for kind in ("docker", "bricks", "unlabelled")
]
SURVEY = (NODE, STRAY, *VOLUMES)


def test_objects_read_their_owner_and_volumes_from_the_engine() -> None:
    assert (NODE.kind, NODE.name, NODE.owner, NODE.service) == (
        "container",
        "wsown-node-1",
        str(OWNER),
        False,
    )
    assert sorted(NODE.mounts) == ["wsown-node-1-bricks", "wsown-node-1-docker"]
    assert (STRAY.name, STRAY.owner, STRAY.mounts) == ("wsown-node-9", "", ("wsown-node-9-docker",))
    assert [(v.name, v.owner) for v in VOLUMES] == [
        ("wsown-node-1-docker", str(OWNER)),
        ("wsown-node-1-bricks", str(OWNER)),
        ("wsown-node-9-docker", ""),
    ]


def test_leftovers_spare_what_vagrant_knows_and_the_volumes_it_mounts() -> None:
    stale = leftovers(SURVEY, {NODE.id})
    assert [item.name for item in stale] == ["wsown-node-9", "wsown-node-9-docker"]
    assert leftovers(SURVEY) == SURVEY


def test_another_folder_sees_the_whole_lab_as_not_its_own() -> None:
    assert not_ours(SURVEY, Path("/tmp/owner2")) == [STRAY, VOLUMES[2]]
    assert not_ours(SURVEY, Path("/tmp/elsewhere")) == list(SURVEY)
    # Objects that name no folder may go on `down`, another folder's never.
    assert not_ours(SURVEY, Path("/tmp/elsewhere"), unowned_ok=True) == [NODE, *VOLUMES[:2]]


def test_a_container_vagrant_knows_is_this_folders_with_its_volumes_labelled_or_not() -> None:
    assert not_ours(SURVEY, Path("/tmp/elsewhere"), {STRAY.id}) == [NODE, *VOLUMES[:2]]


def test_the_refusal_names_the_owner_and_both_ways_out(tmp_path: Path) -> None:
    owner = tmp_path / "first"
    owner.mkdir()
    (owner / "Vagrantfile").touch()
    mine = [LabObject("container", "wsx-node-1", "id1", owner=str(owner))]
    text = str(owner_refusal("wsx", tmp_path / "second", mine))
    assert f"belong to the folder {owner}" in text and "Nothing was removed" in text
    assert f"`workshop down` in {owner}" in text and "`workshop up --replace` here" in text
    assert "another WORKSHOP_LAB and a subnet" in text
    gone = str(owner_refusal("wsx", tmp_path, [LabObject("volume", "v", "v", owner="/gone")]))
    assert "/gone, which no longer exists" in gone and "workshop down" not in gone
    assert "name no folder" in str(owner_refusal("wsx", tmp_path, [STRAY]))


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The recorded lab as the engine's answer; what would be built or removed, recorded."""
    calls: list[str] = []
    monkeypatch.setattr(runtime, "lab_survey", lambda lab: SURVEY)

    def remove(lab: str, objects: object, progress: object) -> runtime.LabObjects:
        calls.extend(item.name for item in objects)  # type: ignore[attr-defined]
        return runtime.LabObjects((), (), ())

    monkeypatch.setattr(runtime, "remove_objects", remove)
    import workshop.images

    monkeypatch.setattr(workshop.images, "ensure_node_image", lambda p: calls.append("image"))
    return calls


def test_up_in_another_folder_refuses_before_building_or_removing(engine: list[str]) -> None:
    with pytest.raises(UsageError, match="belong to the folder /tmp/owner2"):
        prepare_node_containers("wsown", set(), print, project=Path("/tmp/elsewhere"))
    assert engine == []


def test_up_replace_removes_the_other_folders_lab(engine: list[str]) -> None:
    existed = prepare_node_containers(
        "wsown", set(), lambda line: None, project=Path("/tmp/elsewhere"), replace=True
    )
    assert not existed
    assert engine == ["image", *(item.name for item in SURVEY)]


def test_down_refuses_another_folders_lab_and_removes_what_names_none(engine: list[str]) -> None:
    with pytest.raises(UsageError, match="belong to the folder /tmp/owner2"):
        lifecycle.check_removal("wsown", set(), project=Path("/tmp/elsewhere"))
    lifecycle.check_removal("wsown", set(), project=OWNER)  # only the stray is not its own
    lifecycle.remove_node_containers("wsown", lambda line: None, project=Path("/tmp/elsewhere"))
    assert engine == ["wsown-node-9", "wsown-node-9-docker"]


@pytest.mark.parametrize(
    ("value", "wanted"), [("", False), ("0", False), ("no", False), ("1", True), ("Yes", True)]
)
def test_replace_setting(value: str, wanted: bool) -> None:
    assert replace_requested({"WORKSHOP_REPLACE": value}) is wanted
    assert replace_requested({}) is False


def test_an_unclear_replace_setting_is_refused() -> None:
    with pytest.raises(UsageError, match="WORKSHOP_REPLACE='maybe'"):
        replace_requested({"WORKSHOP_REPLACE": "maybe"})


# --- a command and everything it started, stopped as a group -------------------
#: A shell that starts a child which ignores SIGTERM, prints the child's pid, and waits.
STUBBORN = ["sh", "-c", "sh -c 'trap \"\" TERM; sleep 60' & echo $!; wait"]


def _gone(pid: int) -> bool:
    """Whether the process died; SIGKILL lands a moment later on a busy host: 5 s at most."""
    deadline = time.monotonic() + 5
    while not _dead(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _dead(pid)


def _dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"  # killed, waiting for its new parent to reap it


def test_ctrl_c_stops_the_command_and_children_that_ignore_sigterm(tmp_path: Path) -> None:
    pids: list[int] = []

    def interrupt(line: str) -> None:
        pids.append(int(line))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        host_command.run_command(
            STUBBORN, cwd=tmp_path, env=os.environ, timeout=60, progress=interrupt
        )
    assert len(pids) == 1
    assert _gone(pids[0])


def test_a_timeout_stops_the_group_and_says_so(tmp_path: Path) -> None:
    pids: list[int] = []
    with pytest.raises(ProviderError, match=r"took over 0\.5 s"):
        host_command.run_command(
            STUBBORN,
            cwd=tmp_path,
            env=os.environ,
            timeout=0.5,
            progress=lambda line: pids.append(int(line)),
        )
    assert len(pids) == 1 and _gone(pids[0])


def test_a_missing_command_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="Install it"):
        host_command.run_command(
            ["no-such-command-here"], cwd=tmp_path, env=os.environ, timeout=5, hint="Install it."
        )


def test_a_command_runs_in_a_session_of_its_own(tmp_path: Path) -> None:
    probe = "import os; print(os.getsid(0) == os.getpid())"
    rc, out, _err = host_command.run_command(
        [sys.executable, "-c", probe], cwd=tmp_path, env=os.environ, timeout=30
    )
    assert (rc, out.strip()) == (0, "True")


# --- `workshop up --replace` ---------------------------------------------------------


def test_up_replace_on_an_inventory_is_refused_before_anything(monkeypatch, capsys, tmp_path):
    asked: list[str] = []
    monkeypatch.setattr(VagrantSource, "create", lambda self, progress: asked.append("create"))
    (tmp_path / "Vagrantfile").touch()
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("nodes:\n  - {name: node-1, host: 10.0.0.11}\n", encoding="utf-8")
    env = {"WORKSHOP_HOME": str(tmp_path), "WORKSHOP_INVENTORY": str(inventory)}
    code, out, err = workshop(monkeypatch, capsys, env, "up", "--replace")
    assert (code, out, asked) == (2, "", [])
    assert err.startswith("workshop up: --replace") and "WORKSHOP_INVENTORY" in err


def test_up_replace_asks_the_vagrant_lab_to_replace(monkeypatch, capsys, tmp_path):
    replaced: list[bool] = []

    def create(self: VagrantSource, progress: object) -> None:
        replaced.append(self.replace)

    monkeypatch.setattr(VagrantSource, "create", create)
    monkeypatch.setattr(VagrantSource, "discover", lambda self: [])
    (tmp_path / "Vagrantfile").touch()
    env = {"WORKSHOP_HOME": str(tmp_path), "WORKSHOP_LAB": "ownunit"}
    assert workshop(monkeypatch, capsys, env, "up", "--replace")[0] == 0
    assert workshop(monkeypatch, capsys, env, "up")[0] == 0
    assert replaced == [True, False]
