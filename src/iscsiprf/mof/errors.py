"""Diagnostics with a place: every problem in a MOF file names file, line and column."""

from __future__ import annotations

from .model import Location, Record


class Diagnostic(Record):
    __slots__ = ("severity", "location", "message")

    def __init__(self, severity: str, location: Location, message: str) -> None:
        self.severity = severity  # "error" or "warning"
        self.location = location
        self.message = message

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message}"


class MofError(Exception):
    """A MOF problem that stops compilation: carries path, line, column and a sentence."""

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(f"{location}: error: {message}")
        self.location = location
        self.message = message
        self.path = location.path
        self.line = location.line
        self.col = location.col

    @property
    def diagnostic(self) -> Diagnostic:
        return Diagnostic("error", self.location, self.message)
