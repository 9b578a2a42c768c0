"""The one error the WQL layer raises: a sentence and the column it is about."""

from __future__ import annotations


class WqlError(Exception):
    """A WQL query that cannot be parsed, bound to the schema or type-checked.

    ``column`` is 1-based and counts characters from the start of the query text, so a
    front end can point at the spot (``<query>:1:COL: error: ...``).
    """

    def __init__(self, column: int, message: str) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column
        self.message = message

    def line_col(self, text: str) -> tuple[int, int]:
        """Line and column of the error inside ``text`` (the query the error came from)."""
        offset = max(0, min(self.column - 1, len(text)))
        line = text.count("\n", 0, offset) + 1
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return line, col
