"""The WMI system classes iscsiprf supplies (`data/wmi_system.mof` in the package):
Win32_PerfRawData and its bases, __Event, __ExtrinsicEvent, WMIEvent, EventTrace. mofcomp
resolves such superclasses against the live repository; here they come from this file, parsed
only when a compiled file names one of them.
"""

from __future__ import annotations

from functools import lru_cache

from .lexer import Segment, TokenStream, lex_region
from .parser import ParseContext, Parser
from .source import LineIndex

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs 7 ms of every start
if TYPE_CHECKING:
    from .model import MofClass

SYSTEM_MOF = "wmi_system.mof"


@lru_cache(maxsize=1)
def _system_mof_text() -> str:
    return package_data(SYSTEM_MOF)


def package_bytes(name: str) -> bytes:
    """A binary file shipped in the package's `data` folder (the project's BMF)."""
    from importlib import resources

    return resources.files("iscsiprf.data").joinpath(name).read_bytes()


def package_data(name: str) -> str:
    """A text file shipped in the package's `data` folder."""
    # Imported here: importlib.resources costs more start-up than most compiles need it
    # (the DMTF schema never reads the package's own MOF).
    from importlib import resources

    return resources.files("iscsiprf.data").joinpath(name).read_text(encoding="utf-8")


def system_classes() -> dict[str, MofClass]:
    """Fresh (mutable) copies of the WMI system classes iscsiprf supplies."""
    ctx = ParseContext()
    text = _system_mof_text()
    stream = TokenStream(SYSTEM_MOF)
    stream.add_segment(
        Segment(SYSTEM_MOF, LineIndex(text), 0, len(text)), lex_region(text, 0, len(text))
    )
    Parser(stream, ctx).parse()
    for c in ctx.classes:
        c.builtin = True
    return {c.name.lower(): c for c in ctx.classes}
