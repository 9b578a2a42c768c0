"""Diagnostics with a place: every problem in a MOF file names file, line and column."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Location


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: str  # "error" or "warning"
    location: Location
    message: str

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
