"""The Vagrant lab source: machines from the project's Vagrantfile.

Runs ``vagrant`` in the project directory with the lab's settings in the
environment, and reads the machines back from ``vagrant status --machine-readable``
and ``vagrant ssh-config`` (for the docker provider, from the engine when it can:
see :mod:`workshop.lab.engine_view`). Every call has a timeout; a command refused
because another Vagrant process holds a machine is tried again a few times
(:data:`LOCK_RETRY_DELAYS`), and an `up` that met another lab's work (:data:`UP_TRIES`).
``vagrant`` runs in a process group of its own (:mod:`workshop.lab.host_command`): a
timeout or Ctrl-C stops it and all it started within about 2 s.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import docker
import docker.errors

from workshop.errors import LabNotFound, ProviderError, WorkshopError
from workshop.lab.engine_view import machine_status, ssh_endpoint
from workshop.lab.host_command import run_command
from workshop.lab.lab_hostkeys import (
    VM_HOST_KEY_COMMAND,
    HostKeysRead,
    LabHostKeys,
    container_host_keys,
    lab_known_hosts,
    vm_host_keys,
)
from workshop.lab.lifecycle import check_removal, prepare_node_containers, remove_node_containers
from workshop.lab.node import Node, SSHEndpoint
from workshop.lab.runtime import repair_lab_addresses
from workshop.lab.vagrant_parse import MachineStatus, find_error, parse_ssh_config, parse_status
from workshop.progress import Progress, quiet
from workshop.settings import ENV_VARS, LabSettings, replace_requested

__all__ = ["VagrantSource", "resolve_provider"]

#: Seconds for quick Vagrant queries (status, ssh-config).
QUERY_TIMEOUT = 120.0
#: Seconds for `vagrant up` of the whole lab (image already built).
UP_TIMEOUT = 1200.0
POWER_TIMEOUT = 300.0  #: Seconds for halt / destroy.

#: Seconds for one query of the Docker engine.
ENGINE_TIMEOUT = 30

#: Seconds to wait before each new try of a command that Vagrant refused because
#: another Vagrant process held a machine's lock: six tries, 59 s of waiting at most.
LOCK_RETRY_DELAYS = (2.0, 4.0, 8.0, 15.0, 30.0)

#: How many times `vagrant up` runs when another lab's work gets in its way.
UP_TRIES = 3

#: The lab name whose Vagrant state is the plain `.vagrant` folder.
DEFAULT_LAB = "workshop"

# Vagrant must not call home: no version check, no box update check.
QUIET_ENV = {"VAGRANT_CHECKPOINT_DISABLE": "1", "VAGRANT_BOX_UPDATE_CHECK_DISABLE": "1"}


def resolve_provider(settings: LabSettings) -> str:
    """The provider to use (see :meth:`LabSettings.resolved_provider`, its one home)."""
    return settings.resolved_provider()


class VagrantSource:
    """Create, power and read the lab's machines through Vagrant.

    Attributes:
        replace: `create` and `remove` take over a lab of the same name that another
            folder made, or that names no folder (`workshop up --replace`); default:
            ``WORKSHOP_REPLACE`` (see :func:`workshop.settings.replace_requested`).
    """

    kind = "vagrant"

    def __init__(self, project_dir: Path, settings: LabSettings) -> None:
        self.project_dir = Path(project_dir).resolve()
        self.settings = settings
        self.provider = resolve_provider(settings)
        self.replace = replace_requested()
        if not (self.project_dir / "Vagrantfile").is_file():
            raise LabNotFound(
                f"no Vagrantfile in {self.project_dir}; run from the workshop's folder "
                "or set WORKSHOP_HOME to it."
            )

    @property
    def state_dir(self) -> Path:
        """Where the kit keeps its files for this project (ignored by git)."""
        return self.project_dir / ".workshop"

    @property
    def dotfile_dir(self) -> Path:
        """Vagrant's state folder: `.vagrant` for the default lab, one of its own for others.

        A second lab in the same folder (tests use one) must not share Vagrant's state
        with the first; `vagrant` run by hand then needs VAGRANT_DOTFILE_PATH set the same.
        """
        if self.settings.name == DEFAULT_LAB:
            return self.project_dir / ".vagrant"
        return self.state_dir / "vagrant" / self.settings.name

    def environment(self) -> dict[str, str]:
        """The environment for `vagrant`: this process's, plus the lab's settings."""
        env = dict(os.environ)
        env.update(QUIET_ENV)
        for field, var in ENV_VARS.items():
            env[var] = str(getattr(self.settings, field))
        env["VAGRANT_DEFAULT_PROVIDER"] = self.provider
        env["VAGRANT_DOTFILE_PATH"] = str(self.dotfile_dir)
        # The Vagrantfile asks Python for the settings: the same Python as the kit.
        env.setdefault("WORKSHOP_PYTHON", sys.executable)
        return env

    def vagrant(
        self, args: Sequence[str], timeout: float = QUERY_TIMEOUT, progress: Progress = quiet
    ) -> str:
        """Run `vagrant ARGS`; return stdout, or raise ProviderError with its output.

        Another Vagrant process working on the same machine (a notebook and the CLI at
        once) makes Vagrant refuse with MachineLocked: the command is tried again after
        each delay of :data:`LOCK_RETRY_DELAYS`, and the last refusal is raised.
        """
        rc, stdout, stderr = self.execute(args, timeout, progress)
        for delay in LOCK_RETRY_DELAYS:
            if rc == 0 or not _machine_locked(stderr + stdout):
                break
            progress(f"A machine is locked by another Vagrant process: trying again in {delay:g} s")
            time.sleep(delay)
            rc, stdout, stderr = self.execute(args, timeout, progress)
        if rc != 0:
            detail = find_error(stdout) or stderr or stdout
            raise ProviderError(["vagrant", *args], rc, detail)
        return stdout

    def execute(
        self, args: Sequence[str], timeout: float = QUERY_TIMEOUT, progress: Progress = quiet
    ) -> tuple[int, str, str]:
        """Run `vagrant ARGS` with a timeout; return (exit code, stdout, stderr)."""
        return run_command(
            ["vagrant", *args],
            cwd=self.project_dir,
            env=self.environment(),
            timeout=timeout,
            progress=progress,
            hint="Install Vagrant: `make setup` does it on Debian/Ubuntu.",
        )

    def status(self) -> dict[str, MachineStatus]:
        """Machine name -> status, from `vagrant status --machine-readable`."""
        return parse_status(self.vagrant(["status", "--machine-readable"]))

    def _ssh_cache(self) -> Path:
        return self.state_dir / f"{self.settings.name}-ssh-config"

    def _known_endpoints(self) -> dict[str, SSHEndpoint]:
        """The endpoints `vagrant ssh-config` gave last (a stopped machine keeps its own)."""
        cache = self._ssh_cache()
        return parse_ssh_config(cache.read_text()) if cache.is_file() else {}

    def _ssh_config(self) -> dict[str, SSHEndpoint]:
        """Endpoints of running machines; a stopped one keeps its last known endpoint.

        `vagrant ssh-config` exits non-zero when a machine is stopped but still prints
        the running ones, so its output is read whatever the exit code.
        """
        known = self._known_endpoints()
        _rc, text, _err = self.execute(["ssh-config"])
        fresh = parse_ssh_config(text)
        if fresh:
            known.update(fresh)
            cache = self._ssh_cache()
            cache.parent.mkdir(parents=True, exist_ok=True)
            blocks = [_ssh_block(name, ep) for name, ep in sorted(known.items())]
            cache.write_text("\n".join(blocks), encoding="utf-8")
        return known

    def discover(self) -> list[Node]:
        """The lab's machines with their roles, lab addresses, SSH endpoints and states.

        For the docker provider the engine answers (well under a second); Vagrant is
        asked when the engine's view is incomplete: a machine Vagrant is still
        creating, a container gone behind its back, or no SSH endpoint known yet.
        """
        view = self.engine_view() if self.provider == "docker" else None
        if view is not None:
            status, endpoints = view
        else:
            # One after the other: both take Vagrant's lock on each machine.
            status = self.status()
            endpoints = self._ssh_config() if any(m.running for m in status.values()) else {}
        nodes = []
        for name in self.settings.node_names:
            if name not in status or not status[name].created:
                continue
            address = self.settings.address(name)
            ssh = endpoints.get(name, SSHEndpoint(host=address, port=22, user="vagrant"))
            nodes.append(Node(name, self.settings.role(name), address, ssh, status[name].state))
        return self.host_keys.checked(nodes)

    def engine_view(
        self,
    ) -> tuple[dict[str, MachineStatus], dict[str, SSHEndpoint]] | None:
        """States and SSH endpoints from the Docker engine, or None to ask Vagrant."""
        known = self._known_endpoints()
        status: dict[str, MachineStatus] = {}
        endpoints: dict[str, SSHEndpoint] = {}
        try:
            client = docker.from_env(timeout=ENGINE_TIMEOUT)
        except (docker.errors.DockerException, OSError):
            return None
        try:
            for name in self.settings.node_names:
                machine_id = self.machine_id(name)
                if not machine_id:
                    status[name] = machine_status(name, None)
                    continue
                try:
                    container = client.api.inspect_container(machine_id)
                except (docker.errors.DockerException, OSError):
                    return None  # being created ("preparing"), removed by hand, or no engine
                status[name] = machine_status(name, container)
                if status[name].running:
                    endpoint = name in known and ssh_endpoint(container, known[name])
                    if not endpoint:
                        return None
                    endpoints[name] = endpoint
                elif name in known:
                    endpoints[name] = known[name]  # a stopped machine keeps its last one
        finally:
            client.close()
        return status, endpoints

    def machine_id(self, name: str) -> str:
        """The id Vagrant keeps for a machine (`<dotfile dir>/machines/<name>/<provider>/id`).

        Empty when Vagrant has none: the machine was never created, or was destroyed.
        """
        path = self.dotfile_dir / "machines" / name / self.provider / "id"
        return path.read_text().strip() if path.is_file() else ""

    def machine_ids(self) -> set[str]:
        """Ids Vagrant keeps for this lab's machines, those the settings no longer name too."""
        machines = self.dotfile_dir / "machines"
        names = [path.name for path in machines.iterdir()] if machines.is_dir() else []
        return {machine_id for machine_id in map(self.machine_id, names) if machine_id}

    def up(self, names: Sequence[str] = (), progress: Progress = quiet) -> None:
        """`vagrant up` the lab (or some machines of it), each machine at its lab address."""
        args = ["up", f"--provider={self.provider}", *names]
        # Machines of one lab come up at once: the docker provider runs them in parallel.
        self.vagrant(args, timeout=UP_TIMEOUT, progress=progress)
        self._repair_addresses(progress)

    def halt(self, names: Sequence[str], progress: Progress = quiet) -> None:
        """Power machines off (a clean shutdown)."""
        self.vagrant(["halt", *names], timeout=POWER_TIMEOUT, progress=progress)

    def start(self, names: Sequence[str], progress: Progress = quiet) -> None:
        """Power machines on again, without provisioning (tried again as `create` is)."""
        args = ["up", f"--provider={self.provider}", "--no-provision", *names]
        _with_tries(partial(self.vagrant, args, UP_TIMEOUT, progress), progress, lambda: None)
        self._repair_addresses(progress)
        self.host_keys.record(names, progress=progress, missing_only=True)

    def _repair_addresses(self, progress: Progress) -> None:
        """Give node containers that came up without their lab address that address."""
        if self.provider == "docker":
            wanted = {name: self.settings.address(name) for name in self.settings.node_names}
            repair_lab_addresses(self.settings.name, wanted, progress)

    def destroy(self, progress: Progress = quiet) -> None:
        """Destroy every machine of the lab."""
        self.vagrant(["destroy", "--force"], timeout=POWER_TIMEOUT, progress=progress)
        self._ssh_cache().unlink(missing_ok=True)
        self.host_keys.remove()

    # --- the LabSource interface ---------------------------------------------------
    can_power = True

    def create(self, progress: Progress = quiet) -> None:
        """Create or start every machine; a failed first `up` removes what it made.

        Raises:
            UsageError: Objects of a lab of the same name are another folder's, or
                name no folder, and not :attr:`replace`: nothing was removed.
        """
        existed = False
        if self.provider == "docker":
            existed = prepare_node_containers(
                self.settings.name,
                self.machine_ids(),
                progress,
                project=self.project_dir,
                replace=self.replace,
            )

        def failed() -> None:
            if not existed:
                progress("`vagrant up` failed: removing what it created")
                self.remove(progress)

        _with_tries(lambda: self.up(progress=progress), progress, failed)
        self.host_keys.record(self.settings.node_names, progress=progress)

    def remove(self, progress: Progress = quiet) -> None:
        """Destroy the machines and, for node containers, every labelled leftover.

        Raises:
            UsageError: Another folder owns objects of the lab, and not
                :attr:`replace`: nothing was removed.
        """
        lab, project, replace = self.settings.name, self.project_dir, self.replace
        if self.provider == "docker":
            check_removal(lab, self.machine_ids(), project=project, replace=replace)
        self.destroy(progress=progress)
        if self.provider == "docker":
            remove_node_containers(lab, progress, project=project, replace=replace)

    def start_advice(self, name: str) -> str:
        """Vagrant machines are started by the kit."""
        return f"start it with `workshop up` or lab.start({name!r})"

    # --- host keys: recorded when machines are made (see workshop.lab.lab_hostkeys) --

    @property
    def host_keys(self) -> LabHostKeys:
        """The lab's known_hosts file: its nodes' keys, under their names (``record`` them)."""
        path = lab_known_hosts(self.state_dir, self.settings.name)
        return LabHostKeys(path, self.machine_id, self._read_host_keys)

    def _read_host_keys(self, name: str, machine: str, timeout: float) -> HostKeysRead:
        if self.provider == "docker":
            return container_host_keys(machine, name, timeout)
        output = self.vagrant(["ssh", name, "-c", VM_HOST_KEY_COMMAND], timeout=timeout)
        return vm_host_keys(name, output)


