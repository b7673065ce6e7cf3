"""Whose a lab is, and Ctrl-C during `workshop up`, on a one-node lab of their own.

Two project folders (a copy of the Vagrantfile each; the kit runs from this
checkout) use the same lab name, `wsowner` (subnet 192.168.69, used nowhere else):
the second folder's `up` must not remove the first folder's lab, `up --replace`
must, and Ctrl-C during `up` must stop Vagrant and every process it started within
2 s, leaving a lab the next `up` brings up. The tests run in file order.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from workshop.lab.runtime import PROJECT_LABEL, lab_objects, remove_lab_objects

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB = "wsowner"
SUBNET = "192.168.69"
NODE = f"{LAB}-node-1"
#: Seconds `workshop up` may take to return after SIGINT (the issue's figure).
CTRL_C_LIMIT = 2.0


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """Two project folders; whatever of lab `wsowner` exists is removed before and after."""
    pair = []
    for name in ("first", "second"):
        folder = tmp_path_factory.mktemp(f"owner-{name}").resolve()
        shutil.copy(ROOT / "Vagrantfile", folder / "Vagrantfile")
        pair.append(folder)
    remove_lab_objects(LAB)  # a run that was killed may have left it
    yield pair[0], pair[1]
    remove_lab_objects(LAB)


def workshop(
    folder: Path, *args: str, popen: bool = False
) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    """Run the `workshop` command of this checkout with `folder` as its project folder."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("WORKSHOP_")}
    env.update(
        WORKSHOP_HOME=str(folder),
        WORKSHOP_LAB=LAB,
        WORKSHOP_SUBNET=SUBNET,
        WORKSHOP_NODES="1",
        WORKSHOP_MANAGERS="1",
        PYTHONPATH=str(ROOT),
    )
    cmd = [sys.executable, "-m", "workshop.cli", *args]
    if popen:
        return subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)


def node_container() -> Container:
    client = docker.from_env()
    try:
        return client.containers.get(NODE)
    finally:
        client.close()


def vagrant_processes(folder: Path) -> dict[int, str]:
    """Processes (pid -> command line) of Vagrant runs in `folder`: found by their environment."""
    marker = f"VAGRANT_DOTFILE_PATH={folder}/".encode()
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile, or not ours
        if marker in environ and cmdline:
            found[int(pid)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


def test_up_in_a_second_folder_is_refused_and_removes_nothing(
    folders: tuple[Path, Path],
) -> None:
    first, second = folders
    up = workshop(first, "up")
    assert up.returncode == 0, up.stderr
    before = node_container()
    volumes = lab_objects(LAB).volumes

    refused = workshop(second, "up")

    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("workshop up: "), refused.stderr
    assert "Traceback" not in refused.stderr
    assert str(first) in refused.stderr and "Nothing was removed" in refused.stderr
    assert "WORKSHOP_LAB" in refused.stderr and "--replace" in refused.stderr
    after = node_container()
    assert after.id == before.id and after.status == "running"
    assert lab_objects(LAB).volumes == volumes
    assert after.labels[PROJECT_LABEL] == str(first)


def test_up_replace_takes_the_lab_over(folders: tuple[Path, Path]) -> None:
    first, second = folders
    old = node_container().id
    up = workshop(second, "up", "--replace")
    assert up.returncode == 0, up.stderr
    new = node_container()
    assert new.id != old and new.status == "running"
    assert new.labels[PROJECT_LABEL] == str(second)
    # The first folder's `up` is now the one refused, naming the second folder.
    refused = workshop(first, "up")
    assert refused.returncode == 2 and str(second) in refused.stderr, refused.stderr
    assert node_container().id == new.id


def test_ctrl_c_during_up_stops_vagrant_within_2_s(folders: tuple[Path, Path]) -> None:
    _first, second = folders
    remove_lab_objects(LAB)  # the node is gone behind Vagrant's back: `up` has work to do
    proc = workshop(second, "up", "--verbose", popen=True)
    assert isinstance(proc, subprocess.Popen) and proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("==> node-1"):
            break  # Vagrant is at work on the machine
    time.sleep(1.0)
    running = vagrant_processes(second)
    assert running, "no Vagrant process of the run was found before Ctrl-C"

    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        rc = proc.wait(timeout=30)
    finally:
        proc.kill()
    elapsed = time.monotonic() - started
    rest = proc.stderr.read()
    print(f"Ctrl-C during `workshop up`: returned in {elapsed:.2f} s (exit {rc})")

    assert rc == 130, rest
    assert "Traceback" not in rest and "workshop up: interrupted" in rest, rest
    assert elapsed < CTRL_C_LIMIT, f"returned {elapsed:.2f} s after SIGINT"
    assert vagrant_processes(second) == {}, f"still running after Ctrl-C (were: {running})"

    again = workshop(second, "up")
    assert again.returncode == 0, again.stderr
    node = node_container()
    assert node.status == "running" and node.labels[PROJECT_LABEL] == str(second)
