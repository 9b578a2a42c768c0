"""The provider ↔ broker contract, checked: a reply to QUERY_ALL_DATA is a list of data blocks
(``bytes``), one per instance asked for, each exactly the layout's size — or, for a variable
layout, one that unpacks; a dynamic class also names its instances (``DataBlocks``), unique and
non-empty. A static class's names are the broker's, whatever the provider says.

A reply that passes becomes the registration's last good data; one that does not marks the
registration failed (health.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .health import failed, recovered
from .naming import InstanceNameError, check_dynamic_names
from .provider import DataBlocks
from .registry import Registration

# A provider's checked reply: data blocks and (dynamic classes) names; None when it failed.
Got = tuple[Sequence[bytes], Sequence[str] | None] | None


def reject(r: Registration, why: str) -> Got:
    """Record a failed query; the reply is "nothing new" (the last good data stands)."""
    failed(r, why)
    return None


def accept(r: Registration, reply: Any, count: int | None, now: int) -> Got:
    """Check a reply; remember it as the last good data."""
    size = r.info.size
    # Fast path: a static-named, fixed-size class answered with a list of exact blocks.
    if (
        (type(reply) is list or type(reply) is tuple)
        and r.names is not None
        and size is not None
        and len(reply) == count
    ):
        for b in reply:
            if type(b) is not bytes or len(b) != size:
                break
        else:
            if not r.active or r.failures:
                recovered(r)
            r.last_ok = now
            if count == r.count:
                r.last_blocks = reply
            return reply, None
    names: Sequence[str] | None = None
    if isinstance(reply, DataBlocks):
        blocks, names = reply.blocks, reply.names
    else:
        blocks = reply
    if not isinstance(blocks, list | tuple):
        return reject(r, f"returned {type(blocks).__name__}, not a list of data blocks")
    n = len(blocks)
    if r.names is None:  # dynamic: the provider names what it returns
        if names is None:
            return reject(r, "returned no instance names for a dynamic class")
        try:
            check_dynamic_names(names, n)
        except InstanceNameError as e:
            return reject(r, str(e))
    elif n != count:
        return reject(r, f"returned {n} data blocks for {count} instances")
    else:
        names = None  # static names are the broker's, whatever the provider said
    for i, b in enumerate(blocks):
        if not isinstance(b, bytes):
            return reject(r, f"data block {i} is {type(b).__name__}, not bytes")
        if size is not None and len(b) != size:
            return reject(r, f"data block {i} is {len(b)} bytes, the layout has {size}")
    if size is None:  # variable layouts: the block must decode
        for i, b in enumerate(blocks):
            try:
                r.info.layout.unpack(b, 0)
            except Exception as e:
                return reject(r, f"data block {i} does not match the layout: {e}")
    if not r.active or r.failures:
        recovered(r)
    r.last_ok = now
    if r.names is None or count == r.count:
        r.last_blocks, r.last_names = blocks, names
    return blocks, names