#: What Vagrant says when another Vagrant process holds a machine: the error classes
#: (machine-readable output) and their messages (Vagrant's locales/en.yml).
_LOCKED = (
    "MachineLocked",
    "MachineActionLockedError",
    "machine because it is locked",
    "another process is already executing an action on the machine",
)
#: What `vagrant up` says when another lab's work gets in its way (see below).
_RACE = re.compile(
    r"No such (object|network|container)|network \S+ not found|Failed to lock new machine"
)


def _with_tries(
    action: Callable[[], object], progress: Progress, failed: Callable[[], None]
) -> None:
    """``action`` (a `vagrant up`) up to UP_TRIES times while another lab's work fails it."""
    for attempt in range(1, UP_TRIES + 1):
        try:
            action()
            return
        except WorkshopError as exc:
            output = exc.stderr if isinstance(exc, ProviderError) else str(exc)
            failed()
            if attempt == UP_TRIES or not _other_labs_work(output):
                raise
            progress("`vagrant up` met another lab's work under way: one more try")


def _other_labs_work(output: str) -> bool:
    """Whether `vagrant up` failed on another lab's work at that very moment.

    The docker provider inspects every network ("network ... not found" if one went
    meanwhile) and a container just made ("No such object"); a new machine locks the
    entry, in Vagrant's host-wide index, of the machine of its name in the same folder
    (another lab's node-2: "Failed to lock new machine"). Another `up` works.
    """
    return _RACE.search(output) is not None


def _machine_locked(output: str) -> bool:
    """Whether Vagrant refused because another Vagrant process holds a machine's lock."""
    return any(marker in output for marker in _LOCKED)


def _ssh_block(name: str, ep: SSHEndpoint) -> str:
    lines = [f"Host {name}", f"  HostName {ep.host}", f"  Port {ep.port}"]
    if ep.user:
        lines.append(f"  User {ep.user}")
    lines += [f'  IdentityFile "{path}"' for path in ep.identity_files]
    return "\n".join(lines) + "\n"
