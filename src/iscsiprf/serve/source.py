"""Where the servers get classes and instances: one small protocol, and the snapshot source.

The CIM-XML server, the Prometheus collector and `watch` read instances through
`InstanceSource` only, so a live collector (strongSwan, through the broker) and a recorded
snapshot (a JSON file written by `iscsiprf query --format json`) serve the same way.

An instance is a plain dict: `InstanceName` (the key), `Active`, the data items by their MOF
names, and optionally `__CLASS` when it is not the class that was asked for.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from iscsiprf.mof.model import Schema
from iscsiprf.perf.timestamps import STAMP_PROPERTIES
from iscsiprf.wql import sources as wql_sources
from iscsiprf.wql.snapshot import SnapshotError, parse_snapshot, read_snapshot_text

DEFAULT_SNAPSHOT_CLASS = "MSiSCSI_MMIPSECStats"
"""Objects in a snapshot without `__CLASS` are instances of this class (issue 4's file format)."""

Instance = dict[str, Any]


class SourceError(Exception):
    """A source could not be opened or read; the message is one sentence for the user."""


@runtime_checkable
class InstanceSource(wql_sources.InstanceSource, Protocol):
    """What the servers need from a collector: the query layer's instance source, plus the
    schema, single-instance lookup, health and shutdown."""

    @property
    def schema(self) -> Schema: ...

    def enumerate(self, class_name: str) -> list[Instance]:
        """Instances whose class is `class_name` (subclasses may be included; callers filter)."""
        ...

    def get(self, class_name: str, instance_name: str) -> Instance | None: ...

    def health(self) -> Mapping[str, Any]:
        """`events_processed` (int), `source_errors` (int), `last_success` (unix time or None)."""
        ...

    def close(self) -> None:
        """Stop collecting and flush state; called once at shutdown."""
        ...


def instance_class(inst: Mapping[str, Any], default: str) -> str:
    cls = inst.get("__CLASS")
    return cls if isinstance(cls, str) and cls else default


class SnapshotSource:
    """Instances from a JSON snapshot file (checked by the wql layer's snapshot reader).

    The file is re-read when its modification time or size changes, so `watch --snapshot`
    follows a file that something else rewrites; between changes nothing is copied.
    """

    def __init__(self, schema: Schema, path: str | Path) -> None:
        self._schema = schema
        self._path = str(path)
        self._stamp: tuple[int, int] | None = None
        self._by_class: dict[str, list[Instance]] = {}
        self._by_key: dict[tuple[str, str], Instance] = {}
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._errors = 0
        self._reload(initial=True)

    def _reload(self, initial: bool = False) -> None:
        try:
            st = os.stat(self._path)
            if (st.st_mtime_ns, st.st_size) == self._stamp:
                return
            text, stamp = read_snapshot_text(self._path)  # a regular file, bounded in size
            instances = parse_snapshot(text, self._schema, self._path)
        except (OSError, UnicodeDecodeError, SnapshotError) as e:
            if initial:
                raise SourceError(_snapshot_message(self._path, e)) from None
            self._errors += 1  # keep serving the last good snapshot
            return
        by_class: dict[str, list[Instance]] = {}
        by_key: dict[tuple[str, str], Instance] = {}
        for inst in instances:
            # Served as a live provider serves them: Win32_PerfRawData's clock NULL (the file's
            # stamps belong to the query that wrote it; see docs/serving.md).
            for prop in STAMP_PROPERTIES:
                inst.pop(prop, None)
            cls = str(inst.get("__CLASS") or DEFAULT_SNAPSHOT_CLASS).lower()
            by_class.setdefault(cls, []).append(inst)
            by_key[(cls, str(inst.get("InstanceName", "")).lower())] = inst
        with self._lock:
            self._by_class, self._by_key, self._stamp = by_class, by_key, stamp
            self._loaded_at = time.time()

    @property
    def schema(self) -> Schema:
        return self._schema

    def enumerate(self, class_name: str) -> list[Instance]:
        self._reload()
        return list(self._by_class.get(class_name.lower(), ()))

    def get(self, class_name: str, instance_name: str) -> Instance | None:
        self._reload()
        return self._by_key.get((class_name.lower(), instance_name.lower()))

    def generation(self) -> tuple[tuple[int, int] | None, int]:
        """Changes whenever what this source serves may have changed (file or error count);
        the servers share one rendering per generation (serve/render_cache.py)."""
        self._reload()
        return self._stamp, self._errors

    def health(self) -> Mapping[str, Any]:
        return {
            "source": f"snapshot {self._path}",
            "events_processed": 0,
            "source_errors": self._errors,
            "last_success": self._loaded_at,
        }

    def close(self) -> None:
        pass


def _snapshot_message(path: str, e: Exception) -> str:
    if isinstance(e, SnapshotError):
        return str(e)
    if isinstance(e, OSError):
        return f"{path}: cannot read snapshot: {e.strerror or e}"
    return f"{path}: not UTF-8 text"


def load_snapshot(schema: Schema, path: str | Path) -> SnapshotSource:
    """Open a snapshot file (the format `iscsiprf query --format json` writes)."""
    return SnapshotSource(schema, path)


def open_live_source(config_path: Path | None, *, beside_running: bool = False) -> InstanceSource:
    """THE hook for `--config` (and for no source option): the live strongSwan collector.

    The ipsec layer builds providers from the TOML file, registers them with a broker and
    starts collecting; whatever it returns only has to satisfy `InstanceSource`. With
    `beside_running` (watch), adapters whose state file a running `serve` holds are read as
    that serve writes them (read-only: state file + fresh vici gauges, at every sample).
    """
    from iscsiprf.ipsec import CollectorRunning, IpsecError, open_collector, open_source

    try:
        try:
            source: InstanceSource = open_collector(config_path)
        except CollectorRunning:
            if not beside_running:
                raise
            reader = open_source(config_path)
            reader.notes.insert(0, "a collector is running on these adapters: reading its state")
            source = reader
    except IpsecError as e:  # configuration, state file and other user errors of the ipsec layer
        raise SourceError(str(e)) from None
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        raise SourceError(f"cannot start the live collector: {where}{e.strerror or e}") from None
    return source


def instances_of(source: InstanceSource, class_name: str) -> list[tuple[str, Instance]]:
    """Instances of a class and of its subclasses, each with its own class name."""
    schema = source.schema
    cls = schema.cls(class_name)
    out: list[tuple[str, Instance]] = []
    for c in [cls, *schema.subclasses(cls.name)]:
        lname = c.name.lower()
        for inst in source.enumerate(c.name):
            if instance_class(inst, c.name).lower() == lname:
                out.append((c.name, inst))
    return out
