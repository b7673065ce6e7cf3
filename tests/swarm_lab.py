"""Pytest plugin: a swarm lab shared by the dashboard's lab and browser tests.

Load it with ``pytest_plugins = ["tests.swarm_lab"]``; the helpers live in
:mod:`tests.swarm_setup`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.swarm_setup import LAB_NAME, LAB_SUBNET, ROOT, lab_env, swarm_ready, while_locked
from workshop import Lab


@pytest.fixture(scope="session")
def swarm_lab() -> Iterator[Lab]:
    """A running 3-node swarm with ``helloworld`` (6 replicas); destroyed afterwards.

    The lab's name and subnet are in the environment only while the Lab object is
    made (it keeps its settings), so other tests of the session keep their own lab.
    A child process (a Jupyter kernel) needs :func:`tests.swarm_setup.swarm_lab_env`.
    """
    with lab_env(LAB_NAME, LAB_SUBNET):
        lab = Lab.from_vagrant(ROOT, discover=False)
    try:
        while_locked(lab.up)
        yield swarm_ready(lab)
    finally:
        if os.environ.get("SWARM_LAB_KEEP") != "1":
            while_locked(lab.destroy)
