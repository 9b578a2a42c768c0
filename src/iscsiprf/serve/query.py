"""WQL for the servers: the wql layer's compiled queries, behind the three things ExecQuery and
`watch` need (the class, the selected properties, a row matcher)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from iscsiprf.mof.model import Schema
from iscsiprf.wql import WqlError, compile_query


class QueryError(Exception):
    """A query that cannot run; the message names the column, `.error` is the wql layer's."""

    def __init__(self, message: str, error: WqlError) -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True, slots=True)
class ServedQuery:
    class_name: str
    properties: tuple[str, ...] | None  # None for SELECT *; else keys first, schema spelling
    matches: Callable[[Mapping[str, Any]], bool]


def compile_wql(schema: Schema, text: str) -> ServedQuery:
    try:
        q = compile_query(text, schema)
    except WqlError as e:
        raise QueryError(f"column {e.column}: {e.message}", e) from None
    return ServedQuery(q.cls.name, None if q.select_all else q.columns, q.match)
