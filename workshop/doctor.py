"""`workshop doctor`: is this host ready for the lab, and what to do if not.

Each check returns a :class:`Check` with a status (ok / warn / fail), what was
found and, when it is not ok, the fix. Nothing here changes the host.
"""

from __future__ import annotations

import html
import os
import platform
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from workshop.settings import LabSettings

__all__ = ["Check", "DoctorReport", "kernel_feature", "run_doctor"]

Status = Literal["ok", "warn", "fail"]
_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


@dataclass(frozen=True)
class Check:
    """One finding of the doctor."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"[{_MARK[self.status]}] {self.name}: {self.detail}"
        return text + (f"\n       fix: {self.fix}" if self.fix and self.status != "ok" else "")


@dataclass(frozen=True)
class DoctorReport:
    """Every check, with text and HTML forms."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """No check failed (warnings allowed)."""
        return all(c.status != "fail" for c in self.checks)

    def get(self, name: str) -> Check:
        """The check called `name`."""
        return next(c for c in self.checks if c.name == name)

    def __str__(self) -> str:
        verdict = "ready" if self.ok else "NOT ready: fix the FAIL lines"
        return "\n".join([*(str(c) for c in self.checks), f"This host is {verdict}."])

    def _repr_html_(self) -> str:
        colour = {"ok": "#2e7d32", "warn": "#ef6c00", "fail": "#c62828"}
        rows = "".join(
            f"<tr><td style='color:{colour[c.status]}'><b>{c.status}</b></td>"
            f"<td>{html.escape(c.name)}</td><td>{html.escape(c.detail)}</td>"
            f"<td>{html.escape(c.fix if c.status != 'ok' else '')}</td></tr>"
            for c in self.checks
        )
        return (
            "<table><thead><tr><th></th><th>check</th><th>found</th><th>fix</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )


def _command_output(
    cmd: list[str], timeout: float = 15, env: dict[str, str] | None = None
) -> tuple[int, str]:
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return proc.returncode, (proc.stdout or proc.stderr).strip()


def kernel_feature(
    module: str, proc_path: str | None = None
) -> Literal["loaded", "loadable", "missing"]:
    """Whether the running kernel has a feature: loaded, available as a module, or missing."""
    if Path("/sys/module", module).exists() or (proc_path and Path(proc_path).exists()):
        return "loaded"
    release = platform.release()
    for index in ("modules.builtin", "modules.dep"):
        path = Path("/lib/modules", release, index)
        if path.is_file() and f"/{module}.ko" in path.read_text(errors="replace"):
            return "loadable"
    return "missing"


def _platform() -> Check:
    system = platform.system()
    if system == "Linux":
        return Check("host", "ok", f"Linux {platform.release()} ({platform.machine()})")
    fix = (
        "Install Vagrant and VirtualBox (or Docker Desktop for the container lab), then run "
        "`workshop up` from the workshop folder."
    )
    return Check("host", "warn", f"{system}: the lab runs as VirtualBox VMs here", fix)


def _engine() -> Check:
    if shutil.which("docker") is None:
        return Check(
            "docker engine", "fail", "no docker command", "`make setup` installs docker.io"
        )
    rc, out = _command_output(["docker", "version", "--format", "{{.Server.Version}}"])
    if rc != 0:
        return Check(
            "docker engine", "fail", "the engine does not answer", "`scripts/engine.sh start`"
        )
    return Check("docker engine", "ok", f"Docker Engine {out}")


def _vagrant() -> Check:
    if shutil.which("vagrant") is None:
        return Check("vagrant", "fail", "not installed", "`make setup` installs vagrant (apt)")
    env = {**os.environ, "VAGRANT_CHECKPOINT_DISABLE": "1"}
    rc, out = _command_output(["vagrant", "--version"], timeout=60, env=env)
    return Check("vagrant", "ok", out if rc == 0 else "vagrant (version unknown)")


def _provider(settings: LabSettings) -> Check:
    from workshop.lab.vagrant import resolve_provider

    chosen = resolve_provider(settings)
    how = "chosen automatically" if settings.provider == "auto" else "set in the settings"
    detail = f"{chosen} ({how})"
    if chosen == "docker":
        cgroup = "v2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "v1"
        flags = settings.node_flags
        if flags == "auto":
            flags = "privileged" if cgroup == "v2" else "restricted"
        detail += f"; cgroup {cgroup}, node flags {flags}"
    return Check("provider", "ok", detail)


def _node_image() -> Check:
    import docker.errors

    from workshop.errors import EngineError
    from workshop.images import engine_client, engine_errors
    from workshop.images.build import (
        BASE_IMAGE,
        IMAGES_DIR,
        INPUTS_LABEL,
        NODE_IMAGE,
        image_inputs_digest,
    )

    try:
        client = engine_client(timeout=15)
        with engine_errors("reading the node image"):
            try:
                base = client.images.get(BASE_IMAGE).id
                image = client.images.get(NODE_IMAGE)
            except docker.errors.ImageNotFound:
                return Check(
                    "node image",
                    "warn",
                    "not built yet",
                    "`workshop up` builds it (about 2 minutes)",
                )
    except EngineError as exc:
        return Check("node image", "warn", f"cannot tell: {exc.reason}", exc.hint)
    wanted = image_inputs_digest(IMAGES_DIR / "node", base)
    if (image.labels or {}).get(INPUTS_LABEL) != wanted:
        return Check("node image", "warn", "out of date", "`workshop up` rebuilds it")
    return Check("node image", "ok", f"{NODE_IMAGE} up to date")


def _kernel(module: str, purpose: str, fallback: str, proc_path: str | None = None) -> Check:
    state = kernel_feature(module, proc_path)
    if state != "missing":
        return Check(f"kernel: {module}", "ok", f"{state} ({purpose})")
    return Check(f"kernel: {module}", "warn", f"missing: {purpose} will not work", fallback)


def _fuse() -> Check:
    if Path("/dev/fuse").exists():
        return Check("kernel: fuse", "ok", "/dev/fuse present (GlusterFS mounts)")
    return Check(
        "kernel: fuse",
        "fail",
        "no /dev/fuse: GlusterFS volumes cannot be mounted",
        "`modprobe fuse`",
    )


def _disk(project: Path) -> Check:
    root = Path("/var/lib/docker") if Path("/var/lib/docker").exists() else project
    try:
        free_gb = shutil.disk_usage(root).free / 1e9
    except OSError as exc:
        return Check("free disk", "warn", str(exc))
    detail = f"{free_gb:.0f} GB free under {root}"
    if free_gb < 5:
        return Check("free disk", "fail", detail, "free at least 10 GB (`docker system prune`)")
    if free_gb < 10:
        return Check("free disk", "warn", detail, "10 GB or more is comfortable")
    return Check("free disk", "ok", detail)


#: Bytes of snapshots above which the doctor points at what frees them.
SNAPSHOTS_WARN_BYTES = 20 * 10**9


def _snapshots() -> Check:
    """The disk the lab snapshots take (`workshop snapshot`), every lab's together."""
    from workshop.errors import EngineError
    from workshop.images import engine_client, engine_errors
    from workshop.lab.snapshot_store import list_snapshots

    try:
        client = engine_client(timeout=15)
        with engine_errors("listing the lab snapshots"):
            found = list_snapshots(client)
    except EngineError as exc:
        return Check("snapshots", "warn", f"cannot tell: {exc.reason}", exc.hint)
    if not found:
        return Check("snapshots", "ok", "none saved")
    size = sum(snap.size for snap in found)
    labs = sorted({snap.lab for snap in found})
    detail = f"{len(found)} saved ({'lab' if len(labs) == 1 else 'labs'} {', '.join(labs)}): "
    detail += f"{size / 1e9:.1f} GB on disk (`workshop snapshot ls` lists them)"
    if size < SNAPSHOTS_WARN_BYTES:
        return Check("snapshots", "ok", detail)
    fix = "`workshop snapshot rm NAME` (or `--all`) frees it; `workshop down --snapshots` too"
    return Check("snapshots", "warn", detail, fix)


def run_doctor(project: Path, settings: LabSettings) -> DoctorReport:
    """Run every check for this host and lab settings."""
    checks: list[Callable[[], Check]] = [
        _platform,
        _engine,
        _vagrant,
        lambda: _provider(settings),
        _node_image,
        lambda: _kernel(
            "ip_vs",
            "the routing mesh and service VIPs",
            "the lab publishes ports in host mode behind a proxy instead (chapter 08)",
            "/proc/net/ip_vs",
        ),
        lambda: _kernel("vxlan", "overlay networks", "`modprobe vxlan`; overlay networks need it"),
        _fuse,
        lambda: _disk(project),
        _snapshots,
    ]
    return DoctorReport(tuple(check() for check in checks))
