"""Fixtures for tests on the real lab.

`scripts/run-tests.sh` gives the test lab a name and subnet of its own
(WORKSHOP_LAB, WORKSHOP_SUBNET); run directly, pytest uses the same defaults.
The test lab is disposable: ``WORKSHOP_REPLACE=1`` lets `up` replace what an earlier
run left of it, from another folder (a fresh clone) or from a kit that did not label
its owner yet, where a user's `up` would refuse.
"""

from __future__ import annotations

import os

import pytest

TEST_LAB = "wstest"
TEST_SUBNET = "192.168.57"


@pytest.fixture(scope="session")
def lab_settings_env() -> str:
    """Make sure the tests never touch a user's own lab; returns the test lab's name."""
    os.environ.setdefault("WORKSHOP_LAB", TEST_LAB)
    os.environ.setdefault("WORKSHOP_SUBNET", TEST_SUBNET)
    if os.environ["WORKSHOP_LAB"] == "workshop":
        pytest.fail("the lab tests destroy their lab: give them one of their own (WORKSHOP_LAB)")
    os.environ.setdefault("WORKSHOP_REPLACE", "1")
    return os.environ["WORKSHOP_LAB"]


@pytest.fixture(scope="session")
def lab_subnet(lab_settings_env: str) -> str:
    """The test lab's subnet (three octets)."""
    return os.environ["WORKSHOP_SUBNET"]
