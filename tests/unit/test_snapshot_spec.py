"""A restored node is made with the create request of the container Vagrant made.

On `docker inspect` answers recorded on the lab ``wssnap``
(tests/data/snapshots/README.md): the one Vagrant made, and the one
`workshop snapshot restore` made again from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workshop import cli
from workshop.errors import UsageError
from workshop.lab.snapshot_spec import ContainerSpec, NetworkAttachment, container_spec
from workshop.lab.snapshot_store import Snapshot, check_name, image_repository, volume_copy_name

DATA = Path(__file__).resolve().parents[1] / "data" / "snapshots"


def _inspect(name: str) -> dict:
    return json.loads((DATA / name).read_text())


@pytest.fixture
def spec() -> ContainerSpec:
    return container_spec(_inspect("node-1-container.json"))


def test_the_spec_keeps_name_hostname_command_and_labels(spec: ContainerSpec) -> None:
    assert spec.name == "wssnap-node-1"
    assert spec.body["Hostname"] == "node-1"
    assert spec.body["Cmd"] == ["/lib/systemd/systemd"]
    assert spec.body["StopSignal"] == "SIGRTMIN+3"
    assert spec.body["Labels"]["workshop.lab"] == "wssnap"
    assert spec.body["Labels"]["workshop.node"] == "node-1"
    assert "Image" not in spec.body


def test_the_spec_keeps_the_node_powers_mounts_and_ssh_port(spec: ContainerSpec) -> None:
    host = spec.body["HostConfig"]
    assert host["CapAdd"] == ["ALL"] and host["CapDrop"] == ["CAP_SYS_RESOURCE"]
    assert "seccomp=unconfined" in host["SecurityOpt"]
    assert host["MaskedPaths"] == [] and host["ReadonlyPaths"] == []  # systempaths=unconfined
    assert host["DeviceCgroupRules"] == ["a *:* rwm"]
    assert set(host["Tmpfs"]) == {"/run", "/run/lock", "/tmp"}
    volumes = {m["Source"]: m["Target"] for m in host["Mounts"]}
    assert volumes == {
        "wssnap-node-1-docker": "/var/lib/docker",
        "wssnap-node-1-bricks": "/data/bricks",
    }
    assert "/sys/fs/cgroup:/sys/fs/cgroup:rw" in host["Binds"]
    assert host["PortBindings"]["22/tcp"][0]["HostPort"] == "2204"


def test_the_lab_network_is_attached_with_the_address_and_hostname_alias(
    spec: ContainerSpec,
) -> None:
    # The engine's alias for the old container (its short id) is not carried over.
    assert spec.networks == (
        NetworkAttachment("vagrant_network_192.168.73.0/24", "192.168.73.11", ("node-1",)),
    )


def test_the_restored_container_has_the_create_request_vagrant_gave() -> None:
    original = container_spec(_inspect("node-1-container.json"))
    restored = container_spec(_inspect("node-1-restored.json"))
    assert restored.name == original.name
    assert restored.body["HostConfig"] == original.body["HostConfig"]
    assert restored.networks == original.networks
    assert {k: v for k, v in restored.body.items() if k != "Labels"} == {
        k: v for k, v in original.body.items() if k != "Labels"
    }
    # Vagrant's labels all stay; the snapshot's are added.
    assert original.body["Labels"].items() <= restored.body["Labels"].items()


def test_a_request_names_the_image_adds_labels_and_leaves_the_spec_alone(
    spec: ContainerSpec,
) -> None:
    request = spec.request("sha256:abc", {"workshop.snapshot": "gluster"})
    assert request["Image"] == "sha256:abc"
    assert request["Labels"]["workshop.snapshot"] == "gluster"
    assert request["Labels"]["workshop.lab"] == "wssnap"
    request["HostConfig"]["CapAdd"].append("X")
    assert "Image" not in spec.body and "workshop.snapshot" not in spec.body["Labels"]
    assert spec.body["HostConfig"]["CapAdd"] == ["ALL"]


def test_a_spec_kept_as_json_is_the_same_spec(spec: ContainerSpec) -> None:
    assert ContainerSpec.from_json(spec.to_json()) == spec
    with pytest.raises(ValueError):
        ContainerSpec.from_json("[]")


def test_an_answer_without_config_is_refused() -> None:
    with pytest.raises(ValueError):
        container_spec({"Name": "/x", "Config": {}})


@pytest.mark.parametrize("name", ["gluster", "demoapp-2", "a", "ch07_start", "v1.2"])
def test_valid_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "Gluster", "-x", ".x", "a b", "a/b", "a:b", "x" * 41])
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="cannot name a snapshot"):
        check_name(name)


def test_object_names() -> None:
    assert image_repository("wssnap", "node-1") == "workshop/snapshot/wssnap/node-1"
    assert (
        volume_copy_name("wssnap-node-1-docker", "gluster") == "wssnap-node-1-docker-snap-gluster"
    )


def test_a_snapshot_is_complete_only_with_every_node_s_image_and_volumes() -> None:
    snap = Snapshot("gluster", "wssnap", nodes=("node-1", "node-2"))
    snap.images = {"node-1": "sha256:1", "node-2": "sha256:2"}
    snap.volumes = {"node-1": {"v1": "v1-snap-gluster"}}
    assert not snap.complete
    snap.volumes["node-2"] = {"v2": "v2-snap-gluster"}
    assert snap.complete
    assert not Snapshot("gluster", "wssnap").complete


def test_a_bad_name_is_refused_before_anything_is_contacted(monkeypatch, capsys) -> None:
    def contacted() -> None:
        raise AssertionError("the lab was contacted")

    monkeypatch.setattr("workshop.cli_snapshot._source", contacted)
    assert cli.main(["snapshot", "save", "Bad Name"]) == 2
    assert "cannot name a snapshot" in capsys.readouterr().err


def test_real_hosts_have_no_snapshots(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("WORKSHOP_INVENTORY", str(tmp_path / "hosts.yml"))
    assert cli.main(["snapshot", "restore", "gluster"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("workshop snapshot: WORKSHOP_INVENTORY is set") and "Traceback" not in err


def test_vm_labs_are_pointed_to_vagrant_snapshots(monkeypatch, capsys) -> None:
    monkeypatch.setenv("WORKSHOP_PROVIDER", "virtualbox")
    monkeypatch.setenv("WORKSHOP_LAB", "wsunitvm")
    monkeypatch.delenv("WORKSHOP_INVENTORY", raising=False)
    assert cli.main(["snapshot", "ls"]) == 1
    err = capsys.readouterr().err
    assert "runs on virtualbox" in err and "vagrant snapshot" in err


def test_rm_needs_names_or_all(monkeypatch, capsys) -> None:
    assert cli.main(["snapshot", "rm"]) == 2
    assert "--all" in capsys.readouterr().err


def test_after_a_restore_a_state_left_undone_gets_its_steps_and_later_states_wait(
    monkeypatch,
) -> None:
    from workshop.steps import states as states_module
    from workshop.steps.states import State

    ran: list[str] = []
    mounted: list[bool] = []

    def step(lab, progress):
        ran.append("mount")
        mounted.append(True)

    states = (
        State("nodes", "up", lambda lab: True, ()),
        State("gluster", "mounted", lambda lab: bool(mounted), (step,)),
        State("registry", "never reached", lambda lab: False, ()),
    )
    monkeypatch.setattr(states_module, "STATES", states)
    monkeypatch.setattr(states_module, "GRACE", {"gluster": 0.05})
    # The lab's package cache is started again once the nodes answer (apt needs it).
    monkeypatch.setattr(states_module, "apt_cache", lambda lab, progress: ran.append("cache"))
    said: list[str] = []
    states_module.wait_for_state(object(), "gluster", said.append)  # type: ignore[arg-type]
    assert ran == ["cache", "mount"]
    assert "gluster did not come back by itself: running its steps" in said
    assert not any(line.startswith("Waiting for registry") for line in said)


def test_after_a_restore_the_gluster_mount_is_seen_to_before_the_swarm_comes_back(
    monkeypatch,
) -> None:
    # A manager's engine answers only once the swarm elected its leader (about 10 s
    # after a boot); the mount the boot missed is redone meanwhile, not after.
    from workshop.steps import states as states_module
    from workshop.steps.states import State

    states = tuple(
        State(name, name, lambda lab: True, ())
        for name in ("nodes", "docker", "swarm", "firewall", "gluster", "registry")
    )
    monkeypatch.setattr(states_module, "STATES", states)
    monkeypatch.setattr(states_module, "apt_cache", lambda lab, progress: None)
    said: list[str] = []
    states_module.wait_for_state(object(), "registry", said.append)  # type: ignore[arg-type]
    waited = [line.split()[2].rstrip(":") for line in said if line.startswith("Waiting for")]
    assert waited == ["nodes", "gluster", "docker", "swarm", "firewall", "registry"]
    said.clear()
    states_module.wait_for_state(object(), "swarm", said.append)  # type: ignore[arg-type]
    assert [line.split()[2].rstrip(":") for line in said] == ["nodes", "docker", "swarm"]
