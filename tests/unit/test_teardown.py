"""teardown() takes the kit's work off real hosts, decided on a real lab's answers.

The answers are in ``tests/data/teardown`` (see its README): every read-only
command of a real `workshop down` on an inventory, once with everything of the
kit in place and once on hosts where nothing of it is left. Commands nobody
recorded are the removals the step makes (``RecordedRemote.unrecorded``).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from tests.unit.fakes import FakeRemote, FakeSource, RecordedRemote, down, recorded_lab
from tests.unit.test_cli import workshop
from workshop import Lab, cli, facade
from workshop.errors import NotReady, UsageError
from workshop.lab import Node, SSHEndpoint, VagrantSource
from workshop.lab.runtime import LabObject
from workshop.steps import teardown
from workshop.steps.leftovers import NodeLeftovers, parse_leftovers, survey_probe

DATA = Path(__file__).resolve().parents[1] / "data" / "teardown"
#: The lab the answers come from ("wsinv", driven as an inventory).
NODES = (
    Node("node-1", "manager", "192.168.68.11", SSHEndpoint("192.168.68.11", user="vagrant")),
    Node("node-2", "manager", "192.168.68.12", SSHEndpoint("192.168.68.12", user="vagrant")),
    Node("node-3", "worker", "192.168.68.13", SSHEndpoint("192.168.68.13", user="vagrant")),
)
NAMES = [n.name for n in NODES]


@pytest.fixture(autouse=True)
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The replayed answers need no time to change between looks."""
    monkeypatch.setattr(importlib.import_module("workshop.steps.teardown"), "POLL", 0.0)


def answers(name: str) -> list[dict[str, object]]:
    recorded: list[dict[str, object]] = json.loads((DATA / f"{name}.json").read_text())
    return recorded


def hosts(name: str) -> tuple[Lab, RecordedRemote]:
    lab, remote = recorded_lab(answers(name), nodes=NODES)
    return lab, remote


def first_survey(name: str, node: str) -> str:
    probe = survey_probe()
    return next(
        str(a["stdout"]) for a in answers(name) if a["node"] == node and a["command"] == probe
    )


# --- what a node still has ------------------------------------------------------------


def test_a_provisioned_node_has_the_firewall_the_volume_and_images() -> None:
    left = parse_leftovers(first_survey("teardown-in-place", "node-1"))
    assert "/etc/systemd/system/workshop-firewall.service" in left.files
    assert "/etc/workshop" in left.files
    assert left.tables == ("workshop_firewall",)
    assert left.mounted == "localhost:/swarm-data"
    assert left.fstab and left.bricks and left.hosts_names
    assert left.glusterd and left.volume and left.gwbridge
    assert len(left.tasks) >= 2  # demoapp and registry tasks on node-1
    assert len(left.images) == 3  # registry, web, app


def test_a_torn_down_node_has_only_glusterd_running() -> None:
    # GlusterFS stays installed (and so running); Docker's own nat/filter tables are no kit's.
    assert parse_leftovers(first_survey("teardown-nothing-left", "node-2")) == NodeLeftovers(
        glusterd=True
    )


# --- the removals ---------------------------------------------------------------------


def test_everything_of_the_kit_is_removed_in_order() -> None:
    lab, remote = hosts("teardown-in-place")
    result = teardown(lab)
    assert result.changed_nodes == NAMES
    assert remote.changes(r"^docker stack rm demoapp registry$") == ["node-1"]
    assert remote.changes(r"^docker swarm leave --force$") == NAMES
    assert remote.changes(r"umount /mnt/swarm-data") == NAMES
    assert remote.changes(r"volume stop swarm-data.*volume delete swarm-data") == ["node-1"]
    assert remote.changes(r"peer detach gluster-2$") == ["node-1"]
    assert remote.changes(r"peer detach gluster-3$") == ["node-1"]
    assert remote.changes(r"^rm -rf /data/bricks/swarm-data ") == NAMES
    assert remote.changes(r"nft delete table inet workshop_firewall") == NAMES
    assert remote.changes(r"systemctl disable --now workshop-firewall\.service") == NAMES
    assert remote.changes(r"docker image rm --force \"\$id\"") == NAMES
    order = [command for _, command in remote.unrecorded]

    def first(pattern: str) -> int:
        return next(i for i, c in enumerate(order) if pattern in c)

    # Services before the swarm, the worker before the managers, the mount before the volume.
    assert first("docker stack rm") < first("docker swarm leave")
    leaves = [node for node, c in remote.unrecorded if c == "docker swarm leave --force"]
    assert leaves[0] == "node-3"
    assert first("umount") < first("volume delete") < first("peer detach")


def test_a_second_teardown_changes_nothing() -> None:
    lab, remote = hosts("teardown-nothing-left")
    result = teardown(lab)
    assert remote.unrecorded == [] and remote.files == []
    assert not result.changed
    assert {c.detail for c in result.nodes} == {"nothing of the kit left"}


def test_a_silent_node_stops_the_teardown_before_any_change() -> None:
    lab = Lab(FakeSource(NODES), list(NODES))
    remote = FakeRemote([down("node-3")])
    lab.remote = remote  # type: ignore[assignment]
    with pytest.raises(NotReady) as caught:
        teardown(lab)
    assert "node-3" in str(caught.value) and "nothing was removed" in str(caught.value)
    assert remote.commands == ["true"]


