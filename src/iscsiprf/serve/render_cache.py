"""One rendering per request and sampling generation, shared by every client that asks for it.

Sixteen WBEM clients enumerating 1,000 instances, or fifty Prometheus servers scraping the same
exporter, ask for the same bytes. `RenderCache.get(key, generation, render)` renders once per
(key, generation) and hands the same `bytes` object to every caller: concurrent callers wait for
the rendering in flight (single flight) instead of starting their own, and later callers of the
same generation get the finished bytes at once.

The generation is the source's own word for "the data has not changed": `source_generation()`
asks the source for it (`generation()`, optional; the snapshot source has one). A source without
one (the live collector) still gets single flight — callers that arrive while a rendering is in
flight share it — but a finished rendering is never reused: the next request renders again and
sees fresh values.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

MAX_ENTRIES = 32
MAX_BYTES = 128 << 20  # finished renderings kept, all keys together


def source_generation(source: object) -> Hashable | None:
    """The source's sampling generation, or None when it has no such notion."""
    fn = getattr(source, "generation", None)
    if not callable(fn):
        return None
    gen = fn()
    return gen if isinstance(gen, Hashable) else None


class _Flight:
    __slots__ = ("generation", "done", "value", "error")

    def __init__(self, generation: Hashable | None) -> None:
        self.generation = generation
        self.done = threading.Event()
        self.value: bytes | None = None
        self.error: BaseException | None = None


class RenderCache:
    """Renderings keyed by (request key, generation), bounded in entries and bytes."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, _Flight] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, generation: Hashable | None, render: Callable[[], bytes]) -> bytes:
        with self._lock:
            flight = self._entries.get(key)
            if flight is not None and self._shareable(flight, generation):
                self._entries.move_to_end(key)
                owner = False
            else:
                if flight is not None:
                    self._forget(key)
                flight = self._entries[key] = _Flight(generation)
                owner = True
        if not owner:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            assert flight.value is not None
            return flight.value
        try:
            value = render()
        except BaseException as e:
            flight.error = e
            with self._lock:
                if self._entries.get(key) is flight:
                    del self._entries[key]
            flight.done.set()
            raise
        flight.value = value
        with self._lock:
            flight.done.set()  # under the lock, so the byte count always matches `done`
            if self._entries.get(key) is flight:
                if generation is None:
                    del self._entries[key]  # single flight only: nobody may reuse it later
                else:
                    self._bytes += len(value)
                    self._evict()
        return value

    @staticmethod
    def _shareable(flight: _Flight, generation: Hashable | None) -> bool:
        if not flight.done.is_set():
            # In flight: join it when it renders the same generation, or when the source has
            # none (then it started after nothing newer could be known).
            return generation is None or flight.generation == generation
        return generation is not None and flight.generation == generation

    def _forget(self, key: Hashable) -> None:
        flight = self._entries.pop(key)
        if flight.done.is_set() and flight.value is not None and flight.generation is not None:
            self._bytes -= len(flight.value)

    def _evict(self) -> None:
        # Oldest first, passing over renderings still in flight (others wait for them; they are
        # counted when done), so one slow rendering cannot let finished ones pile up.
        for key in list(self._entries):
            if len(self._entries) <= self._max_entries and self._bytes <= self._max_bytes:
                return
            if self._entries[key].done.is_set():
                self._forget(key)

    def __len__(self) -> int:
        return len(self._entries)
