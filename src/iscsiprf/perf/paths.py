"""typeperf-style counter paths: ``[\\\\machine]\\Object(Instance)\\Counter``.

The object is a class name (``MSiSCSI_MMIPSECStats``), the instance its ``InstanceName``
(which itself contains backslashes: ``ROOT\\ISCSIPRT\\0000_0``), the counter a property with a
CounterType. ``(*)`` stands for every instance and ``\\*`` for every displayed counter. Names
match case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..mof.model import MofClass, Schema
from .counters import CounterDef, class_counters

WILDCARD = "*"


class CounterPathError(ValueError):
    """A counter path that cannot be parsed or names nothing in the schema."""


@dataclass(frozen=True, slots=True)
class CounterPath:
    text: str
    machine: str | None
    object: str
    instance: str | None  # None when the path has no (instance) part
    counter: str


def parse_counter_path(text: str) -> CounterPath:
    if not text.startswith("\\"):
        raise CounterPathError(
            f"{text}: a counter path starts with '\\' (\\Object(Instance)\\Counter)"
        )
    rest = text
    machine: str | None = None
    if rest.startswith("\\\\"):
        machine, sep, tail = rest[2:].partition("\\")
        if not machine or not sep:
            raise CounterPathError(f"{text}: expected \\\\machine\\Object(Instance)\\Counter")
        rest = "\\" + tail
    rest = rest[1:]
    paren = rest.find("(")
    slash = rest.find("\\")
    instance: str | None = None
    if paren != -1 and (slash == -1 or paren < slash):
        obj = rest[:paren]
        close = rest.rfind(")\\")
        if close < paren:
            raise CounterPathError(f"{text}: '(' of the instance is not closed by ')\\Counter'")
        instance = rest[paren + 1 : close]
        counter = rest[close + 2 :]
        if not instance:
            raise CounterPathError(f"{text}: empty instance name in ()")
    else:
        if slash == -1:
            raise CounterPathError(f"{text}: expected \\Object(Instance)\\Counter")
        obj, counter = rest[:slash], rest[slash + 1 :]
    if not obj:
        raise CounterPathError(f"{text}: no object (class) name")
    if not counter or "\\" in counter:
        raise CounterPathError(f"{text}: expected one counter name (or *) after the last '\\'")
    return CounterPath(text, machine, obj, instance, counter)


@dataclass(frozen=True, slots=True)
class CounterSelection:
    """A parsed path bound to the schema: the class and the counters it names."""

    path: CounterPath
    cls: MofClass
    counters: tuple[CounterDef, ...]

    @property
    def all_instances(self) -> bool:
        return self.path.instance == WILDCARD

    def matches_instance(self, instance_name: str) -> bool:
        wanted = self.path.instance
        return wanted == WILDCARD or (
            wanted is not None and wanted.casefold() == instance_name.casefold()
        )


def bind_counter_path(path: CounterPath, schema: Schema) -> CounterSelection:
    cls = schema.get(path.object)
    if cls is None:
        raise CounterPathError(f"{path.text}: unknown performance object {path.object!r}")
    displayed = [c for c in class_counters(cls) if c.type.displayed]
    if not displayed:
        raise CounterPathError(f"{path.text}: {cls.name} has no displayed counters")
    if path.instance is None:
        raise CounterPathError(
            f"{path.text}: {cls.name} has instances; name one, e.g. \\{cls.name}(*)\\{path.counter}"
        )
    if path.counter == WILDCARD:
        chosen = displayed
    else:
        chosen = [c for c in displayed if c.name.casefold() == path.counter.casefold()]
        if not chosen:
            raise CounterPathError(f"{path.text}: {cls.name} has no counter {path.counter!r}")
    return CounterSelection(path, cls, tuple(chosen))
