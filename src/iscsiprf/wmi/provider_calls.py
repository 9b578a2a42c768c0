"""Calling providers: inline or on a thread pool (``may_block``), within the broker's timeout;
each reply is then checked (replies.py) before it counts as the last good data.

Any provider bug is contained here: an exception, a malformed reply or a late one marks the
registration failed (health.py) and the query goes on with its last good data.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .health import describe
from .registry import Registration, Registry
from .replies import Got, accept, reject

# What a query collects per registration: its blocks and names, and whether they are fresh.
Collected = tuple[Registration, Sequence[bytes], Sequence[str] | None, bool]


class ProviderCalls:
    def __init__(
        self, registry: Registry, timeout: float, clock: Callable[[], int], max_workers: int
    ) -> None:
        self._registry = registry
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._max_workers = max_workers
        self._executor: cf.ThreadPoolExecutor | None = None

    def _pool(self) -> cf.ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = cf.ThreadPoolExecutor(self._max_workers, "iscsiprf-wmi")
            return self._executor

    def close(self) -> None:
        """Stop the worker threads used for blocking providers (a stuck call is abandoned)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def collect(self, regs: Sequence[Registration], now: int | None = None) -> list[Collected]:
        """Ask every registration for all its instances; blocking ones run in parallel."""
        if now is None:
            now = self._clock()
        deadline = 0.0
        started: dict[int, cf.Future[Any] | None] = {}
        if self._registry.blocking:  # start every blocking provider first: they run in parallel
            deadline = time.monotonic() + self.timeout
            for i, r in enumerate(regs):
                if r.blocking and not r.event_only:
                    started[i] = self._start(r, 0, r.count)
        out: list[Collected] = []
        append = out.append
        monotonic = time.monotonic
        check = accept  # a local: this loop runs once per provider per query
        timeout = self.timeout
        got: Got
        for i, r in enumerate(regs):
            if r.event_only:
                continue
            if r.blocking:
                got = self._finish(r, started[i], deadline, r.count, now)
            else:  # _call_inline, unrolled: this loop runs once per provider per query
                t0 = monotonic()
                try:
                    reply = r.provider.query_data_block(r.class_name, 0, r.count)
                except Exception as e:  # any provider bug is contained here
                    got = reject(r, describe(e))
                else:
                    if monotonic() - t0 > timeout:
                        got = reject(r, f"answered after more than {timeout:g} s")
                    else:
                        got = check(r, reply, r.count, now)
            if got is not None:
                append((r, got[0], got[1], True))
            elif r.last_blocks is not None:
                append((r, r.last_blocks, r.last_names, False))
        return out

    def one(self, r: Registration, index: int) -> Got:
        """Ask a static-named registration for the one instance at ``index``."""
        now = self._clock()
        if r.provider.may_block:
            deadline = time.monotonic() + self.timeout
            return self._finish(r, self._start(r, index, 1), deadline, 1, now)
        return self._call_inline(r, index, 1, now)

    def _start(self, r: Registration, first: int, count: int | None) -> cf.Future[Any] | None:
        """Submit a blocking provider's query; None if it is still busy with an earlier one."""
        if r.pending is not None and not r.pending.done():
            return None
        fut = self._pool().submit(r.provider.query_data_block, r.class_name, first, count)
        r.pending = fut
        return fut

    def _finish(
        self, r: Registration, fut: cf.Future[Any] | None, deadline: float, count: int | None,
        now: int,
    ) -> Got:  # fmt: skip
        if fut is None:
            return reject(r, "still busy with an earlier request")
        try:
            reply = fut.result(timeout=max(0.0, deadline - time.monotonic()))
        except cf.TimeoutError:
            return reject(r, f"did not answer within {self.timeout:g} s")
        except Exception as e:  # any provider bug is contained here
            return reject(r, describe(e))
        return accept(r, reply, count, now)

    def _call_inline(self, r: Registration, first: int, count: int | None, now: int) -> Got:
        t0 = time.monotonic()
        try:
            reply = r.provider.query_data_block(r.class_name, first, count)
        except Exception as e:  # any provider bug is contained here
            return reject(r, describe(e))
        if time.monotonic() - t0 > self.timeout:
            return reject(r, f"answered after more than {self.timeout:g} s")
        return accept(r, reply, count, now)