def test_a_bad_volume_name_is_refused_before_anything_runs() -> None:
    lab, remote = hosts("teardown-in-place")
    with pytest.raises(UsageError):
        teardown(lab, volume="-rf /")
    assert remote.commands == []


# --- `workshop down` with an inventory ------------------------------------------------


@pytest.fixture
def inventory_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "Vagrantfile").write_text("# the lab's machines\n", encoding="utf-8")
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("nodes:\n  - {name: node-1, host: 192.168.68.11}\n", encoding="utf-8")
    return {
        "WORKSHOP_HOME": str(tmp_path),
        "WORKSHOP_LAB": "teardownunit",
        "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
        "WORKSHOP_INVENTORY": str(inventory),
    }


def test_down_prints_what_it_removed_per_node(monkeypatch, capsys, inventory_env) -> None:
    monkeypatch.setattr(cli.Lab, "connect", classmethod(lambda cls: hosts("teardown-in-place")[0]))
    code, out, err = workshop(monkeypatch, capsys, inventory_env, "down")
    assert code == 0, err
    for node in NAMES:
        assert f"teardown: {node}" in err  # said as it happens
        assert f"  {node}  changed  " in out  # and in the closing table
    assert "left the swarm" in out and "stopped and deleted volume swarm-data" in out
    assert out.rstrip().endswith("still installed.")


def test_down_again_says_nothing_is_left(monkeypatch, capsys, inventory_env) -> None:
    monkeypatch.setattr(
        cli.Lab, "connect", classmethod(lambda cls: hosts("teardown-nothing-left")[0])
    )
    code, out, _ = workshop(monkeypatch, capsys, inventory_env, "down")
    assert code == 0
    assert out.rstrip().endswith("Nothing of the kit was left on the hosts.")


def test_keep_cache_is_refused_for_real_hosts(monkeypatch, capsys, inventory_env) -> None:
    code, out, err = workshop(monkeypatch, capsys, inventory_env, "down", "--keep-cache")
    assert (code, out) == (2, "")
    assert err.startswith("workshop down: --keep-cache") and err.count("\n") == 1


# --- `workshop down --keep-cache` on the folder's lab (what `make test` runs) -----------


def test_keep_cache_keeps_the_labs_package_cache(monkeypatch, capsys, tmp_path) -> None:
    project = str(tmp_path)
    node = LabObject(
        "container", "keepunit-node-1", "c1", project, mounts=("keepunit-node-1-docker",)
    )
    cache = LabObject(
        "container", "keepunit-apt-cache", "c2", project, True, ("keepunit-apt-cache",)
    )
    found = (
        node,
        cache,
        LabObject("volume", "keepunit-node-1-docker", "keepunit-node-1-docker", project),
        LabObject("volume", "keepunit-apt-cache", "keepunit-apt-cache", project),
        LabObject("volume", "keepunit-node-9-docker", "keepunit-node-9-docker", "/elsewhere"),
    )
    asked: list[object] = []
    for method in ("destroy", "remove"):
        monkeypatch.setattr(VagrantSource, method, lambda self, progress, m=method: asked.append(m))
    monkeypatch.setattr(VagrantSource, "machine_ids", lambda self: {"c1"})
    monkeypatch.setattr(facade, "check_removal", lambda *a, **k: asked.append("check"))
    monkeypatch.setattr(facade, "lab_survey", lambda lab: found)
    monkeypatch.setattr(
        facade, "remove_objects", lambda lab, items, progress: asked.append([i.name for i in items])
    )
    (tmp_path / "Vagrantfile").write_text("# the lab's machines\n", encoding="utf-8")
    env = {
        "WORKSHOP_HOME": project,
        "WORKSHOP_LAB": "keepunit",
        "WORKSHOP_PROVIDER": "docker",
        "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
    }
    code, out, _ = workshop(monkeypatch, capsys, env, "down", "--keep-cache")
    assert code == 0
    # The owner check first; then the machines; the cache and another folder's volume stay.
    assert asked == ["check", "destroy", ["keepunit-node-1", "keepunit-node-1-docker"]]
    assert "package cache stays" in out
    asked.clear()
    assert workshop(monkeypatch, capsys, env, "down")[0] == 0
    assert asked == ["remove"]  # without the option: everything goes


FAKE_DOCKER = """#!/bin/sh
# docker image inspect|rm on a folder of image files; 'parent' has a child 'child'.
store=$(dirname "$0")/images
[ "$2" = inspect ] && { [ -e "$store/$3" ]; exit $?; }
shift 3
status=0
for id in "$@"; do
  if [ "$id" = parent ] && [ -e "$store/child" ]; then
    echo "conflict: unable to delete parent - image has dependent child images" >&2
    status=1
  else
    rm -f "$store/$id"
  fi
done
exit $status
"""


def test_images_go_children_first_whatever_the_order(tmp_path):
    import os
    import subprocess

    from workshop.steps.teardown import _image_rm_line

    (tmp_path / "images").mkdir()
    for image in ("parent", "child", "other"):
        (tmp_path / "images" / image).touch()
    docker = tmp_path / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    line = _image_rm_line(("parent", "other", "child"))
    done = subprocess.run(["sh", "-c", line], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / "images").iterdir()) == []
    # A single `docker image rm` of the same list fails as it did on the lab.
    (tmp_path / "images" / "parent").touch()
    (tmp_path / "images" / "child").touch()
    once = subprocess.run(
        ["sh", "-c", "docker image rm --force parent child"], env=env, capture_output=True
    )
    assert once.returncode == 1
