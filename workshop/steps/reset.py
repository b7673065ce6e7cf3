"""Undo what chapters did on the swarm, back to a chapter's starting state, without a snapshot.

``workshop reset --to CHAPTER`` restores the state's snapshot when one matches: that
undoes everything at once. Without one it powers every node on, runs
:func:`reset_swarm`, then ``require``s the state. :func:`reset_swarm` undoes what the
chapters after it leave on the swarm:

- a target before ``swarm`` (chapters 01 to 03): the swarm is taken apart
  (``docker swarm leave --force`` on every node), so chapter 03 creates it again;
- any later target: every stack and every service is removed (chapters 04 and later
  create them) except the lab's registry (stack ``registry``, which the ``registry``
  state deploys), and every node is made ``active`` again (chapter 09 drains one).

What it does not undo: the Gluster volume, the firewall and the registry stay once
made (a target before them finds them in place: chapters 04 and 05 then show them
as already there), and files the learner wrote on the volume stay.
"""

from __future__ import annotations

from workshop.errors import CommandFailed
from workshop.progress import Progress, quiet
from workshop.remote import RemoteLab
from workshop.steps.members import reader_for, swarm_members
from workshop.steps.recorder import StepRecorder
from workshop.steps.report import StepResult
from workshop.steps.service import node_availability
from workshop.steps.stack import stack_rm
from workshop.steps.swarm import swarm_reset
from workshop.swarm.managers import SwarmUnavailable

__all__ = ["reset_swarm"]

#: The states that come before the swarm: a reset to one of them takes the swarm apart.
BEFORE_SWARM = ("nodes", "docker")
#: The stack the ``registry`` state deploys (:func:`workshop.steps.registry.registry`).
REGISTRY = "registry"


def reset_swarm(lab: RemoteLab, state: str, *, progress: Progress = quiet) -> list[StepResult]:
    """Undo on the swarm what chapters after ``state``'s did (see the module's text).

    Args:
        lab: The lab, every node running.
        state: The state the chapter starts from.
        progress: Called with a line of text now and then.

    Returns:
        What each step found and did.
    """
    if not any(info.in_swarm for info in swarm_members(lab).values()):
        return []
    if state in BEFORE_SWARM:
        return [swarm_reset(lab, progress=progress)]
    rec = StepRecorder("reset_swarm", progress)
    reader = reader_for(lab)
    try:
        listed = reader.docker(["stack", "ls", "--format", "{{.Name}}"]).split()
    except (CommandFailed, SwarmUnavailable) as exc:
        rec.note(f"the swarm did not list its stacks ({exc}); `require` repairs it next")
        return [rec.result()]
    stacks = [name for name in listed if name != REGISTRY]
    results = [stack_rm(lab, name, progress=progress, reader=reader) for name in stacks]
    keep = f"{REGISTRY}_"  # the removed stacks' services went with them
    lone = [service.name for service in reader.services() if not service.name.startswith(keep)]
    if lone:
        rec.say(f"docker service rm {' '.join(lone)}")
        reader.docker(["service", "rm", *lone])
        rec.changed(lab.names[0], f"removed services {', '.join(lone)}")
    for node in reader.nodes():
        if node.availability != "active":
            results.append(
                node_availability(lab, node.hostname, "active", progress=progress, reader=reader)
            )
    return [*results, rec.result()]
