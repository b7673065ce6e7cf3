"""`Lab`, the facade notebooks and the CLI use: every layer behind one object.

``Lab`` is a :class:`~workshop.remote.RemoteLab` (nodes, ``run``, power) that also
brings the lab to a named state with :meth:`Lab.require`. It is the only module
that knows every layer; everything below it takes a ``RemoteLab``.
"""

from __future__ import annotations

from workshop.lab import VagrantSource
from workshop.lab.lifecycle import check_removal, not_ours
from workshop.lab.runtime import lab_survey, leftovers, remove_objects
from workshop.progress import Progress, quiet
from workshop.remote import RemoteLab
from workshop.steps.report import RequireReport
from workshop.steps.states import require

__all__ = ["Lab"]


class Lab(RemoteLab):
    """The lab as notebooks see it: ``Lab.connect()``, ``run``, ``require``, power."""

    def require(self, *states: str, progress: Progress = quiet) -> RequireReport:
        """Bring the lab to named states (and all before them), running only what is missing.

        States, in order: nodes, docker, swarm, firewall, gluster, registry, demoapp
        (see `workshop.steps.states`).
        """
        return require(self, *states, progress=progress)

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
