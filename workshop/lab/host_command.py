"""Running a command on this machine (``vagrant``) so that nothing of it outlives the kit.

The command runs in a session, so a process group, of its own: Ctrl-C in a terminal
reaches the kit alone, which then stops the whole group, the command and every
process it started (SIGTERM, then SIGKILL after :data:`STOP_GRACE` seconds). A
timeout stops the group the same way. Its output is read line by line as it comes.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path

from workshop.errors import ProviderError
from workshop.progress import Progress, quiet

__all__ = ["STOP_GRACE", "run_command", "stop_process_group"]

#: Seconds a command has to stop on SIGTERM (Ctrl-C, timeout) before its group is killed.
STOP_GRACE = 0.5


def run_command(
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    progress: Progress = quiet,
    hint: str = "",
) -> tuple[int, str, str]:
    """Run `cmd`, each stdout line to `progress`; return (exit code, stdout, stderr).

    Args:
        cmd: The command and its arguments.
        cwd: The folder it runs in.
        env: Its whole environment.
        timeout: Seconds before its process group is stopped.
        progress: Where each line of its stdout goes.
        hint: What to do when the command is not installed.

    Raises:
        ProviderError: The command is not installed, or took over `timeout` seconds.
        KeyboardInterrupt: Ctrl-C, once the command's process group is stopped.
    """
    proc = _start(cmd, cwd, env, hint)
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        stop_process_group(proc)

    timer = threading.Timer(timeout, kill)
    timer.start()
    err_lines: list[str] = []
    reader = threading.Thread(target=lambda: err_lines.extend(proc.stderr or []), daemon=True)
    reader.start()
    out_lines: list[str] = []
    try:
        for line in proc.stdout or []:
            out_lines.append(line)
            progress(line.rstrip())
        rc = proc.wait()
    except BaseException:  # Ctrl-C above all: nothing the command started outlives the kit
        stop_process_group(proc)
        reader.join(timeout=STOP_GRACE)
        raise
    finally:
        timer.cancel()
    reader.join(timeout=5)
    stdout, stderr = "".join(out_lines), "".join(err_lines)
    if killed.is_set():
        raise ProviderError(
            list(cmd), None, stderr, hint=f"`{shlex.join(cmd)}` took over {timeout:g} s."
        )
    return rc, stdout, stderr


def _start(
    cmd: Sequence[str], cwd: Path, env: Mapping[str, str], hint: str
) -> subprocess.Popen[str]:
    """Start `cmd` in a session of its own, its output on pipes."""
    try:
        return subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise ProviderError(list(cmd), None, str(exc), hint=hint or None) from exc


def stop_process_group(proc: subprocess.Popen[str]) -> None:
    """Stop a process started in a session of its own, and every process of its group.

    SIGTERM to the group, SIGKILL after :data:`STOP_GRACE` seconds to what is left
    (children of a process that stopped already included). Returns within about
    twice :data:`STOP_GRACE`.
    """
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_GRACE)
    _signal_group(proc, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_GRACE)


def _signal_group(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    killpg = getattr(os, "killpg", None)
    try:
        if killpg is not None:
            killpg(proc.pid, sig)
        elif proc.poll() is None:
            proc.kill()  # no process groups here (Windows): the process alone
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already
