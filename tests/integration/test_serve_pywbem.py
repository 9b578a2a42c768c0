"""pywbem.WBEMConnection against a real `iscsiprf serve --snapshot` subprocess."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pywbem = pytest.importorskip("pywbem", reason="pywbem (the reference WBEM client) is not installed")

sys.path.insert(0, str(Path(__file__).parent))  # the helper beside this file
from serve_process import ServeProcess, start_serve, write_snapshot  # noqa: E402

pytestmark = pytest.mark.interop

MM = "MSiSCSI_MMIPSECStats"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServeProcess, list[dict[str, Any]]]]:
    snap = tmp_path_factory.mktemp("serve") / "snap.json"
    objs = write_snapshot(snap, adapters=3)
    sp = start_serve("--snapshot", str(snap))
    yield sp, objs
    sp.stop()


@pytest.fixture
def conn(served: tuple[ServeProcess, list[dict[str, Any]]]) -> Any:
    return pywbem.WBEMConnection(served[0].cimxml_url, default_namespace="root/wmi", timeout=20)


def test_enumerate_instances_returns_every_adapter_with_uint64_counters(
    conn: Any, served: Any
) -> None:
    objs = [o for o in served[1] if "__CLASS" not in o]
    insts = conn.EnumerateInstances(MM)
    assert sorted(i["InstanceName"] for i in insts) == sorted(o["InstanceName"] for o in objs)
    by_name = {i["InstanceName"]: i for i in insts}
    for o in objs:
        inst = by_name[o["InstanceName"]]
        assert inst["Active"] is o["Active"]
        assert inst.properties["OakleyMainMode"].type == "uint64"
        assert inst["OakleyMainMode"] == o["OakleyMainMode"]
        assert inst["Caption"] is None  # Win32_PerfRawData's own properties are NULL
    assert len(insts[0].properties) == 32


def test_large_uint64_values_survive(conn: Any) -> None:
    (qm,) = conn.EnumerateInstances("MSiSCSI_QMIPSECStats")
    assert qm["TunnelBytesReceived"] > 2**40


def test_get_instance_by_instance_name_key(conn: Any) -> None:
    path = pywbem.CIMInstanceName(MM, keybindings={"InstanceName": "ROOT\\ISCSIPRT\\0001_0"})
    inst = conn.GetInstance(path)
    assert inst["InstanceName"] == "ROOT\\ISCSIPRT\\0001_0"
    assert inst["Active"] is False
    assert inst["AcquireFailures"] == 31  # WmiDataId 3 * 10 + adapter 1


def test_get_instance_property_list(conn: Any) -> None:
    path = pywbem.CIMInstanceName(MM, keybindings={"InstanceName": "ROOT\\ISCSIPRT\\0000_0"})
    inst = conn.GetInstance(path, PropertyList=["OakleyMainMode", "active"])
    assert sorted(inst.properties) == ["Active", "OakleyMainMode"]


def test_exec_query_wql_where(conn: Any) -> None:
    found = conn.ExecQuery(
        "WQL", f"SELECT OakleyMainMode FROM {MM} WHERE OakleyMainMode >= 181 AND Active = TRUE"
    )
    assert [i["InstanceName"] for i in found] == ["ROOT\\ISCSIPRT\\0002_0"]
    assert set(found[0].properties) == {"InstanceName", "OakleyMainMode"}  # key + selected
    assert found[0]["OakleyMainMode"] == 182


def test_exec_query_on_base_class_includes_subclasses(conn: Any) -> None:
    found = conn.ExecQuery("WQL", "SELECT * FROM Win32_PerfRawData")
    assert sorted({i.classname for i in found}) == ["MSiSCSI_MMIPSECStats", "MSiSCSI_QMIPSECStats"]
    assert len(found) == 4


def test_get_class_with_qualifiers(conn: Any) -> None:
    cls = conn.GetClass(MM, IncludeQualifiers=True, LocalOnly=False, IncludeClassOrigin=True)
    assert cls.superclass == "Win32_PerfRawData"
    assert cls.qualifiers["guid"].value == "{36B58EA2-C461-4bb0-AC8E-952F59D251ED}"
    assert cls.qualifiers["Dynamic"].value is True
    assert cls.properties["InstanceName"].qualifiers["key"].value is True
    omm = cls.properties["OakleyMainMode"]
    assert omm.type == "uint64"
    assert omm.qualifiers["WmiDataId"].value == 18
    assert omm.qualifiers["CounterType"].value == 65792
    assert "main mode" in omm.qualifiers["Description"].value.lower()
    assert omm.class_origin == MM and not omm.propagated
    caption = cls.properties["Caption"]
    assert caption.propagated and caption.class_origin == "CIM_StatisticalInformation"


def test_get_class_local_only_and_no_qualifiers(conn: Any) -> None:
    cls = conn.GetClass(MM, LocalOnly=True, IncludeQualifiers=False)
    assert "Caption" not in cls.properties and "OakleyMainMode" in cls.properties
    assert not cls.qualifiers and not cls.properties["OakleyMainMode"].qualifiers
    assert len(cls.properties) == 23


def test_enumerate_class_names(conn: Any) -> None:
    deep = conn.EnumerateClassNames(DeepInheritance=True)
    assert {MM, "MSiSCSI_QMIPSECStats", "Win32_PerfRawData"} <= set(deep)
    assert conn.EnumerateClassNames(ClassName="Win32_PerfRawData") == [MM, "MSiSCSI_QMIPSECStats"]


def test_enumerate_instance_names_and_classes(conn: Any) -> None:
    names = conn.EnumerateInstanceNames(MM)
    assert sorted(n["InstanceName"] for n in names)[0] == "ROOT\\ISCSIPRT\\0000_0"
    classes = conn.EnumerateClasses(ClassName="Win32_PerfRawData", DeepInheritance=True)
    assert sorted(c.classname for c in classes) == [MM, "MSiSCSI_QMIPSECStats"]


def test_deep_inheritance_false_limits_properties_to_the_requested_class(conn: Any) -> None:
    insts = conn.EnumerateInstances("Win32_PerfRawData", DeepInheritance=False)
    assert len(insts) == 4
    assert all("OakleyMainMode" not in i.properties and "Caption" in i.properties for i in insts)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.GetClass("NoSuchClass"), 6),  # CIM_ERR_NOT_FOUND
        (lambda c: c.EnumerateInstances("NoSuchClass"), 5),  # CIM_ERR_INVALID_CLASS
        (lambda c: c.GetInstance(pywbem.CIMInstanceName("NoSuchClass", {"InstanceName": "x"})), 5),
        (lambda c: c.GetInstance(pywbem.CIMInstanceName(MM, {"InstanceName": "ROOT\\NOPE_0"})), 6),
        (
            lambda c: c.GetInstance(pywbem.CIMInstanceName(MM, {"Name": "x"})),
            4,
        ),  # INVALID_PARAMETER
        (lambda c: c.EnumerateInstances(MM, namespace="root/cimv2"), 3),  # INVALID_NAMESPACE
        (lambda c: c.ExecQuery("WQL", f"SELECT * FROM {MM} WHERE"), 15),  # INVALID_QUERY
        (lambda c: c.ExecQuery("WQL", "SELECT * FROM NoSuchClass"), 15),
        (
            lambda c: c.ExecQuery("DMTF:CQL", f"SELECT * FROM {MM}"),
            14,
        ),  # QUERY_LANGUAGE_NOT_SUPPORTED
        (
            lambda c: c.Associators(pywbem.CIMInstanceName(MM, {"InstanceName": "x"})),
            7,
        ),  # NOT_SUPPORTED
        (
            lambda c: c.DeleteInstance(pywbem.CIMInstanceName(MM, {"InstanceName": "x"})),
            2,
        ),  # ACCESS_DENIED
    ],
)
def test_cim_errors_per_operation(conn: Any, call: Any, code: int) -> None:
    with pytest.raises(pywbem.CIMError) as info:
        call(conn)
    assert info.value.status_code == code
    assert conn.EnumerateInstanceNames(MM)  # still serving


def test_namespace_is_case_insensitive(conn: Any) -> None:
    assert len(conn.EnumerateInstanceNames(MM, namespace="ROOT/WMI")) == 3


def test_sigterm_shuts_down_cleanly(tmp_path: Path) -> None:
    snap = tmp_path / "s.json"
    write_snapshot(snap, adapters=1)
    sp = start_serve("--snapshot", str(snap))
    c = pywbem.WBEMConnection(sp.cimxml_url, default_namespace="root/wmi")
    assert len(c.EnumerateInstances(MM)) == 1
    assert sp.stop(signal.SIGINT) == 0
    assert sp.events("shutdown")[0]["signal"] == "SIGINT"
    assert sp.events("stopped")
    assert not any("Traceback" in line for line in sp.raw)
