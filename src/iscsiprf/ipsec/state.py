"""The adapter's state file: SQLite in WAL mode, one writer (the collector), readers never block.

Tables:
* `kv(key, value)` — JSON: `engine` (CounterEngine.snapshot), `values` (the last counter values,
  what `query` shows without a running collector), `health`, `heartbeat` (wall-clock seconds of
  the last write: how a restarted collector knows how long it was away).
* `gaps(kind, start, end, length, note)` — intervals in which push-only events may have been
  lost: `collector` (iscsiprf was not running), `daemon` (the daemon was unreachable).

Every save is one transaction (atomic: a reader sees the old or the new image, never a mix). The
writer holds an exclusive `flock` on `<file>.lock`, so a second collector is refused.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import IpsecError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gaps (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, start REAL NOT NULL, end REAL NOT NULL,
    length REAL NOT NULL, note TEXT NOT NULL DEFAULT ''
);
"""


class StateError(IpsecError):
    """The state file cannot be used (locked by another collector, unreadable)."""


class CollectorRunning(StateError):
    """Another collector (a running `iscsiprf serve`) holds the state file's lock."""


@dataclass(frozen=True, slots=True)
class Gap:
    kind: str
    start: float
    end: float
    length: float
    note: str = ""


@dataclass(slots=True)
class StateImage:
    engine: dict[str, Any] | None = None
    values: dict[str, dict[str, int]] | None = None
    health: dict[str, Any] = field(default_factory=dict)
    heartbeat: float | None = None


class StateWriter:
    """The collector's handle: exclusive, creates the file and its directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(f"{self.path}.lock", "a+")  # noqa: SIM115 - held for our lifetime
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise CollectorRunning(
                f"{self.path}: another collector is writing this state file"
            ) from None
        try:
            self._db = sqlite3.connect(
                self.path, timeout=5.0, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            raise StateError(f"{self.path}: not a usable state file: {exc}") from None

    def load(self) -> StateImage:
        try:
            return _load(self._db)
        except sqlite3.Error as exc:
            raise StateError(f"{self.path}: {exc}") from None

    def save(
        self,
        engine: dict[str, Any],
        values: dict[str, dict[str, int]],
        health: dict[str, Any],
        now: float,
    ) -> None:
        rows = [("engine", engine), ("values", values), ("health", health), ("heartbeat", now)]
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO kv(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                [(k, json.dumps(v, separators=(",", ":"))) for k, v in rows],
            )

    def record_gap(self, kind: str, start: float, end: float, note: str = "") -> Gap:
        gap = Gap(kind, start, end, max(0.0, end - start), note)
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO gaps(kind, start, end, length, note) VALUES(?, ?, ?, ?, ?)",
                (gap.kind, gap.start, gap.end, gap.length, gap.note),
            )
        return gap

    def gaps(self, limit: int = 100) -> list[Gap]:
        return _gaps(self._db, limit)

    def close(self) -> None:
        self._db.close()
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()


def _load(db: sqlite3.Connection) -> StateImage:
    image = StateImage()
    for key, value in db.execute("SELECT key, value FROM kv"):
        try:
            data = json.loads(value)
        except ValueError:
            continue  # a damaged entry: start that part afresh rather than not at all
        if key == "engine":
            image.engine = data
        elif key == "values":
            image.values = data
        elif key == "health":
            image.health = data
        elif key == "heartbeat":
            image.heartbeat = float(data)
    return image


def _gaps(db: sqlite3.Connection, limit: int) -> list[Gap]:
    rows = db.execute(
        "SELECT kind, start, end, length, note FROM gaps ORDER BY id DESC LIMIT ?", (limit,)
    ).fetchall()
    return [Gap(*r) for r in reversed(rows)]


def read_state(path: Path) -> tuple[StateImage, list[Gap]] | None:
    """A reader's view (read-only; never waits on the writer); None if there is no state file."""
    if not os.path.exists(path):
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.5)
    except sqlite3.Error as exc:
        raise StateError(f"{path}: {exc}") from None
    try:
        return _load(db), _gaps(db, 100)
    except sqlite3.Error as exc:
        raise StateError(f"{path}: {exc}") from None
    finally:
        db.close()
