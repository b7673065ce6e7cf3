"""Old import path of the steps' helpers, kept only for modules not moved yet.

Imported today by ``workshop/checks/chapters.py``, ``workshop/steps/swarm.py``,
``workshop/steps/stack.py`` and ``workshop/steps/roles.py``; new code imports from
where each name lives: :mod:`workshop.steps.commands` (``sh``, ``shell_line``),
:mod:`workshop.steps.fanout` (``run_checked``, ``check_nodes``, ``write_file``),
:mod:`workshop.steps.recorder` (``StepRecorder``), :mod:`workshop.progress`
(``Progress``, ``quiet``) and :func:`workshop.steps.firewall.lab_network`;
``lab_settings(lab)`` is ``lab.settings``. Delete this module once none imports it.
"""

from __future__ import annotations

from workshop.progress import Progress, quiet
from workshop.remote import RemoteLab
from workshop.settings import LabSettings
from workshop.steps.commands import sh, shell_line
from workshop.steps.fanout import check_nodes, run_checked, write_file
from workshop.steps.firewall import lab_network
from workshop.steps.recorder import StepRecorder

__all__ = [
    "Progress",
    "StepRecorder",
    "check_nodes",
    "lab_network",
    "lab_settings",
    "quiet",
    "run_checked",
    "sh",
    "shell_line",
    "write_file",
]


def lab_settings(lab: RemoteLab) -> LabSettings | None:
    """``lab.settings``: the settings of a Vagrant lab, ``None`` for real hosts."""
    return lab.settings
