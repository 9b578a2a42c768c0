"""A two-namespace strongSwan lab shared by the lab tests (one per test session).

Namespaces are named `ipt-<pid>-A`/`-B` so parallel runs do not collide; every daemon is stopped by
its saved PID and both namespaces are deleted in teardown, also when tests fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from iscsiprf.lab import lifecycle, preflight, topology
from iscsiprf.lab.scenarios import LabSession

if TYPE_CHECKING:  # imported by the fixtures: other integration tests need no ipsec layer
    from counter_watch import Counted, CounterWatch


def _skip_reason() -> str | None:
    problems = preflight.problems()
    return "lab unavailable: " + "; ".join(problems) if problems else None


@pytest.fixture(scope="session")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lab")


@pytest.fixture(scope="session")
def lab(lab_dir: Path) -> Iterator[topology.Lab]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    the_lab = topology.make_lab(lab_dir, prefix=f"ipt-{os.getpid()}-")
    lifecycle.up(the_lab)
    try:
        yield the_lab
    finally:
        lifecycle.down(the_lab)


@pytest.fixture(scope="session")
def lab_session(lab: topology.Lab) -> Iterator[LabSession]:
    session = LabSession(lab)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def labs(lab_session: LabSession) -> LabSession:
    """The shared lab with no SA left and default settings on both nodes."""
    lab_session.reset()
    return lab_session


@pytest.fixture(scope="session")
def watch(lab_session: LabSession) -> Iterator[CounterWatch]:
    """iscsiprf collectors on both daemons; they re-attach after every daemon restart."""
    from counter_watch import CounterWatch

    counter_watch = CounterWatch(lab_session.lab)
    lab_session.after_start.append(counter_watch.wait_attached)
    try:
        yield counter_watch
    finally:
        lab_session.after_start.remove(counter_watch.wait_attached)
        counter_watch.close()


@pytest.fixture
def counted(labs: LabSession, watch: CounterWatch) -> Counted:
    from counter_watch import Counted

    return Counted(labs, watch)
