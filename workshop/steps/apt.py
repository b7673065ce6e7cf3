"""Debian packages on the nodes, downloaded once per lab through a shared cache.

For node containers (Vagrant's docker provider) the lab gets an apt-cacher-ng
container of its own, on the lab network at ``<subnet>.250``, labelled with the lab
so that ``workshop down`` removes it. Every node's apt goes through it
(``Acquire::http::Proxy``): the first node to ask for a package fetches it from the
mirror named in the node's own sources.list, the others get it from the cache.
VMs and real hosts keep their own apt setup.

A node that lost power (or whose dpkg was killed) in the middle of an install
keeps dpkg's journal of the unfinished run, and apt then refuses every install
("dpkg was interrupted, you must manually run 'dpkg --configure -a'"). Before it
installs, :func:`apt_install` reads dpkg's own state on each node and finishes
such a run first (``dpkg --configure -a``, then ``apt-get -f install``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import docker
import docker.errors
from docker.models.networks import Network

from workshop.errors import ProviderError
from workshop.images import build_image, engine_client, engine_errors, ensure_base
from workshop.lab import Results
from workshop.lab.runtime import LAB_LABEL
from workshop.progress import Progress, quiet
from workshop.remote import RemoteLab
from workshop.settings import LabSettings
from workshop.steps.commands import sh, shell_line
from workshop.steps.fanout import check_nodes, run_checked, write_file
from workshop.steps.recorder import StepRecorder, headlines
from workshop.steps.report import StepResult

__all__ = [
    "CACHE_IMAGE",
    "PROXY_FILE",
    "apt_cache",
    "apt_install",
    "cache_address",
    "dpkg_interrupted",
    "install_packages",
    "missing_packages",
    "repair_dpkg",
]

CACHE_IMAGE = "workshop/apt-cache:latest"
CACHE_PORT = 3142
#: Last octet of the cache's address on the lab network.
CACHE_HOST = 250
PROXY_FILE = "/etc/apt/apt.conf.d/01workshop-proxy"
#: Seconds an `apt-get update && apt-get install` may take on a node.
INSTALL_TIMEOUT = 900.0
#: dpkg's journal: entries named by a number stay there while a run is unfinished
#: (apt checks the same folder before it says "dpkg was interrupted").
DPKG_UPDATES = "/var/lib/dpkg/updates"
#: Separates the journal's listing from ``dpkg --audit`` in :data:`DPKG_STATE`.
AUDIT_MARK = "--- dpkg --audit ---"
#: What dpkg says of its own state: its journal, then the packages it left half-done.
DPKG_STATE = shell_line(
    sh("ls", "-A", DPKG_UPDATES),
    "2>/dev/null",
    ";",
    sh("echo", AUDIT_MARK),
    ";",
    sh("dpkg", "--audit"),
    "2>/dev/null",
    "||",
    "true",
)
_APT_ENV = ("env", "DEBIAN_FRONTEND=noninteractive")
#: Keep the configuration files in place, never ask (nobody answers on a lab node).
_KEEP_CONFFILES = ("-o", "DPkg::Options::=--force-confdef", "-o", "DPkg::Options::=--force-confold")
#: Finish dpkg's interrupted run, then let apt fetch and unpack what it left half-done.
DPKG_REPAIR = shell_line(
    sh(*_APT_ENV, "dpkg", "--force-confdef", "--force-confold", "--configure", "-a"),
    "&&",
    sh(
        *_APT_ENV, "apt-get", "-q", "-y", "-o", "Dpkg::Use-Pty=0", *_KEEP_CONFFILES, "-f", "install"
    ),
)


def cache_address(settings: LabSettings) -> str:
    """The cache's address on the lab network, e.g. ``192.168.56.250``."""
    return f"{settings.subnet}.{CACHE_HOST}"


def _uses_node_containers(lab: RemoteLab) -> LabSettings | None:
    settings = lab.settings
    if settings is None or lab.source.provider != "docker":
        return None
    return settings


