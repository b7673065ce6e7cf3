"""Ctrl-C stops the commands a run started; files written as root are all or nothing.

The shell lines the kit sends (the marked command, the stop, the root upload) run
here, for real, under this machine's ``sh``; the interrupted run goes to a real SSH
server on loopback, which records the stop it is sent.
"""

from __future__ import annotations

import _thread
import os
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.unit.fakes import LoopbackSSHServer, trusted_node, write_client_key
from workshop.errors import UsageError
from workshop.remote.interrupt import marked_line, new_mark, stop_line
from workshop.remote.ssh import Remote
from workshop.remote.upload import install_script


def start_marked(command: str, mark: str) -> subprocess.Popen[bytes]:
    """Start a marked command here in a session of its own, as sshd would."""
    argv = shlex.split(marked_line(command, mark, sudo=False, user=None))
    return subprocess.Popen(argv, start_new_session=True)


def running(pattern: str) -> bool:
    """Whether a process here matches ``pattern`` (waits up to 10 s for it to start)."""
    for _ in range(100):
        if subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0:
            return True
        time.sleep(0.1)
    return False


def test_a_marked_command_keeps_its_mark_and_its_exit_code():
    mark = new_mark()
    line = marked_line("exit 3", mark, sudo=False, user="lab")
    assert subprocess.run(shlex.split(line)).returncode == 3
    assert shlex.split(marked_line("id", mark, sudo=True, user="lab"))[:4] == [
        "sudo",
        "-n",
        "--",
        "sh",
    ]
    assert shlex.split(marked_line("id", mark, sudo=True, user="root"))[0] == "sh"
    sleeper = start_marked("sleep 300", mark)
    try:
        assert running("^sleep 300$")
        found = subprocess.run(["pgrep", "-f", mark], capture_output=True, text=True)
        assert found.stdout.split() == [str(sleeper.pid)]  # sh did not give way to sleep
    finally:
        os.killpg(sleeper.pid, signal.SIGKILL)
        sleeper.wait()


def test_the_stop_ends_the_marked_session_only():
    mark, other = new_mark(), new_mark()
    target, bystander = start_marked("sleep 300; sleep 301", mark), start_marked("sleep 302", other)
    try:
        assert running("^sleep 300$") and running("^sleep 302$")
        stop = subprocess.run(["sh", "-c", stop_line(mark)], timeout=30)
        assert stop.returncode == 0
        assert target.wait(timeout=10) == -signal.SIGTERM
        assert bystander.poll() is None
    finally:
        for proc in (target, bystander):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_an_interrupted_run_sends_the_stop_for_its_own_mark(tmp_path):
    key_file = write_client_key(tmp_path)
    with LoopbackSSHServer(on_exec="hang") as server:
        node = trusted_node(server.port, key_file, tmp_path)
        remote = Remote(connect_timeout=5)
        threading.Thread(
            target=lambda: server.executed.wait(30) and _thread.interrupt_main(), daemon=True
        ).start()
        with pytest.raises(KeyboardInterrupt):
            remote.run([node], "apt-get install -y docker.io", sudo=True)
    started, stop = (shlex.split(line) for line in server.commands)
    mark = started[-1]
    assert mark.startswith("workshop-run-") and started[:4] == ["sudo", "-n", "--", "sh"]
    assert stop[:5] == ["sudo", "-n", "--", "sh", "-c"] and stop[6] == "workshop-stop"
    assert stop[5].startswith(stop_line(mark))


def test_a_file_written_as_root_appears_whole_with_its_mode(tmp_path):
    target = tmp_path / "etc" / "app.conf"
    script = install_script(str(target), "0640")
    done = subprocess.run(["sh", "-c", script], input=b"a: 1\n", capture_output=True)
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == b"a: 1\n"
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert sorted(p.name for p in target.parent.iterdir()) == ["app.conf"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "keep").write_text("old")
    script = install_script(str(tmp_path / "adir"), "0644")
    done = subprocess.run(["sh", "-c", script], input=b"new\n", capture_output=True)
    assert done.returncode != 0 and b"adir" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]
    assert [p.name for p in (tmp_path / "adir").iterdir()] == ["keep"]


def test_a_mode_that_is_not_octal_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="give an octal mode such as 0644"):
        install_script(str(tmp_path / "x"), "u+rwx")
    assert Path(tmp_path).exists()
