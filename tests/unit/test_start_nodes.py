"""`require("nodes")` powers on what is off now, not what was off when the lab last looked."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.unit.fakes import RECORDED_NODES, FakeRemote, FakeVagrantSource
from workshop import Lab
from workshop.progress import Progress, quiet
from workshop.steps.states import start_nodes


def test_a_node_powered_off_by_another_process_is_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on = list(RECORDED_NODES)
    off = [replace(n, state="stopped") if n.name == "node-2" else n for n in on]
    source = FakeVagrantSource(tmp_path, nodes=off)  # what the machines are now
    started: list[str] = []

    def start(names: list[str], progress: Progress = quiet) -> None:
        started.extend(names)
        source.nodes = on

    monkeypatch.setattr(source, "start", start)
    lab = Lab(source, on)  # read while every node still ran
    lab.remote = FakeRemote([])  # type: ignore[assignment]
    result = start_nodes(lab, quiet)
    assert started == ["node-2"]
    assert result.changed_nodes == ["node-2"]
    assert all(n.running for n in lab.nodes)