def _cache_network(client: docker.DockerClient, settings: LabSettings) -> Network:
    """The lab's own network on this machine's engine."""
    networks = client.networks.list(filters={"label": f"{LAB_LABEL}={settings.name}"})
    network = next((n for n in networks if settings.network in str(n.attrs.get("IPAM"))), None)
    if network is None:
        raise ProviderError(
            "docker network ls",
            None,
            f"no network {settings.network} of lab {settings.name!r}",
            hint="Start the lab first: `workshop up`.",
        )
    return network


def _create_cache_container(client: docker.DockerClient, settings: LabSettings, name: str) -> None:
    """Create the cache container, with its volume, at its address on the lab network."""
    volume = f"{settings.name}-apt-cache"
    try:
        client.volumes.get(volume)
    except docker.errors.NotFound:
        client.volumes.create(volume, labels={LAB_LABEL: settings.name})
    network = _cache_network(client, settings)
    container = client.containers.create(
        CACHE_IMAGE,
        name=name,
        detach=True,
        labels={LAB_LABEL: settings.name, "workshop.service": "apt-cache"},
        volumes={volume: {"bind": "/var/cache/apt-cacher-ng", "mode": "rw"}},
        restart_policy={"Name": "unless-stopped"},
    )
    network.connect(container, ipv4_address=cache_address(settings))
    container.start()


def _ensure_cache_container(settings: LabSettings, progress: Progress) -> str | None:
    """Start the lab's cache container if needed; return what changed, or None.

    Raises:
        EngineError: This machine's Docker engine failed (the message says at what).
    """
    name = f"{settings.name}-apt-cache"
    ensure_base(progress)
    image = build_image("apt-cache", CACHE_IMAGE, progress)
    client = engine_client()
    with engine_errors(f"starting the lab's package cache {name}"):
        wanted_id = client.images.get(CACHE_IMAGE).id
        try:
            container = client.containers.get(name)
        except docker.errors.NotFound:
            container = None
        if container is not None and container.image.id == wanted_id:
            if container.status == "running":
                return None
            container.start()
            return f"started {name}"
        if container is not None:
            container.remove(force=True)
        progress(f"apt_cache: starting {name} ({image.tag}) at {cache_address(settings)}")
        _create_cache_container(client, settings, name)
    return f"started {name}"


def apt_cache(lab: RemoteLab, progress: Progress = quiet) -> StepResult:
    """Give the lab a package cache and point every node's apt at it.

    Only for node containers; VMs and real hosts keep their apt as it is (the step
    then changes nothing and says so).

    Args:
        lab: The lab.
        progress: Called with a line of text now and then.

    Returns:
        Per node: whether its apt proxy setting was written.
    """
    rec = StepRecorder("apt_cache", progress)
    settings = _uses_node_containers(lab)
    if settings is None:
        rec.unchanged(lab.names, "apt as the machine has it (no lab cache for VMs/hosts)")
        return rec.result()
    started = _ensure_cache_container(settings, headlines(progress))
    if started:
        rec.note(started)
    url = f"http://{cache_address(settings)}:{CACHE_PORT}"
    wanted = f'Acquire::http::Proxy "{url}";\n'
    current = check_nodes(lab, shell_line(sh("cat", PROXY_FILE), "2>/dev/null", "||", "true"))
    stale = [name for name, text in current.items() if text != wanted.strip()]
    if stale:
        write_file(lab, PROXY_FILE, wanted, on=stale)
        rec.changed(stale, f"apt goes through the lab cache {url}")
    rec.unchanged(lab.names, f"apt already goes through {url}")
    return rec.result()


