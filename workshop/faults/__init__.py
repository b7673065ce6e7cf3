"""Faults to inject into the lab, each with a handle that restores it.

Example:
    >>> with power_off(lab, "node-3") as fault:    # doctest: +SKIP
    ...     lab.run("docker node ls", on="node-1", sudo=True)
    >>> fault                                      # doctest: +SKIP
    Fault power_off on node-3 (restored)
      injected: 10:02:11 in 4.1 s: powered node-3 off (lab.halt('node-3'))
      restored: 10:02:40 in 31.2 s: powered node-3 on (lab.start('node-3')); Ready ...

Every fault refuses bad input (an unknown node or volume) before it changes
anything; its handle's ``restore()`` brings the lab back to how it was (swarm,
bricks, heals, mounts), may be called twice, and runs when a ``with`` block ends,
also when the block raised.
"""

from __future__ import annotations

from workshop.faults.brick import stop_brick
from workshop.faults.handle import Fault
from workshop.faults.network import cut_network
from workshop.faults.power import power_off

__all__ = ["Fault", "cut_network", "power_off", "stop_brick"]
