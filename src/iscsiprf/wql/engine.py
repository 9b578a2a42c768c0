"""Run a WQL query against an instance source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..mof.model import Schema
from .compiler import CompiledQuery, compile_query
from .sources import InstanceSource


@dataclass
class QueryResult:
    query: CompiledQuery
    instances: list[dict[str, Any]]  # projected: __CLASS plus the selected properties

    @property
    def columns(self) -> tuple[str, ...]:
        return self.query.columns


def run_query(query: str | CompiledQuery, schema: Schema, source: InstanceSource) -> QueryResult:
    """Compile (if needed) and run ``query``; one ``enumerate`` call on ``source``."""
    compiled = compile_query(query, schema) if isinstance(query, str) else query
    rows = compiled.filter(source.enumerate(compiled.cls.name))
    return QueryResult(compiled, [compiled.project(r) for r in rows])
