"""Named lab states, in order, and ``require()`` that reaches any of them.

Each :class:`State` can check itself and lists the steps that reach it. The table
:data:`STATES` is plain data, in the order the chapters build the lab::

    nodes -> docker -> swarm -> firewall -> gluster -> registry -> demoapp

``require(lab, "gluster")`` checks every state up to ``gluster`` in that order and
runs the steps of those that are missing, so any chapter can start from any lab.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from workshop.errors import NodeUnreachable, NotConverged, UsageError, WorkshopError
from workshop.progress import Progress, poll_until, quiet
from workshop.remote import RemoteLab
from workshop.steps.apt import apt_cache, install_packages
from workshop.steps.docker import docker_versions, install_docker
from workshop.steps.firewall import firewall, firewall_ok
from workshop.steps.gluster import gluster_ok, gluster_volume
from workshop.steps.recorder import StepRecorder
from workshop.steps.registry import registry, registry_ok
from workshop.steps.report import RequireReport, StateOutcome, StepResult
from workshop.steps.roles import swarm_roles
from workshop.steps.stack import stack_converged, stack_deploy
from workshop.steps.swarm import swarm_healthy, swarm_init, swarm_join, swarm_wait

__all__ = [
    "STATES",
    "STATE_NAMES",
    "State",
    "lab_state",
    "last_state",
    "require",
    "state_named",
    "wait_for_state",
]

Step = Callable[[RemoteLab, Progress], StepResult]
Check = Callable[[RemoteLab], bool]


@dataclass(frozen=True)
class State:
    """A named state of the lab.

    Attributes:
        name: The state's name, as ``require()`` takes it.
        description: What holds in this state.
        check: Whether the lab is in this state now (read-only).
        steps: What reaches it, in order; each step is idempotent.
        packages: Debian packages its steps install (fetched together by ``require``).
    """

    name: str
    description: str
    check: Check
    steps: tuple[Step, ...]
    packages: tuple[str, ...] = ()


# --- checks -----------------------------------------------------------------------
def nodes_ok(lab: RemoteLab) -> bool:
    """Every machine the lab defines exists, runs and answers SSH."""
    settings = lab.settings
    if not lab.nodes or (settings is not None and len(lab.nodes) < settings.nodes):
        return False
    if any(not n.running for n in lab.nodes):
        return False
    return not lab.run("true", timeout=15).failed


def docker_ok(lab: RemoteLab) -> bool:
    """Docker answers on every node."""
    return all(docker_versions(lab).values())


def demoapp_ok(lab: RemoteLab) -> bool:
    """The demoapp stack is deployed and runs all its tasks."""
    try:
        return stack_converged(lab, "demoapp")
    except NotConverged:
        return False


# --- steps that need an adapter -------------------------------------------------
def start_nodes(lab: RemoteLab, progress: Progress) -> StepResult:
    """Create or power on the lab's machines (Vagrant labs only)."""
    rec = StepRecorder("start_nodes", progress)
    if not lab.source.can_power:
        down = [n.name for n in lab.nodes if not n.running] or lab.names
        raise NodeUnreachable(down[0], None, lab.source.start_advice(down[0]), failed_nodes=down)
    settings = lab.settings
    # Read the machines anew: another process (the CLI, a notebook) may have powered
    # one off since this lab last looked.
    before = {n.name: n.state for n in lab.refresh().nodes}
    missing = settings is not None and len(lab.nodes) < settings.nodes
    if missing or not lab.nodes:
        lab.up(progress)
    else:
        for node in lab.nodes:
            if not node.running:
                lab.start(node.name, progress)
    for node in lab.refresh().nodes:
        if before.get(node.name) == "running":
            rec.unchanged(node.name, "already running")
        else:
            rec.changed(node.name, f"{before.get(node.name, 'not created')} -> {node.state}")
    return rec.result()


def _step(function: Callable[..., StepResult], *args: str) -> Step:
    """Adapt ``function(lab, *args, progress=...)`` to a state's step."""

    def step(lab: RemoteLab, progress: Progress) -> StepResult:
        return function(lab, *args, progress=progress)

    step.__name__ = function.__name__
    return step


#: The lab's states, in the order they build on each other.
STATES: tuple[State, ...] = (
    State("nodes", "every machine is running and answers SSH", nodes_ok, (start_nodes,)),
    State(
        "docker",
        "Docker Engine runs on every node",
        docker_ok,
        (_step(install_docker),),
        ("docker.io",),
    ),
    State(
        "swarm",
        "one swarm: managers and workers as the lab defines, all Ready",
        swarm_healthy,
        (_step(swarm_init), _step(swarm_join), _step(swarm_roles), _step(swarm_wait)),
    ),
    State(
        "firewall",
        "cluster and published ports open to the lab's nodes only",
        firewall_ok,
        (_step(firewall),),
        ("nftables",),
    ),
    State(
        "gluster",
        "a replicated GlusterFS volume mounted on every node",
        gluster_ok,
        (_step(gluster_volume),),
        ("glusterfs-server",),
    ),
    State(
        "registry",
        "a registry on every node serves the lab's images",
        registry_ok,
        (_step(registry),),
    ),
    State(
        "demoapp",
        "the demoapp stack runs all its tasks",
        demoapp_ok,
        (_step(stack_deploy, "demoapp"),),
    ),
)
STATE_NAMES: tuple[str, ...] = tuple(s.name for s in STATES)


