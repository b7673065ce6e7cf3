"""Chapter 02: Docker Engine on every node, enabled and running under systemd.

Two sources: Debian's own ``docker.io`` package (the default; it comes through the
lab's package cache, so it works offline) or ``docker-ce`` from Docker's apt
repository, for VMs that reach the internet. Nodes that already answer
``docker info`` are left alone; the others are installed in parallel.
"""

from __future__ import annotations

from collections.abc import Iterable

from workshop.errors import UsageError
from workshop.progress import Progress, quiet
from workshop.remote import RemoteLab
from workshop.steps.apt import apt_cache, apt_install, missing_packages
from workshop.steps.commands import sh, shell_line
from workshop.steps.fanout import check_nodes, run_checked
from workshop.steps.recorder import StepRecorder
from workshop.steps.report import StepResult

__all__ = ["DOCKER_SOURCES", "docker_versions", "install_docker"]

#: Where Docker comes from: Debian's package, or Docker's own repository.
DOCKER_SOURCES = ("debian", "docker-ce")
_PACKAGES = {
    "debian": ["docker.io"],
    "docker-ce": ["docker-ce", "docker-ce-cli", "containerd.io"],
}
#: Docker's apt repository and its signing key (docker-ce only).
DOCKER_CE_REPO = "https://download.docker.com/linux/debian"
DOCKER_CE_KEY = "/etc/apt/keyrings/docker.asc"
DOCKER_CE_LIST = "/etc/apt/sources.list.d/docker.list"
INSTALL_TIMEOUT = 900.0


def docker_versions(lab: RemoteLab, on: str | Iterable[str] = "all") -> dict[str, str]:
    """Node -> the version its Docker engine reports ("" when it does not answer)."""
    probe = shell_line(
        sh("docker", "info", "--format", "{{.ServerVersion}}"), "2>/dev/null", "||", "true"
    )
    return check_nodes(lab, probe, on)


def _login_user_in_group(lab: RemoteLab, names: list[str]) -> dict[str, bool]:
    """Node -> whether the SSH login user may use docker (root always may)."""
    probe = shell_line(
        '[ -z "${SUDO_USER:-}" ] || [ "$SUDO_USER" = root ] ||',
        'id -nG "$SUDO_USER" | tr " " "\\n" | grep -qx docker',
        "&&",
        sh("echo", "yes"),
        "||",
        sh("echo", "no"),
    )
    return {name: out == "yes" for name, out in check_nodes(lab, probe, names).items()}


def _add_docker_ce_repo(lab: RemoteLab, nodes: list[str]) -> None:
    """Docker's signing key and apt source on nodes (needs internet)."""
    list_line = (
        "deb [arch=$(dpkg --print-architecture) signed-by="
        + DOCKER_CE_KEY
        + "] "
        + DOCKER_CE_REPO
        + ' $(. /etc/os-release && echo "$VERSION_CODENAME") stable'
    )
    command = shell_line(
        sh("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "update"),
        "&&",
        sh(
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "-q",
            "-y",
            "install",
            "--no-install-recommends",
            "ca-certificates",
            "curl",
        ),
        "&&",
        sh("install", "-m", "0755", "-d", "/etc/apt/keyrings"),
        "&&",
        sh("curl", "-fsSL", "--max-time", "60", f"{DOCKER_CE_REPO}/gpg", "-o", DOCKER_CE_KEY),
        "&&",
        sh("chmod", "a+r", DOCKER_CE_KEY),
        "&&",
        sh("sh", "-c", f'echo "{list_line}" > "$1"', "write", DOCKER_CE_LIST),
    )
    run_checked(lab, command, nodes, timeout=INSTALL_TIMEOUT)


def _install(lab: RemoteLab, rec: StepRecorder, source: str, missing: list[str]) -> None:
    """Install, enable and verify Docker on the nodes where it does not answer."""
    rec.say(f"installing {source} Docker on {', '.join(missing)}")
    if source == "debian":
        apt_cache(lab, rec.progress)
    else:
        _add_docker_ce_repo(lab, missing)
    missing_now = missing_packages(lab, _PACKAGES[source], missing)
    need = [name for name, packages in missing_now.items() if packages]
    if need:
        apt_install(lab, _PACKAGES[source], need, timeout=INSTALL_TIMEOUT, progress=rec.say)
    run_checked(lab, sh("systemctl", "enable", "--now", "docker.service"), missing, timeout=120)
    after = docker_versions(lab, missing)
    for name in missing:
        if not after[name]:
            run_checked(lab, sh("docker", "info"), [name], timeout=60)
        rec.changed(name, f"installed Docker {after[name]} ({_PACKAGES[source][0]})")


def install_docker(
    lab: RemoteLab,
    *,
    source: str = "debian",
    on: str | Iterable[str] = "all",
    progress: Progress = quiet,
) -> StepResult:
    """Install Docker Engine where it does not answer yet, enable it, verify it.

    The real commands, as a person would type them on each node::

        sudo apt-get update && sudo apt-get install -y docker.io
        sudo systemctl enable --now docker
        sudo docker info

    Args:
        lab: The lab.
        source: ``"debian"`` (Debian's docker.io, default) or ``"docker-ce"``
            (Docker's repository; needs internet on the nodes).
        on: Which nodes ("all", "managers", "workers", a name or a list of names).
        progress: Called with a line of text now and then.

    Returns:
        Per node: installed (with the version) or already running.

    Raises:
        UsageError: An unknown source (nothing is changed).
        CommandFailed: apt or systemd failed on a node.
    """
    if source not in DOCKER_SOURCES:
        raise UsageError.choice("Docker source", source, DOCKER_SOURCES)
    names = [n.name for n in lab.select(on)]
    rec = StepRecorder("install_docker", progress)
    before = docker_versions(lab, names)
    missing = [name for name, version in before.items() if not version]
    if missing:
        _install(lab, rec, source, missing)
    # Lets the login user of `workshop ssh node-1` run docker without sudo.
    outside = [n for n, ok in _login_user_in_group(lab, names).items() if not ok]
    if outside:
        run_checked(lab, 'usermod -aG docker "$SUDO_USER"', outside, timeout=60)
        rec.changed(outside, "login user added to the docker group")
    for name, version in before.items():
        rec.unchanged(name, f"Docker {version} already running")
    return rec.result()
