"""`Lab`, the facade notebooks and the CLI use: every layer behind one object.

``Lab`` is a :class:`~workshop.remote.RemoteLab` (nodes, ``run``, power) that also
brings the lab to a named state with :meth:`Lab.require`. It is the only module
that knows every layer; everything below it takes a ``RemoteLab``.

On a lab of node containers (the docker provider), ``require`` also uses the lab's
snapshots (``WORKSHOP_SNAPSHOTS=0`` turns that off): when the snapshot of the state
asked for (``state-<state>``) matches the lab and the lab is not in that state yet,
it restores the snapshot instead of running the steps; when the steps ran to reach
one of the states chapters start from (:data:`SAVED_STATES`), it saves that state's
snapshot for next time, if the engine's disk has room (:data:`SAVE_FREE_BYTES`).
"""

from __future__ import annotations

import sys
import time

from workshop.lab import VagrantSource
from workshop.lab.lifecycle import check_removal, not_ours
from workshop.lab.runtime import lab_survey, leftovers, remove_objects
from workshop.lab.snapshot_store import Snapshot
from workshop.lab.snapshot_use import engine_free_bytes, matching_snapshot, state_snapshot_name
from workshop.lab.snapshots import restore, save
from workshop.progress import Progress, quiet
from workshop.remote import RemoteLab
from workshop.settings import snapshots_requested
from workshop.steps.report import NodeChange, RequireReport, StateOutcome, StepResult
from workshop.steps.reset import reset_swarm
from workshop.steps.states import (
    STATE_NAMES,
    lab_state,
    last_state,
    require,
    state_named,
    wait_for_state,
)

__all__ = ["SAVED_STATES", "SAVE_FREE_BYTES", "Lab"]

#: The states chapters start from (each notebook's first ``lab.require``): ``require``
#: saves a snapshot of these once its steps reached them. Chapters that teach a state
#: (02 Docker, 03 the swarm, 05 Gluster) start from the one before, so they still run
#: the real commands in front of the learner.
SAVED_STATES = ("docker", "firewall", "gluster", "registry")
#: Free bytes the engine's disk keeps after a save: below this, ``require`` saves nothing.
SAVE_FREE_BYTES = 10 * 2**30
#: Removes the downloaded packages (hundreds of MB a node) before a snapshot is saved.
_APT_CLEAN = "apt-get clean"


