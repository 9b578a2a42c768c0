"""A schema as plain data, to compare what a BMF decodes to with what its MOF compiles to.

Flavors are compared by what they mean in a BMF (the bits ToInstance, ToSubclass,
DisableOverride, Amended), not by how the MOF spelled them.
"""

from __future__ import annotations

from typing import Any

from iscsiprf.mof import CompileResult
from iscsiprf.mof.model import Qualifiers

_FLAVOR_BITS = {"toinstance", "tosubclass", "disableoverride", "amended"}


def _quals(q: Qualifiers) -> list[Any]:
    return [
        (x.name.lower(), x.value, sorted({f.lower() for f in x.flavors} & _FLAVOR_BITS))
        for x in q.values()
        if not x.propagated
    ]


def schema_dump(result: CompileResult) -> dict[str, Any]:
    classes = []
    for c in result.user_classes():
        classes.append(
            {
                "name": c.name,
                "superclass": (c.superclass or "").lower(),
                "namespace": c.namespace.lower(),
                "qualifiers": _quals(c.qualifiers),
                "properties": [
                    (p.name, p.type.lower(), p.array, p.array_size, (p.ref_class or "").lower(),
                     p.default, _quals(p.qualifiers), p.class_origin.lower())
                    for p in c.properties.values()
                ],
                "methods": [
                    (m.name, m.return_type.lower(), _quals(m.qualifiers),
                     [(a.name, a.type.lower(), a.array, a.array_size, _quals(a.qualifiers))
                      for a in m.parameters])
                    for m in c.methods.values()
                ],
            }
        )  # fmt: skip
    instances = [
        (i.class_name.lower(), i.namespace.lower(), dict(i.values)) for i in result.schema.instances
    ]
    return {"classes": classes, "instances": instances}
