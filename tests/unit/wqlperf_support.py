"""Schemas and instances shared by the wql/perf/query-CLI tests."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from iscsiprf.mof import load_builtin_schema
from iscsiprf.mof.model import MofClass, Property, Qualifier, Qualifiers, Schema

MM = "MSiSCSI_MMIPSECStats"
QM = "MSiSCSI_QMIPSECStats"
SUB = "Test_MMIPSECStatsEx"  # a test-only subclass of MSiSCSI_MMIPSECStats


def quals(**values: Any) -> Qualifiers:
    q = Qualifiers()
    for name, value in values.items():
        q.add(Qualifier(name, value))
    return q


@cache
def _schema() -> Schema:
    schema = copy.deepcopy(load_builtin_schema())
    mm = schema.cls(MM)
    props = {k: copy.deepcopy(v) for k, v in mm.properties.items()}
    props["extra"] = Property("Extra", "string", quals(read=True), class_origin=SUB)
    sub = MofClass(
        SUB, MM, mm.namespace, quals(WMI=True, Dynamic=True), props, local_properties=["extra"]
    )
    schema.add_class(sub)
    return schema


def schema() -> Schema:
    """The built-in schema plus a subclass of MSiSCSI_MMIPSECStats (do not mutate)."""
    return _schema()


def perf_class(name: str, counters: list[tuple[str, str | int]]) -> MofClass:
    """A Win32_PerfRawData-like class with the given (property, CounterType) data items."""
    base = load_builtin_schema().cls(MM)
    props: dict[str, Property] = {}
    for key, prop in base.properties.items():
        if prop.data_id is None:
            props[key] = copy.deepcopy(prop)
    from iscsiprf.perf import COUNTER_TYPES_BY_NAME

    for i, (pname, ctype) in enumerate(counters, start=1):
        code = COUNTER_TYPES_BY_NAME[ctype].code if isinstance(ctype, str) else ctype
        props[pname.lower()] = Property(
            pname, "uint64", quals(read=True, WmiDataId=i, CounterType=code)
        )
    return MofClass(name, "Win32_PerfRawData", "root/wmi", quals(WMI=True, PerfDetail=200), props)


def mm_instance(name: str, active: bool = True, **counters: int) -> dict[str, Any]:
    cls = load_builtin_schema().cls(MM)
    inst: dict[str, Any] = {"__CLASS": MM, "InstanceName": name, "Active": active}
    for i, item in enumerate(cls.data_items()):
        inst[item.name] = counters.get(item.name, i)
    return inst