def state_named(name: str) -> State:
    """The state called ``name``.

    Raises:
        UsageError: No such state; the message lists the valid ones.
    """
    for state in STATES:
        if state.name == name:
            return state
    raise UsageError.choice("lab state", name, STATE_NAMES)


def last_state(states: Sequence[str]) -> str:
    """The latest of ``states`` in :data:`STATES`' order (the one ``require`` goes to).

    Raises:
        UsageError: No state, or an unknown one.
    """
    if not states:
        raise UsageError(f"name at least one lab state; valid states are: {', '.join(STATE_NAMES)}")
    for name in states:
        if not isinstance(name, str):
            raise UsageError.choice("lab state", name, STATE_NAMES)
        state_named(name)
    return max(states, key=STATE_NAMES.index)


def _safe_check(state: State, lab: RemoteLab) -> bool:
    """A check that cannot answer (a node does not respond) counts as not reached."""
    try:
        return state.check(lab)
    except WorkshopError:
        return False


def require(lab: RemoteLab, *states: str, progress: Progress = quiet) -> RequireReport:
    """Bring the lab to every state named, and to all states before them.

    Args:
        lab: The lab.
        states: State names (see :data:`STATE_NAMES`); the latest one in order
            decides how far the lab goes.
        progress: Called with a line of text now and then.

    Returns:
        What was found and what was done, state by state.

    Raises:
        UsageError: No state, or an unknown one (checked before anything runs).
        NotConverged: A state's steps ran but its check still fails.
    """
    last = STATE_NAMES.index(last_state(states))
    started = time.monotonic()
    outcomes = []
    prefetched = False
    for index, state in enumerate(STATES[: last + 1]):
        if _safe_check(state, lab):
            progress(f"{state.name}: already there")
            outcomes.append(StateOutcome(state.name, reached=False))
            continue
        progress(f"{state.name}: {state.description} ...")
        results: tuple[StepResult, ...] = ()
        packages = [p for s in STATES[index : last + 1] for p in s.packages]
        if packages and not prefetched and state.name != "nodes":
            # One apt run for every package the remaining states need.
            results += (install_packages(lab, packages, progress=progress),)
            prefetched = True
        results += tuple(step(lab, progress) for step in state.steps)
        if not _safe_check(state, lab):
            raise NotConverged(
                f"the lab is not in state {state.name!r} ({state.description}) after "
                f"{', '.join(r.step for r in results)}"
            )
        outcomes.append(StateOutcome(state.name, reached=True, steps=results))
    return RequireReport(tuple(states), tuple(outcomes), time.monotonic() - started)


def lab_state(lab: RemoteLab) -> str:
    """The last state of :data:`STATES` that holds, with all before it ("" if none)."""
    reached = ""
    for state in STATES:
        if not _safe_check(state, lab):
            break
        reached = state.name
    return reached


#: Seconds a state may take to hold again by itself after the nodes start: a node
#: lets no one log in until its boot has mounted its file systems, and a swarm
#: elects its leader after its managers' engines start. The boot tried the Gluster
#: mount before the engine started; when the volume's bricks were not all online
#: yet, the mount failed and only the step mounts it again: no use waiting long.
GRACE = {"nodes": 180.0, "docker": 120.0, "swarm": 120.0, "gluster": 1.0}
#: The same for the other states, which hold once their services run.
DEFAULT_GRACE = 20.0
#: The states ``wait_for_state`` sees to first, in this order; the others follow in
#: :data:`STATES`' order. The Gluster volume needs only the nodes and glusterd.
BOOT_ORDER = {"nodes": 0, "gluster": 1}


def wait_for_state(lab: RemoteLab, name: str, progress: Progress = quiet) -> None:
    """Wait until every state up to ``name`` holds again (the nodes just started).

    A state that does not come back by itself within its grace (:data:`GRACE`) gets
    its steps run (the states before it hold): a Gluster mount that the node's boot
    tried before the volume's bricks were online is mounted again, for example. That
    mount is seen to first (:data:`BOOT_ORDER`): the swarm's managers elect their
    leader meanwhile, and tasks that keep data on the volume start on their first try.

    Raises:
        WorkshopError: A state's steps failed (the message says which and why).
    """
    wanted = STATES[: [s.name for s in STATES].index(name) + 1]
    for state in sorted(wanted, key=lambda s: BOOT_ORDER.get(s.name, len(BOOT_ORDER))):
        progress(f"Waiting for {state.name}: {state.description}")
        try:
            poll_until(
                partial(_safe_check, state, lab),
                bool,
                timeout=GRACE.get(state.name, DEFAULT_GRACE),
                interval=0.5,
                what=f"the {state.name} state ({state.description})",
                describe=lambda held: "holds" if held else "does not hold yet",
            )
        except NotConverged:
            progress(f"{state.name} did not come back by itself: running its steps")
            for step in state.steps:  # idempotent: each does only what is missing
                step(lab, progress)
        if state.name == "nodes":
            # The nodes' apt goes through the lab's package cache, a container of this
            # host's that a fresh `up` may not have started yet: later chapters install.
            apt_cache(lab, progress)
