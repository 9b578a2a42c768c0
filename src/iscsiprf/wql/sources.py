"""Where instances come from: any object with ``enumerate(class_name) -> instances``.

A source answers for a class *and its subclasses* (WQL includes them), one dict per instance,
keyed by the schema's property spelling, with ``__CLASS`` naming the instance's own class and
``InstanceName``/``Active`` as WMI adds them. Snapshots, the broker and the live collector all
plug in through this one method; ``iscsiprf.wmi.broker.Broker`` is a source as it stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ..mof.model import Schema

Instance = Mapping[str, Any]


class InstanceSource(Protocol):
    def enumerate(self, class_name: str) -> Iterable[Instance]:
        """All instances of ``class_name`` and of its subclasses, as of one sample."""
        ...


class ListSource:
    """Instances held in memory (each carries ``__CLASS``); answers with the matching classes."""

    def __init__(self, schema: Schema, instances: Iterable[Instance]) -> None:
        self.schema = schema
        self.instances = list(instances)

    def enumerate(self, class_name: str) -> list[Instance]:
        wanted = class_family(self.schema, class_name)
        return [i for i in self.instances if str(i.get("__CLASS", "")).casefold() in wanted]


def class_family(schema: Schema, class_name: str) -> frozenset[str]:
    """Case-folded names of a class and all its subclasses."""
    cls = schema.cls(class_name)
    return frozenset(
        [cls.name.casefold()] + [c.name.casefold() for c in schema.subclasses(cls.name)]
    )
