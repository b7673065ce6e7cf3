"""The `workshop` command meets failures with one clean line naming the subcommand.

Each test runs the real command on a lab of its own: an inventory of one node on a
loopback port (nothing listening, or a real SSH server that refuses or never
answers), or a Vagrant project in a temporary folder with the Docker engine pointed
at a socket that does not exist. What needs a process of its own (Ctrl-C, a closed
pipe, a missing `ssh`) runs in a subprocess; the rest calls ``main`` in this one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.fakes import (
    LoopbackSSHServer,
    closed_port,
    record_host_keys,
    rsa_key,
    write_client_key,
)
from workshop import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def lab(tmp_path):
    """Settings of a lab that is nothing real: no inventory yet, no engine."""
    return {
        "WORKSHOP_HOME": str(tmp_path),
        "WORKSHOP_LAB": "edgesunit",
        "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
    }


def with_node(lab: dict[str, str], port: int) -> dict[str, str]:
    """The lab, with an inventory of one node at ``lab@127.0.0.1:port``.

    HOME is the lab's folder, whose ``.ssh/known_hosts`` records the node's host key.
    """
    folder = Path(lab["WORKSHOP_HOME"])
    (folder / ".ssh").mkdir(exist_ok=True)
    record_host_keys(folder / ".ssh" / "known_hosts", (f"[127.0.0.1]:{port}", rsa_key()))
    inventory = folder / "inventory.yml"
    inventory.write_text(
        "nodes:\n"
        f"  - {{name: node-1, host: 127.0.0.1, port: {port}, user: lab,"
        f" identity_file: {write_client_key(folder)}}}\n",
        encoding="utf-8",
    )
    return {**lab, "WORKSHOP_INVENTORY": str(inventory), "HOME": str(folder)}


def workshop(monkeypatch, capsys, lab: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run ``workshop ARGS`` in this process; return (exit code, stdout, stderr)."""
    for name in [n for n in os.environ if n.startswith("WORKSHOP_")]:
        monkeypatch.delenv(name)
    for name, value in lab.items():
        monkeypatch.setenv(name, value)
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def process(lab: dict[str, str], *args: str, **popen: object) -> subprocess.Popen[str]:
    """Start ``workshop ARGS`` in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSHOP_")}
    env.update(lab, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "workshop.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,  # type: ignore[call-overload]
    )


def test_an_unknown_node_names_the_subcommand_and_is_a_usage_error(monkeypatch, capsys, lab):
    lab = with_node(lab, closed_port())
    code, _, err = workshop(monkeypatch, capsys, lab, "run", "hostname", "--on", "node-9")
    assert code == 2
    assert err == "workshop run: unknown node 'node-9'; the lab's nodes are: node-1\n"


def test_status_reports_a_node_that_does_not_answer(monkeypatch, capsys, lab):
    code, out, _ = workshop(monkeypatch, capsys, with_node(lab, closed_port()), "status")
    assert code == 1
    assert "node-1: no SSH answer (ssh lab@127.0.0.1:" in out
    assert "0 of 1 nodes answer over SSH." in out


def test_a_refused_login_says_which_key_and_what_to_do(monkeypatch, capsys, lab, tmp_path):
    with LoopbackSSHServer(login=False) as server:
        code, out, _ = workshop(monkeypatch, capsys, with_node(lab, server.port), "status")
    assert code == 1
    line = next(x for x in out.splitlines() if x.startswith("node-1: "))
    assert line.startswith("node-1: refused the SSH login: ssh lab@127.0.0.1:")
    assert f"with key {tmp_path / 'id_rsa'}" in line and "authorized_keys" in line


def test_up_with_the_engine_down_says_how_to_start_it(monkeypatch, capsys, lab, tmp_path):
    (tmp_path / "Vagrantfile").write_text("# the lab's machines\n", encoding="utf-8")
    code, _, err = workshop(monkeypatch, capsys, {**lab, "WORKSHOP_PROVIDER": "docker"}, "up")
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith("workshop up: connecting to the Docker engine: the Docker engine at ")
    assert "no-engine.sock does not answer" in first
    assert "`scripts/engine.sh start`" in err


def test_ssh_without_an_ssh_client_says_what_to_install(lab, tmp_path):
    empty = tmp_path / "empty-path"
    empty.mkdir()
    proc = process({**with_node(lab, closed_port()), "PATH": str(empty)}, "ssh", "node-1")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.startswith("workshop ssh: `ssh -p ")
    assert "Install an OpenSSH client" in err and "Traceback" not in err


def test_ctrl_c_ends_a_run_with_130_and_one_line(lab):
    with LoopbackSSHServer(on_exec="hang") as server:
        proc = process(with_node(lab, server.port), "run", "sleep 600", "--on", "node-1")
        assert server.executed.wait(60), "the command never reached the node"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err == "workshop run: interrupted\n"


def test_a_closed_output_pipe_ends_quietly(lab):
    proc = process(with_node(lab, closed_port()), "status")
    assert proc.stdout is not None
    proc.stdout.close()  # as `workshop status | head -0` would
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141
    assert err == ""
