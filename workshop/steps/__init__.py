"""Idempotent provisioning steps, and the lab states they reach.

Every step is a function of the lab (and options) that checks first, changes only
what is missing, and returns a :class:`StepResult` saying what it did on each node
(a second run says "no change"). ``lab.require(state)`` runs the steps of every
missing state up to ``state``; see :mod:`workshop.steps.states`.
"""

from __future__ import annotations

from workshop.steps.apt import apt_cache
from workshop.steps.docker import install_docker
from workshop.steps.firewall import firewall, firewall_rules
from workshop.steps.gluster import gluster_volume
from workshop.steps.registry import load_image, registry
from workshop.steps.report import NodeChange, RequireReport, StepResult
from workshop.steps.roles import demote, promote, swarm_roles
from workshop.steps.service import node_availability, service_scale
from workshop.steps.stack import publish_mode, stack_deploy, stack_rm
from workshop.steps.stack_images import stack_images
from workshop.steps.stackfile import shipped_stacks
from workshop.steps.states import STATE_NAMES, require
from workshop.steps.swarm import join_token, swarm_init, swarm_join, swarm_reset, swarm_wait
from workshop.steps.teardown import teardown

__all__ = [
    "STATE_NAMES",
    "NodeChange",
    "RequireReport",
    "StepResult",
    "apt_cache",
    "demote",
    "firewall",
    "firewall_rules",
    "gluster_volume",
    "install_docker",
    "join_token",
    "load_image",
    "node_availability",
    "promote",
    "publish_mode",
    "registry",
    "require",
    "service_scale",
    "shipped_stacks",
    "stack_deploy",
    "stack_images",
    "stack_rm",
    "swarm_init",
    "swarm_join",
    "swarm_reset",
    "swarm_roles",
    "swarm_wait",
    "teardown",
]
