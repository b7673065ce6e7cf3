"""The lab's nodes over SSH: parallel fan-out, one result per node.

:class:`Remote` keeps the connections; :class:`RemoteLab` is the lab as every layer
below the facade sees it: its nodes, commands on them, and power through its source.
"""

from __future__ import annotations

from workshop.remote.remote_lab import RemoteLab, Target
from workshop.remote.ssh import COMMAND_TIMEOUT, CONNECT_TIMEOUT, Remote, sudo_wrap

__all__ = ["COMMAND_TIMEOUT", "CONNECT_TIMEOUT", "Remote", "RemoteLab", "Target", "sudo_wrap"]
