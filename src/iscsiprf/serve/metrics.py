"""Prometheus metrics for the counters, read from the source at scrape time.

Every family is planned once from the schema: for each class with integer data items, one
family per item, named `iscsiprf_<class>_<property>` in snake case (`MSiSCSI_MMIPSECStats` →
`mmipsec`, `OakleyMainMode` → `oakley_main_mode`), a counter (`…_total`) for cumulative
counters and a gauge for the gauge-like ones, with the MOF Description as HELP and the label
`instance_name`. Two writers share that plan:

* `IscsiprfCollector` — a prometheus_client custom collector (for a registry, and as the
  reference the fast writer is checked against);
* `render_text` — writes the text exposition format (0.0.4) directly. prometheus_client's
  `generate_latest` builds a Metric and a Sample object per value and needs several hundred
  milliseconds for 1,000 instances × 21 counters; this writer only formats lines.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from iscsiprf.mof.model import INTEGER_TYPES, MofClass, Property, Schema

from .source import InstanceSource, instance_class

PREFIX = "iscsiprf"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def gauge_properties() -> dict[str, frozenset[str]]:
    """Which data items are gauges (levels sampled at query time, not counts of events), per
    lower-case class name: the GAUGE rules of the ipsec layer's counter mapping, the table
    docs/counters.md shows. Every other integer data item is cumulative."""
    from iscsiprf.ipsec.mapping import RULES, Kind

    return {
        cls.lower(): frozenset(p.lower() for p, rule in rules.items() if rule.kind is Kind.GAUGE)
        for cls, rules in RULES.items()
    }


_SNAKE_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_SNAKE_2 = re.compile(r"([a-z0-9])([A-Z])")


def snake(name: str) -> str:
    """`OakleyMainMode` → `oakley_main_mode`, `TotalGetSPI` → `total_get_spi`."""
    s = _SNAKE_2.sub(r"\1_\2", _SNAKE_1.sub(r"\1_\2", name))
    return re.sub(r"[^a-z0-9_]+", "_", s.lower()).strip("_")


def class_prefix(class_name: str) -> str:
    """`MSiSCSI_MMIPSECStats` → `mmipsec`: vendor prefix and `Stats`/`Statistics` suffix dropped."""
    base = class_name.split("_", 1)[1] if "_" in class_name else class_name
    for suffix in ("Statistics", "Stats"):
        if base.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
            break
    return snake(base)


def escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def escape_label(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


@dataclass(frozen=True, slots=True)
class FamilyPlan:
    name: str  # family name; counters get `_total` on their sample
    kind: str  # "counter" or "gauge"
    help: str
    cls: MofClass
    prop: Property

    @property
    def sample_name(self) -> str:
        return self.name + "_total" if self.kind == "counter" else self.name


def plan_families(
    schema: Schema, gauges: Mapping[str, frozenset[str]] | None = None
) -> list[FamilyPlan]:
    """The families of every concrete class with integer data items, in WmiDataId order."""
    gauges = gauge_properties() if gauges is None else gauges
    out: list[FamilyPlan] = []
    for cls in schema:
        if cls.qualifiers.has("Abstract"):
            continue
        items = [p for p in cls.data_items() if p.type in INTEGER_TYPES and not p.array]
        cls_gauges = gauges.get(cls.name.lower(), frozenset())
        for p in items:
            help_text = " ".join((p.description or f"{cls.name}.{p.name}").split())
            kind = "gauge" if p.name.lower() in cls_gauges else "counter"
            name = f"{PREFIX}_{class_prefix(cls.name)}_{snake(p.name)}"
            out.append(FamilyPlan(name, kind, help_text, cls, p))
    return out


_HEALTH_HELP = {
    "active": "1 when the instance is live (WMI Active = TRUE), 0 when it shows its last good values.",
    "events": "Events the collector has processed from its sources.",
    "errors": "Errors the collector met reading its sources (truncated records, lost connections).",
    "last": "Unix time of the collector's last successful sample.",
    "up": "1 when the last scrape could read every class from the collector.",
}


class _Scrape:
    """One consistent read of the source: instances per class, health, success."""

    def __init__(self, source: InstanceSource, classes: list[MofClass]) -> None:
        self.instances: dict[str, list[Mapping[str, Any]]] = {}
        self.up = 1
        for cls in classes:
            try:
                found = source.enumerate(cls.name)
            except Exception:
                self.up = 0
                found = []
            lname = cls.name.lower()
            self.instances[lname] = [
                i for i in found if instance_class(i, cls.name).lower() == lname
            ]
        try:
            self.health: Mapping[str, Any] = source.health()
        except Exception:
            self.up = 0
            self.health = {}


class MetricsView:
    """The plan for one source; `collect()` for prometheus_client, `render_text()` for speed."""

    def __init__(self, source: InstanceSource, gauges: Mapping[str, frozenset[str]] | None = None):
        self.source = source
        self.families = plan_families(source.schema, gauges)
        seen: dict[str, MofClass] = {}
        for f in self.families:
            seen.setdefault(f.cls.name.lower(), f.cls)
        self.classes = list(seen.values())
        # Families grouped by class (lower name), in plan order.
        self._by_class: list[tuple[str, list[FamilyPlan]]] = [
            (c.name.lower(), [f for f in self.families if f.cls is c]) for c in self.classes
        ]
        self._labels: dict[tuple[str, str], str] = {}
        self._lines: dict[tuple[str, Any], tuple[tuple[Any, ...], tuple[bytes, ...]]] = {}
        self._lock = threading.Lock()

    # --- prometheus_client ---------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        scrape = _Scrape(self.source, self.classes)
        for f in self.families:
            fam: CounterMetricFamily | GaugeMetricFamily
            if f.kind == "counter":
                fam = CounterMetricFamily(f.name, f.help, labels=["instance_name"])
            else:
                fam = GaugeMetricFamily(f.name, f.help, labels=["instance_name"])
            for inst in scrape.instances[f.cls.name.lower()]:
                v = inst.get(f.prop.name)
                if v is not None:
                    fam.add_metric([str(inst.get("InstanceName", ""))], v)
            yield fam
        active = GaugeMetricFamily(
            f"{PREFIX}_instance_active", _HEALTH_HELP["active"], labels=["class", "instance_name"]
        )
        for cls in self.classes:
            for inst in scrape.instances[cls.name.lower()]:
                active.add_metric(
                    [cls.name, str(inst.get("InstanceName", ""))], 1 if inst.get("Active") else 0
                )
        yield active
        h = scrape.health
        yield CounterMetricFamily(
            f"{PREFIX}_collector_events_processed",
            _HEALTH_HELP["events"],
            value=int(h.get("events_processed") or 0),
        )
        yield CounterMetricFamily(
            f"{PREFIX}_collector_source_errors",
            _HEALTH_HELP["errors"],
            value=int(h.get("source_errors") or 0),
        )
        last = h.get("last_success")
        if last is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_collector_last_success_timestamp_seconds",
                _HEALTH_HELP["last"],
                value=float(last),
            )
        yield GaugeMetricFamily(f"{PREFIX}_collector_up", _HEALTH_HELP["up"], value=scrape.up)

    # --- the fast writer -----------------------------------------------------------------------

    def _label(self, key: tuple[str, str]) -> str:
        """`{instance_name="…"}` (and class, for the active gauge), escaped once per instance."""
        s = self._labels.get(key)
        if s is None:
            cls_name, inst_name = key
            inner = f'instance_name="{escape_label(inst_name)}"'
            if cls_name:
                inner = f'class="{escape_label(cls_name)}",' + inner
            s = "{" + inner + "}"
            with self._lock:
                if len(self._labels) > 100_000:
                    self._labels.clear()
                self._labels[key] = s
        return s

    def _instance_lines(
        self, cls_name: str, fams: list[FamilyPlan], names: list[str], inst: Mapping[str, Any]
    ) -> tuple[bytes, ...]:
        """One exposition line per family for an instance (b"" for NULL), kept until a value changes."""
        values = tuple(map(inst.get, names))
        key = (cls_name, inst.get("InstanceName"))
        hit = self._lines.get(key)
        if hit is not None and hit[0] == values:
            return hit[1]
        label = self._label(("", str(inst.get("InstanceName", ""))))
        lines = tuple(
            b"" if v is None else f"{f.sample_name}{label} {int(v)}\n".encode()
            for f, v in zip(fams, values, strict=True)
        )
        with self._lock:
            if len(self._lines) > 100_000:
                self._lines.clear()
            self._lines[key] = (values, lines)
        return lines

    def render_text(self) -> bytes:
        """The text exposition format, family by family, from one read of the source."""
        scrape = _Scrape(self.source, self.classes)
        out: list[bytes] = []
        for cls_name, fams in self._by_class:
            names = [f.prop.name for f in fams]
            rows = [
                self._instance_lines(cls_name, fams, names, i) for i in scrape.instances[cls_name]
            ]
            columns = list(zip(*rows, strict=True)) if rows else [()] * len(fams)
            for f, column in zip(fams, columns, strict=True):
                out.append(
                    f"# HELP {f.sample_name} {escape_help(f.help)}\n# TYPE {f.sample_name} {f.kind}\n".encode()
                )
                out.append(b"".join(column))
        text: list[str] = []
        name = f"{PREFIX}_instance_active"
        text.append(f"# HELP {name} {escape_help(_HEALTH_HELP['active'])}\n# TYPE {name} gauge\n")
        for cls in self.classes:
            for inst in scrape.instances[cls.name.lower()]:
                key = (cls.name, str(inst.get("InstanceName", "")))
                text.append(f"{name}{self._label(key)} {1 if inst.get('Active') else 0}\n")
        h = scrape.health
        last = h.get("last_success")
        health: list[tuple[str, str, str, object]] = [
            (
                f"{PREFIX}_collector_events_processed_total",
                "counter",
                "events",
                int(h.get("events_processed") or 0),
            ),
            (
                f"{PREFIX}_collector_source_errors_total",
                "counter",
                "errors",
                int(h.get("source_errors") or 0),
            ),
        ]
        if last is not None:
            health.append(
                (f"{PREFIX}_collector_last_success_timestamp_seconds", "gauge", "last", float(last))
            )
        health.append((f"{PREFIX}_collector_up", "gauge", "up", scrape.up))
        for n, kind, key_, value in health:
            text.append(
                f"# HELP {n} {escape_help(_HEALTH_HELP[key_])}\n# TYPE {n} {kind}\n{n} {_num(value)}\n"
            )
        out.append("".join(text).encode("utf-8"))
        return b"".join(out)


_EXPORTER_HELP = {
    "build": "iscsiprf's version and the Python it runs on; always 1.",
    "scrape": "Seconds this scrape took to read the source and write the counter families.",
    "adapter_up": "1 when the adapter's collector is connected to its IKE daemon.",
    "adapter_errors": "Errors the adapter's collector met reading its sources.",
    "adapter_last": "Unix time of the adapter collector's last successful sample.",
}


def render_exporter_text(health: Mapping[str, Any], scrape_seconds: float) -> bytes:
    """The exporter's own families, appended to each scrape: build info, the scrape's duration,
    and per-adapter source health (live collectors list their adapters in `health()`)."""
    import platform

    from iscsiprf import __version__

    build = f"{PREFIX}_build_info"
    dur = f"{PREFIX}_scrape_duration_seconds"
    out = [
        f"# HELP {build} {_EXPORTER_HELP['build']}\n# TYPE {build} gauge\n"
        f'{build}{{version="{escape_label(__version__)}",'
        f'python="{escape_label(platform.python_version())}"}} 1\n',
        f"# HELP {dur} {_EXPORTER_HELP['scrape']}\n# TYPE {dur} gauge\n{dur} {scrape_seconds!r}\n",
    ]
    adapters = [a for a in health.get("adapters") or () if isinstance(a, Mapping)]
    if adapters:
        families: list[tuple[str, str, str, str]] = [
            (f"{PREFIX}_adapter_up", "gauge", "adapter_up", "active"),
            (f"{PREFIX}_adapter_source_errors_total", "counter", "adapter_errors", "source_errors"),
            (f"{PREFIX}_adapter_last_success_timestamp_seconds", "gauge", "adapter_last", "last_success"),
        ]  # fmt: skip
        for name, kind, help_key, field in families:
            out.append(f"# HELP {name} {_EXPORTER_HELP[help_key]}\n# TYPE {name} {kind}\n")
            for a in adapters:
                value = a.get(field)
                if value is None:
                    continue
                number = float(value) if field == "last_success" else int(value)
                out.append(
                    f'{name}{{device="{escape_label(str(a.get("device", "")))}"}} {_num(number)}\n'
                )
    return "".join(out).encode("utf-8")


def _num(v: object) -> str:
    if isinstance(v, float):
        return repr(v)
    return str(v)


class IscsiprfCollector(Collector):
    """The prometheus_client collector: register it with a `CollectorRegistry`."""

    def __init__(self, view: MetricsView) -> None:
        self.view = view

    def collect(self) -> Iterator[Metric]:
        return self.view.collect()
