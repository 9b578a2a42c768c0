"""The one exception family of the ipsec layer a caller has to catch: a one-line user message."""

from __future__ import annotations


class IpsecError(ValueError):
    """Configuration, state file or mapping problem; `str()` is the sentence to print."""
