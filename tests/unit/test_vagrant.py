"""The Vagrant source around the ``vagrant`` command: lock retries, remembered endpoints.

``vagrant`` itself is replaced by answers from ``tests/data/vagrant``: real
recordings, and Vagrant's own messages for a locked machine (its locales/en.yml).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.fakes import FakeVagrantSource, ScriptedCommand
from workshop.errors import ProviderError
from workshop.lab import vagrant
from workshop.lab.node import SSHEndpoint
from workshop.lab.vagrant import LOCK_RETRY_DELAYS, VagrantSource
from workshop.settings import LabSettings

DATA = Path(__file__).resolve().parents[1] / "data" / "vagrant"
LOCKED = (DATA / "stderr-machine-locked-draft.txt").read_text()
ACTION_LOCKED = (DATA / "stderr-machine-action-locked-draft.txt").read_text()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(vagrant.time, "sleep", slept.append)
    return slept


@pytest.mark.parametrize("refusal", [LOCKED, ACTION_LOCKED], ids=["machine", "action"])
def test_a_locked_machine_is_waited_out(tmp_path, sleeps, refusal):
    source = FakeVagrantSource(tmp_path)
    source.execute = ScriptedCommand((1, "", refusal), (1, "", refusal), (0, "done\n", ""))
    lines: list[str] = []
    assert source.vagrant(["halt", "node-1"], progress=lines.append) == "done\n"
    assert source.execute.calls == [["halt", "node-1"]] * 3
    assert sleeps == list(LOCK_RETRY_DELAYS[:2])
    assert len(lines) == 2
    assert "locked by another Vagrant process" in lines[0]


def test_a_lock_that_stays_is_raised_after_the_last_try(tmp_path, sleeps):
    source = FakeVagrantSource(tmp_path)
    source.execute = ScriptedCommand((1, "", LOCKED))
    with pytest.raises(ProviderError, match="because it is locked"):
        source.vagrant(["up"])
    assert len(source.execute.calls) == len(LOCK_RETRY_DELAYS) + 1
    assert sleeps == list(LOCK_RETRY_DELAYS)


def test_other_failures_are_raised_at_once(tmp_path, sleeps):
    source = FakeVagrantSource(tmp_path)
    error = "1700000000,,error-exit,Vagrant::Errors::ProviderNotUsable,not usable here\n"
    source.execute = ScriptedCommand((1, error, ""))
    with pytest.raises(ProviderError, match="ProviderNotUsable: not usable here"):
        source.vagrant(["status", "--machine-readable"])
    assert len(source.execute.calls) == 1
    assert sleeps == []


def test_a_stopped_machine_keeps_its_last_endpoint_and_key_paths(tmp_path):
    (tmp_path / "Vagrantfile").touch()
    source = VagrantSource(tmp_path, LabSettings(name="wsunit", provider="virtualbox"))
    status = (DATA / "status-draft.txt").read_text()  # node-3 stopped
    node_1_stopped = status.replace("node-1,state,running", "node-1,state,stopped")
    quoted = (DATA / "ssh-config-quoted-draft.txt").read_text()  # keys in "/home/ada lovelace"
    node_2_only = quoted[quoted.index("Host node-2") :]
    source.execute = ScriptedCommand(
        (0, status, ""),
        (0, quoted, ""),
        (0, node_1_stopped, ""),
        (1, node_2_only, "The machine node-1 is not running"),
    )
    before = {node.name: node for node in source.discover()}
    after = {node.name: node for node in source.discover()}
    assert [call[0] for call in source.execute.calls] == ["status", "ssh-config"] * 2
    assert after["node-1"].state == "stopped"
    assert (
        after["node-1"].ssh
        == before["node-1"].ssh
        == SSHEndpoint(
            "127.0.0.1",
            2222,
            "vagrant",
            (
                "/home/ada lovelace/.vagrant.d/insecure_private_keys/vagrant.key.ed25519",
                "/home/ada lovelace/.vagrant.d/insecure_private_keys/vagrant.key.rsa",
            ),
            known_hosts=str(source.host_keys.path),
            host_key_alias="node-1",
        )
    )
    assert after["node-3"].ssh == SSHEndpoint(
        source.settings.address("node-3"),
        22,
        "vagrant",
        known_hosts=str(source.host_keys.path),
        host_key_alias="node-3",
    )


def test_another_labs_work_under_vagrant_up_is_worth_one_more_try() -> None:
    race = (DATA / "stderr-up-no-such-object.txt").read_text()
    assert vagrant._other_labs_work(race)
    # Vagrant lists every network, then inspects them all: one removed in between.
    gone = (DATA / "stderr-up-network-gone.txt").read_text()
    assert vagrant._other_labs_work(gone)
    # The cause is in the message too, above the pages of JSON that follow it.
    message = str(ProviderError(["vagrant", "up"], 1, gone))
    assert "network wsgone not found" in message and "lines omitted" in message
    # A new machine whose index entry another lab's Vagrant held (recorded in CI).
    index = (DATA / "stderr-up-failed-to-lock-new-machine.txt").read_text()
    assert vagrant._other_labs_work(index)
    # A lock, or any other refusal, is not that race.
    assert not vagrant._other_labs_work(LOCKED)
    assert not vagrant._other_labs_work("The provider 'docker' could not be found.")


class _Recorder:
    def record(self, *_: object, **__: object) -> None:
        pass


@pytest.mark.parametrize(("failures", "tries"), [(1, 2), (2, 3)])
def test_up_tries_again_when_docker_loses_a_network_under_vagrant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failures: int, tries: int
) -> None:
    gone = (DATA / "stderr-up-network-gone.txt").read_text()
    source = FakeVagrantSource(tmp_path, settings=LabSettings(provider="libvirt"))
    calls: list[str] = []

    def up(**_: object) -> None:
        calls.append("up")
        if calls.count("up") <= failures:
            raise ProviderError(["vagrant", "up"], 1, gone)

    monkeypatch.setattr(source, "up", up)
    monkeypatch.setattr(source, "remove", lambda *_: calls.append("remove"))
    monkeypatch.setattr(source, "_repair_addresses", lambda *_: None)
    monkeypatch.setattr(VagrantSource, "host_keys", property(lambda _: _Recorder()))
    source.create()
    assert calls.count("up") == tries and calls.count("remove") == failures


def test_up_gives_up_after_its_tries_and_on_any_other_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = (DATA / "stderr-up-network-gone.txt").read_text()
    other = "The provider 'docker' could not be found."
    for stderr, tries in ((gone, vagrant.UP_TRIES), (other, 1)):
        source = FakeVagrantSource(tmp_path, settings=LabSettings(provider="libvirt"))
        calls: list[str] = []

        def up(stderr: str = stderr, calls: list[str] = calls, **_: object) -> None:
            calls.append("up")
            raise ProviderError(["vagrant", "up"], 1, stderr)

        monkeypatch.setattr(source, "up", up)
        monkeypatch.setattr(source, "remove", lambda *_: None)
        with pytest.raises(ProviderError):
            source.create()
        assert calls.count("up") == tries


def test_start_tries_again_when_another_labs_network_goes_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    # Powering a node on runs `vagrant up --no-provision`, which inspects every network.
    gone = (DATA / "stderr-up-network-gone.txt").read_text()
    monkeypatch.setattr(VagrantSource, "host_keys", property(lambda _: _Recorder()))
    source = FakeVagrantSource(tmp_path, settings=LabSettings(provider="libvirt"))
    source.execute = ScriptedCommand((1, "", gone), (0, "", ""))
    source.start(["node-3"])
    assert source.execute.calls == [["up", "--provider=libvirt", "--no-provision", "node-3"]] * 2
    source.execute = ScriptedCommand((1, "", gone))
    with pytest.raises(ProviderError, match="not found"):
        source.start(["node-3"])
    assert len(source.execute.calls) == vagrant.UP_TRIES
    source.execute = ScriptedCommand((1, "", "The provider 'libvirt' could not be found."))
    with pytest.raises(ProviderError):
        source.start(["node-3"])
    assert len(source.execute.calls) == 1
