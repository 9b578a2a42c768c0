"""WQL: parse, bind to the schema, and run queries over instance sources.

>>> result = run_query("SELECT * FROM MSiSCSI_MMIPSECStats WHERE ActiveAcquire > 0", schema, source)
"""

from .compiler import CompiledQuery, compile_query
from .engine import QueryResult, run_query
from .errors import WqlError
from .parser import parse
from .snapshot import (
    DEFAULT_CLASS,
    SnapshotError,
    SnapshotFileSource,
    dump_snapshot,
    parse_snapshot,
    snapshot_objects,
)
from .sources import InstanceSource, ListSource

__all__ = [
    "DEFAULT_CLASS",
    "CompiledQuery",
    "InstanceSource",
    "ListSource",
    "QueryResult",
    "SnapshotError",
    "SnapshotFileSource",
    "WqlError",
    "compile_query",
    "dump_snapshot",
    "parse",
    "parse_snapshot",
    "run_query",
    "snapshot_objects",
]