class Lab(RemoteLab):
    """The lab as notebooks see it: ``Lab.connect()``, ``run``, ``require``, power."""

    def require(self, *states: str, progress: Progress = quiet) -> RequireReport:
        """Bring the lab to named states (and all before them), running only what is missing.

        States, in order: nodes, docker, swarm, firewall, gluster, registry, demoapp
        (see `workshop.steps.states`). On a lab of node containers, the last state's
        snapshot stands in for the steps when it fits, and the states chapters start
        from are saved once the steps reached them (see this module's text).

        Raises:
            UsageError: No state, an unknown one, or a bad ``WORKSHOP_SNAPSHOTS``.
            NotConverged: A state's steps ran but its check still fails.
        """
        source = self._snapshot_source()
        if source is None:
            return require(self, *states, progress=progress)
        target = last_state(states)
        name = state_snapshot_name(target)
        snap = matching_snapshot(source, name, target)
        if snap is not None and _before(lab_state(self), target):
            return self._restore_state(source, snap, tuple(states), progress)
        report = require(self, *states, progress=progress)
        if target in SAVED_STATES and _reached(report, target):
            self._save_state(source, target, progress)
        return report

    def reset(self, state: str, progress: Progress = quiet) -> RequireReport:
        """Bring the lab back to ``state`` as a chapter starting from it expects it.

        With a matching snapshot of ``state`` (docker provider), it is restored: that
        also undoes whatever later chapters did (nodes powered off or drained, stacks).
        Without one, every node is powered on, :func:`~workshop.steps.reset.reset_swarm`
        undoes what later chapters left on the swarm, and the state is required; then
        the state is saved for next time (as ``require`` saves it) when the lab is in
        it and in no later one.
        """
        state = state_named(state).name
        source = self._snapshot_source()
        snap = matching_snapshot(source, state_snapshot_name(state), state) if source else None
        if source is not None and snap is not None:
            return self._restore_state(source, snap, (state,), progress)
        require(self, "nodes", progress=progress)
        reset_swarm(self, state, progress=progress)
        report = self.require(state, progress=progress)  # saves the state if steps reached it
        unsaved = state in SAVED_STATES and not _reached(report, state)
        if source is not None and unsaved and lab_state(self) == state:  # nothing later holds
            self._save_state(source, state, progress)
        return report

    def _snapshot_source(self) -> VagrantSource | None:
        """The lab's source when ``require`` may use snapshots: node containers, setting on."""
        source = self.source
        if isinstance(source, VagrantSource) and source.provider == "docker":
            return source if snapshots_requested() else None
        return None

    def _restore_state(
        self, source: VagrantSource, snap: Snapshot, states: tuple[str, ...], progress: Progress
    ) -> RequireReport:
        """Make the nodes again from ``snap``, then wait until its state holds."""
        started = time.monotonic()
        if source.settings.nodes > len(
            [n for n in self.refresh().nodes if n.state != "not_created"]
        ):
            require(self, "nodes", progress=progress)  # restore reuses the lab's network
        progress(f"{snap.state}: restoring snapshot {snap.name!r} instead of running the steps")
        self.close()
        restore(source, snap.name, progress)
        self.refresh()
        wait_for_state(self, snap.state, progress)
        took = time.monotonic() - started
        made = tuple(
            NodeChange(n, True, f"made again from snapshot {snap.name}") for n in self.names
        )
        outcomes = [
            StateOutcome(s, reached=True) for s in STATE_NAMES[: STATE_NAMES.index(snap.state)]
        ]
        outcomes.append(
            StateOutcome(snap.state, True, (StepResult("restore_snapshot", made, took),))
        )
        return RequireReport(states, tuple(outcomes), took)

    def _save_state(self, source: VagrantSource, state: str, progress: Progress) -> None:
        """Save the lab, just brought to ``state`` by its steps, for the next ``require``."""
        name = state_snapshot_name(state)
        free = engine_free_bytes(source)
        if free is not None and free < SAVE_FREE_BYTES:
            note = (
                f"Not saving snapshot {name!r}: {free / 2**30:.1f} GB free where the engine "
                f"keeps its data, below {SAVE_FREE_BYTES / 2**30:.0f} GB (`workshop snapshot ls` "
                "shows what snapshots take; `workshop snapshot rm` frees it)"
            )
            progress(note)
            print(note, file=sys.stderr)
            return
        progress(f"{state}: saving snapshot {name!r} for next time")
        self.run(_APT_CLEAN, sudo=True, timeout=120)  # fewer bytes to save; apt fetches again
        self.close()
        try:
            save(source, name, progress, state=state)
        finally:
            self.refresh()
            wait_for_state(self, state, progress)

    def destroy(self, progress: Progress = quiet, *, keep_cache: bool = False) -> None:
        """Remove every machine, volume and network of the lab.

        Args:
            progress: Called with a line of text now and then.
            keep_cache: Keep the lab's package cache (its container, its volume and the
                network it is on), so that the next `up` downloads nothing again. Only
                labs of node containers have one; others lose nothing more.
        """
        source = self.source
        if not keep_cache or not isinstance(source, VagrantSource) or source.provider != "docker":
            super().destroy(progress)
            return
        # As VagrantSource.remove (another folder's objects stay), but the cache stays too.
        lab, project, replace = source.settings.name, source.project_dir, source.replace
        check_removal(lab, source.machine_ids(), project=project, replace=replace)
        self.close()
        source.destroy(progress)
        going = leftovers(lab_survey(lab), keep_services=True)
        others = set() if replace else set(not_ours(going, project, unowned_ok=True))
        remove_objects(lab, [item for item in going if item not in others], progress)
        self._nodes = []


def _before(reached: str, target: str) -> bool:
    """Whether a lab whose last state holding is ``reached`` ("" none) is short of ``target``."""
    return not reached or STATE_NAMES.index(reached) < STATE_NAMES.index(target)


def _reached(report: RequireReport, state: str) -> bool:
    """Whether ``require``'s steps (not an earlier run) brought the lab to ``state``."""
    return any(o.state == state and o.reached for o in report.states)
