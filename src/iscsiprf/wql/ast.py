"""The parsed form of a WQL query, before it is bound to a schema."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PropRef:
    """A property as written: ``Name`` or a dotted path into embedded objects."""

    path: tuple[str, ...]
    column: int

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | int | float | bool
    column: int

    @property
    def kind(self) -> str:
        """'boolean', 'number' or 'string'."""
        if isinstance(self.value, bool):
            return "boolean"
        if isinstance(self.value, int | float):
            return "number"
        return "string"


@dataclass(frozen=True, slots=True)
class Compare:
    """``prop op literal``; a ``literal op prop`` predicate is stored flipped."""

    prop: PropRef
    op: str  # one of = <> < > <= >=
    literal: Literal
    column: int  # of the operator


@dataclass(frozen=True, slots=True)
class IsNull:
    prop: PropRef
    negated: bool  # IS NOT NULL


@dataclass(frozen=True, slots=True)
class Like:
    prop: PropRef
    pattern: Literal  # a string


@dataclass(frozen=True, slots=True)
class Isa:
    prop: PropRef
    class_name: Literal  # a string


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Expr, ...]


Expr = Compare | IsNull | Like | Isa | Not | And | Or


@dataclass(frozen=True, slots=True)
class Query:
    properties: tuple[PropRef, ...] | None  # None for SELECT *
    class_name: str
    class_column: int
    where: Expr | None
