"""Restarts: the IKE daemon killed and started again, and iscsiprf's collector restarted."""

from __future__ import annotations

import time

import pytest
from counter_watch import Counted

from iscsiprf.lab import daemon, scenarios

pytestmark = pytest.mark.lab

CHILD_SA = {"TotalGetSPI": 1, "KeyAdditions": 1, "KeyUpdates": 1}


def wait_active(counted: Counted, key: str, want: bool, timeout: float) -> float:
    """Seconds until the collector's Active flag equals `want` (fails after `timeout`)."""
    started = time.monotonic()
    while counted.watch.collectors[key].active != want:
        if time.monotonic() - started > timeout:
            pytest.fail(f"Active of node {key} not {want} within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def test_daemon_killed_and_restarted(counted: Counted) -> None:
    labs = counted.session
    assert labs.initiate(1).ok and labs.initiate(2).ok
    counted.rebase()
    last_values = counted.watch.collectors["B"].values()
    pre_kill = counted.watch.values()["B"]
    old_pid = daemon.running_pid(labs.lab.b)
    out = scenarios.observe_kill(labs, "B")
    # The instance stays with its last values and shows Active = FALSE within 15 s.
    assert wait_active(counted, "B", False, 15) < 15
    assert counted.watch.collectors["B"].values() == last_values
    time.sleep(6)  # down long enough for the reconnect backoff to reach its cap
    started = time.monotonic()
    labs.start("B")
    assert time.monotonic() - started < 30  # start waits until the collector is Active again
    assert counted.watch.collectors["B"].active
    new_pid = daemon.running_pid(labs.lab.b)
    assert old_pid is not None and new_pid is not None and new_pid != old_pid
    assert out.counters_after["B"] == {}  # the daemon was down when the scenario ended
    # Nothing is counted again for the new daemon run; the old run's two CHILD_SAs are gone.
    expected = {"B": {"QM": {"KeyDeletions": 2}}}
    assert counted.delta(expected) == expected
    # Counters continue from where they were: a new negotiation adds on top.
    labs.reset()
    counted.rebase()
    assert scenarios.establish(labs, 1).initiate.ok  # type: ignore[union-attr]
    side = {
        "MM": {"OakleyMainMode": 1, "OakleyQuickMode": 1, **CHILD_SA},
        "QM": {"KeyAdditions": 1},
    }
    expected = {"A": side, "B": side}
    assert counted.delta(expected) == expected
    # Monotonic across the daemon's restart (whose own counters started again from zero).
    final = counted.watch.values()["B"]
    for cls, row in pre_kill.items():
        assert all(final[cls][p] >= v for p, v in row.items())


def test_iscsiprf_restarted_loses_nothing_pullable_and_counts_nothing_twice(
    counted: Counted,
) -> None:
    labs, watch = counted.session, counted.watch
    watch.stop("B")
    # While B's collector is down: a counters-plugin event and a new CHILD_SA (both re-readable).
    scenarios.unknown_cookie_v1(labs)
    assert labs.initiate(2).ok
    watch.start("B")
    expected = {
        "A": {"MM": dict(CHILD_SA), "QM": {"KeyAdditions": 1}},
        "B": {"MM": {"InvalidCookiesReceived": 1, **CHILD_SA}, "QM": {"KeyAdditions": 1}},
    }
    assert counted.delta(expected) == expected
    gaps = [g for g in watch.collectors["B"].gaps if g.kind == "collector"]
    assert gaps and gaps[-1].length > 0  # the time it was down is exposed, not hidden
    # A second restart with nothing new: no double count.
    watch.stop("B")
    watch.start("B")
    assert counted.delta(expected) == expected