def missing_packages(
    lab: RemoteLab, packages: Sequence[str], on: str | Iterable[str] = "all"
) -> dict[str, list[str]]:
    """Node -> the packages of ``packages`` not installed there."""
    query = shell_line(
        sh("dpkg-query", "-W", "-f=${Package} ${Status}\\n", *packages), "2>/dev/null", "||", "true"
    )
    found = check_nodes(lab, query, on)
    missing = {}
    for node, text in found.items():
        installed = {
            line.split()[0] for line in text.splitlines() if line.endswith("install ok installed")
        }
        missing[node] = [p for p in packages if p not in installed]
    return missing


def dpkg_interrupted(state: str) -> bool:
    """Whether dpkg's answer to :data:`DPKG_STATE` shows an unfinished run.

    Unfinished: an entry of dpkg's journal (a file named by a number in
    :data:`DPKG_UPDATES`, what apt checks), or a package ``dpkg --audit`` reports
    as half-installed, unpacked or half-configured.
    """
    journal, _, audit = state.partition(AUDIT_MARK)
    return any(name.isdigit() for name in journal.split()) or bool(audit.strip())


def repair_dpkg(lab: RemoteLab, on: Sequence[str], *, progress: Progress = quiet) -> list[str]:
    """Finish an install that was cut short (power lost, dpkg killed) on nodes.

    The real commands, where dpkg's state shows an unfinished run::

        sudo dpkg --configure -a
        sudo apt-get -f install

    Returns:
        The nodes repaired (none when dpkg was in order everywhere).

    Raises:
        NodeUnreachable: A node does not answer.
        CommandFailed: The repair failed (dpkg's and apt's output are in the error).
    """
    broken = [
        node for node, state in check_nodes(lab, DPKG_STATE, on).items() if dpkg_interrupted(state)
    ]
    if broken:
        progress(
            f"dpkg was interrupted on {', '.join(broken)}: finishing its run first "
            "(dpkg --configure -a, then apt-get -f install)"
        )
        run_checked(lab, DPKG_REPAIR, broken, timeout=INSTALL_TIMEOUT)
    return broken


def apt_install(
    lab: RemoteLab,
    packages: Sequence[str],
    on: Sequence[str],
    *,
    timeout: float = INSTALL_TIMEOUT,
    progress: Progress = quiet,
) -> Results:
    """``apt-get update`` and install packages (no recommends) on nodes, in parallel.

    An install that an earlier run left unfinished is completed first
    (:func:`repair_dpkg`).

    Raises:
        CommandFailed: apt failed on a node (its output is in the error).
        NodeUnreachable: A node does not answer, or its connection was lost.
    """
    repair_dpkg(lab, on, progress=progress)
    command = shell_line(
        sh(*_APT_ENV, "apt-get", "-q", "update"),
        "&&",
        sh(
            *_APT_ENV,
            "apt-get",
            "-q",
            "-y",
            "-o",
            "Dpkg::Use-Pty=0",
            # A lab machine: no fsync after every file (much faster unpacking).
            "-o",
            "DPkg::Options::=--force-unsafe-io",
            "install",
            "--no-install-recommends",
            *packages,
        ),
    )
    return run_checked(lab, command, on, timeout=timeout)


def install_packages(
    lab: RemoteLab, packages: Sequence[str], *, progress: Progress = quiet
) -> StepResult:
    """Install Debian packages where they are missing, on all nodes at once.

    ``lab.require()`` uses it to fetch what several states need in one apt run.
    """
    rec = StepRecorder("install_packages", progress)
    missing = missing_packages(lab, packages, [n.name for n in lab.nodes if n.running])
    need = sorted({p for wanted in missing.values() for p in wanted})
    if need:
        nodes = [node for node, wanted in missing.items() if wanted]
        rec.say(f"installing {' '.join(need)} on {', '.join(nodes)}")
        apt_cache(lab, progress)
        apt_install(lab, need, nodes, progress=rec.say)
        for node in nodes:
            rec.changed(node, f"installed {' '.join(missing[node])}")
    rec.unchanged(list(missing), f"{' '.join(packages)} already installed")
    return rec.result()
