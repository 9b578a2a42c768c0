"""Registration as a miniport does it: a provider passes its binary MOF (MofResource), and the
broker's classes — hence the CIM-XML server's classes and the WQL schema of the live sources —
come from it."""

from __future__ import annotations

from pathlib import Path

import pytest

import iscsiprf.data
from bmf_support import schema_dump
from iscsiprf.codegen.layout import class_layout
from iscsiprf.ipsec.live import open_source
from iscsiprf.ipsec.provider import IpsecProvider
from iscsiprf.mof import (
    builtin_mof_resource,
    compile_files,
    compile_text,
    decode_bmf,
    encode_bmf,
)
from iscsiprf.mof.model import Schema
from iscsiprf.mof.system import package_data
from iscsiprf.wmi.broker import Broker
from iscsiprf.wmi.provider import ValuesProvider
from iscsiprf.wmi.status import NtStatus, WmiStatusError

from shared_data import daemonless_adapters

MM = "MSiSCSI_MMIPSECStats"
PDO = "ROOT\\ISCSIPRT\\0000"


DATA_MOF = Path(iscsiprf.data.__file__).parent / "iscsiprf.mof"


def _text_compile() -> object:
    return compile_files([DATA_MOF])


def test_the_shipped_bmf_is_mof_encode_of_the_shipped_mof() -> None:
    assert builtin_mof_resource() == encode_bmf(_text_compile())  # type: ignore[arg-type]


def test_the_shipped_bmf_decodes_to_the_schema_of_the_mof() -> None:
    decoded = decode_bmf(builtin_mof_resource(), "iscsiprf.bmf")
    assert not decoded.errors
    assert schema_dump(decoded) == schema_dump(_text_compile())  # type: ignore[arg-type]


def _provider(schema: Schema, path: str = PDO, resource: bytes | None = None) -> ValuesProvider:
    cls = schema.cls(MM)
    values = {p.name: 1 for p in cls.data_items()}
    p = ValuesProvider(path, {MM: class_layout(cls, schema)}, {MM: [values]})
    p.mof_resource = builtin_mof_resource() if resource is None else resource
    return p


def test_a_broker_learns_its_classes_from_the_registered_mof_resource() -> None:
    text_schema = _text_compile().schema  # type: ignore[attr-defined]
    broker = Broker()
    assert broker.schema.get(MM) is None
    broker.register(_provider(text_schema))
    broker.register(_provider(text_schema, "ROOT\\ISCSIPRT\\0001"))  # same resource: read once
    assert broker.schema.cls(MM).guid == text_schema.cls(MM).guid
    assert broker.schema.get("Win32_PerfRawData") is not None  # its base came with it
    rows = broker.enumerate(MM)
    assert [r["InstanceName"] for r in rows] == [f"{PDO}_0", "ROOT\\ISCSIPRT\\0001_0"]


def test_without_a_mof_resource_the_class_is_unknown() -> None:
    text_schema = _text_compile().schema  # type: ignore[attr-defined]
    p = _provider(text_schema)
    p.mof_resource = None
    with pytest.raises(WmiStatusError) as err:
        Broker().register(p)
    assert err.value.status == NtStatus.WMI_GUID_NOT_FOUND


def test_a_resource_may_not_redefine_a_registered_class() -> None:
    text_schema = _text_compile().schema  # type: ignore[attr-defined]
    other = package_data("iscsiprf.mof").replace(
        "36B58EA2-C461-4bb0-AC8E-952F59D251ED", "00000000-C461-4bb0-AC8E-952F59D251ED"
    )
    assert other != package_data("iscsiprf.mof")
    broker = Broker()
    broker.register(_provider(text_schema))
    with pytest.raises(WmiStatusError, match="differs from the one already registered"):
        broker.register(_provider(text_schema, "ROOT\\X\\1", encode_bmf(compile_text(other))))


def test_a_broken_resource_is_refused_with_its_place() -> None:
    text_schema = _text_compile().schema  # type: ignore[attr-defined]
    broken = builtin_mof_resource()[:40]
    with pytest.raises(WmiStatusError, match="offset"):
        Broker().register(_provider(text_schema, resource=broken))


def test_the_live_sources_serve_the_schema_their_providers_registered(tmp_path: Path) -> None:
    config = daemonless_adapters(tmp_path)
    source = open_source(str(config))
    assert source.schema is source.broker.schema
    assert source.schema.cls(MM).guid is not None
    provider = IpsecProvider("ROOT\\ISCSIPRT\\0008", source.schema, lambda: {}, lambda: False)
    assert provider.mof_resource == builtin_mof_resource()


def test_a_refused_resource_changes_nothing_and_guids_are_not_reused() -> None:
    text_schema = _text_compile().schema  # type: ignore[attr-defined]
    broker = Broker()
    broker.register(_provider(text_schema))
    mof = package_data("iscsiprf.mof")
    renamed = mof.replace("class MSiSCSI_MMIPSECStats", "class Other_MMIPSECStats")
    with pytest.raises(WmiStatusError, match="reuses the guid"):
        broker.register(_provider(text_schema, "ROOT\\X\\2", encode_bmf(compile_text(renamed))))
    assert broker.schema.get("Other_MMIPSECStats") is None
