"""Steps recover from their own interrupted runs, and a join token stays out of ``ps``.

The module brings the test lab (conftest: ``wstest`` unless WORKSHOP_LAB says
otherwise) to ``swarm`` and works on its last worker. Each test leaves that node
as it found it: in the swarm, Ready, dpkg in order. The lab stays up afterwards
for the tests that follow.
"""

from __future__ import annotations

import shlex
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from workshop import Lab, ProviderError
from workshop.steps.apt import DPKG_REPAIR, install_packages
from workshop.steps.swarm import join_token, swarm_healthy, swarm_join, swarm_wait

pytestmark = [pytest.mark.lab, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
#: Every process list of the node is appended here, every 50 ms, while a test watches.
PS_LOG = "/run/workshop-recovery-ps.log"
PS_UNIT = "workshop-recovery-ps"
#: A small package from the lab's apt cache, not on the node image.
PACKAGE = "tree"
#: A dpkg status logger (dpkg runs it with `sh -c`, so $PPID is dpkg) that kills dpkg
#: with SIGKILL once it has unpacked a package: what a power cut in the middle of
#: `apt-get install` leaves behind (the package unpacked, dpkg's journal unfinished).
KILL_DPKG = "while read -r line; do case $line in *': unpacked') kill -9 $PPID;; esac; done"


@pytest.fixture(scope="module")
def lab(lab_settings_env: str) -> Lab:
    lab = Lab.from_vagrant(ROOT, discover=False)
    try:
        lab.up()
    except ProviderError as exc:  # Vagrant's parallel `up` tripping over its own lock
        if "locked" not in str(exc):
            raise
        time.sleep(5)
        lab.up()
    lab.require("swarm")
    return lab


@pytest.fixture
def node(lab: Lab) -> Iterator[str]:
    """The lab's last worker; back in the swarm, Ready, after the test."""
    name = lab.workers[-1].name
    yield name
    swarm_join(lab)
    swarm_wait(lab, timeout=120)


def on(lab: Lab, node: str, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
    """Run a command (an argument list) as root on ``node``; its stdout, checked."""
    results = lab.run(shlex.join(args), on=node, sudo=True, timeout=timeout, stdin=stdin)
    return results.raise_for_failures().stdout[node]


def answer(lab: Lab, node: str, *args: str, timeout: float = 300) -> tuple[int | None, str]:
    """Run a command as root on ``node``: its exit code and stdout + stderr."""
    result = lab.run(shlex.join(args), on=node, sudo=True, timeout=timeout)[0]
    return result.rc, result.stdout + result.stderr


@contextmanager
def process_lists(lab: Lab, node: str) -> Iterator[None]:
    """Append ``ps -eww -o args`` to :data:`PS_LOG` on ``node`` every 50 ms meanwhile."""
    loop = f"while :; do ps -eww -o args >> {PS_LOG}; sleep 0.05; done"
    on(lab, node, "rm", "-f", PS_LOG)
    on(lab, node, "systemd-run", f"--unit={PS_UNIT}", "sh", "-c", loop)
    try:
        time.sleep(0.5)
        yield
    finally:
        answer(lab, node, "systemctl", "stop", PS_UNIT)
        answer(lab, node, "systemctl", "reset-failed", PS_UNIT)
        answer(lab, node, "rm", "-f", PS_LOG)


def seen(lab: Lab, node: str) -> str:
    """What the process lists showed since the last call (then forgets it)."""
    time.sleep(0.3)  # a last sample or two
    text = on(lab, node, "sh", "-c", f"cat {PS_LOG} && : > {PS_LOG}")
    assert text.strip(), "the process lists were not sampled"
    return text


def test_the_join_token_never_shows_in_the_node_s_process_list(lab: Lab, node: str) -> None:
    manager = lab.managers[0]
    token = join_token(lab, "worker")
    with process_lists(lab, node):
        # The watcher sees a process that lives 0.3 s (a join lives longer).
        marker = f"workshop-marker-{uuid.uuid4().hex}"
        on(lab, node, "sh", "-c", "sleep 0.3", marker)
        assert marker in seen(lab, node)

        # The command an operator types would have shown it (the token on stdin, but
        # in docker's arguments).
        on(lab, node, "docker", "swarm", "leave", "--force")
        old = 'read -r token && exec docker swarm join --token "$token" ' + shlex.join(
            ["--advertise-addr", lab.node(node).address, f"{manager.address}:2377"]
        )
        lab.run(
            old, on=node, sudo=True, timeout=120, stdin=token.secret + "\n"
        ).raise_for_failures()
        assert token.secret in seen(lab, node)

        # The step: the node leaves, then joins through its Docker API.
        on(lab, node, "docker", "swarm", "leave", "--force")
        lines: list[str] = []
        result = swarm_join(lab, progress=lines.append)
        during = seen(lab, node)
    assert result[node].changed and "joined as a worker" in result[node].detail
    assert token.secret not in during and token.secret.split("-")[-1] not in during
    assert "SWMTKN" not in during
    assert "curl --unix-socket /var/run/docker.sock" in during  # the join was watched
    shown = "\n".join(lines)
    assert f"{node}: docker swarm join --token SWMTKN-1-" in shown
    assert token.secret not in shown
    assert swarm_healthy(lab)


def node_id(lab: Lab, node: str) -> str:
    return on(lab, node, "docker", "info", "--format", "{{.Swarm.NodeID}}").strip()


def test_a_node_the_swarm_forgot_leaves_and_joins_again(lab: Lab, node: str) -> None:
    # Removed while it runs: it still says it is active, under an ID nobody lists.
    # (A node removed while its engine was down comes back `pending`: the unit tests
    # cover that state, recorded; making it here costs the engine's 20 s start.)
    manager = lab.managers[0].name
    on(lab, manager, "docker", "node", "rm", "--force", node_id(lab, node))
    state = on(lab, node, "docker", "info", "--format", "{{.Swarm.LocalNodeState}}")
    assert state.strip() == "active"
    result = swarm_join(lab)
    assert "the swarm's managers do not list it" in result[node].detail
    swarm_wait(lab, timeout=120)
    listed = on(lab, manager, "docker", "node", "ls", "--format", "{{.Hostname}} {{.Status}}")
    assert sorted(listed.splitlines()) == sorted(f"{n.name} Ready" for n in lab.nodes)


def dpkg_state(lab: Lab, node: str) -> tuple[list[str], str]:
    """dpkg's journal entries (apt refuses while one is there) and ``dpkg --audit``."""
    journal = on(lab, node, "ls", "-A", "/var/lib/dpkg/updates").split()
    return [name for name in journal if name.isdigit()], on(lab, node, "dpkg", "--audit")


def test_an_install_cut_short_is_finished_by_the_next_provisioning(lab: Lab, node: str) -> None:
    answer(lab, node, "apt-get", "-y", "purge", PACKAGE)
    try:
        killed = ["-o", "Dpkg::Use-Pty=0", "-o", f"DPkg::Options::=--status-logger={KILL_DPKG}"]
        rc, said = answer(lab, node, "apt-get", "-q", "-y", *killed, "install", PACKAGE)
        assert rc == 100, said
        journal, audit = dpkg_state(lab, node)
        assert journal and PACKAGE in audit
        rc, said = answer(lab, node, "apt-get", "-q", "-y", "install", PACKAGE)
        assert rc == 100 and "dpkg was interrupted" in said  # what a user met

        lines: list[str] = []
        result = install_packages(lab, [PACKAGE], progress=lines.append)

        assert result[node].changed
        assert any(f"dpkg was interrupted on {node}" in line for line in lines)
        assert dpkg_state(lab, node) == ([], "")
        status = on(lab, node, "dpkg-query", "-W", "-f=${Status}", PACKAGE)
        assert status == "install ok installed"
        assert not install_packages(lab, [PACKAGE]).changed
    finally:
        answer(lab, node, "sh", "-c", DPKG_REPAIR)
        lab.run(shlex.join(["apt-get", "-y", "purge", PACKAGE]), sudo=True, timeout=300)
