"""docs/architecture.md names the functions a counter passes through: each dotted name it gives
(`ipsec.counters.CounterEngine.feed`, ...) must exist in the code, so the map cannot drift."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
PACKAGES = "mof|codegen|wql|perf|wmi|ipsec|serve|lab|cli"


def _resolve(dotted: str) -> object:
    """The module, class, function or method ``iscsiprf.<dotted>`` names."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module("iscsiprf." + ".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_every_qualified_name_in_the_map_exists() -> None:
    names = sorted(set(re.findall(rf"`((?:{PACKAGES})\.[A-Za-z_.]+)`", DOC.read_text())))
    assert len(names) > 25  # the counter's path is there
    missing = []
    for name in names:
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert not missing, f"docs/architecture.md names what the code does not have: {missing}"


def test_the_resolver_rejects_a_missing_name() -> None:
    assert isinstance(_resolve("wmi.wnode"), ModuleType)
    try:
        _resolve("wmi.broker.Broker.no_such_method")
    except AttributeError:
        pass
    else:
        raise AssertionError("a missing name resolved")
