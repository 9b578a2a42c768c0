"""Cross-check against pywbem's MOFCompiler on the DMTF subset (the CIM schema 2.49)."""

from __future__ import annotations

from pathlib import Path

import pytest

from iscsiprf.mof import compile_files

pywbem = pytest.importorskip("pywbem", reason="pywbem (a test dependency) is not installed")


def pywbem_classes(schema_dir: Path) -> dict[str, object]:
    from pywbem._mof_compiler import MOFWBEMConnection

    conn = MOFWBEMConnection()
    compiler = pywbem.MOFCompiler(
        conn, search_paths=[str(schema_dir)], verbose=False, log_func=lambda *a: None
    )
    compiler.compile_file(str(schema_dir / "cim_schema_2.49.0.mof"), "root/cimv2")
    return dict(conn.classes["root/cimv2"])


def pywbem_is_key(classes: dict[str, object], cname: str, prop: str) -> bool:
    """pywbem keeps only local elements per class: walk up the chain for Key."""
    c = classes.get(cname)
    while c is not None:
        p = c.properties.get(prop)  # type: ignore[attr-defined]
        if p is not None and p.qualifiers.get("Key") is not None:
            return bool(p.qualifiers["Key"].value)
        sup = c.superclass  # type: ignore[attr-defined]
        c = classes.get(sup) if sup else None
    return False


def test_same_classes_superclasses_properties_types_and_keys(cim_schema_dir: Path) -> None:
    theirs = pywbem_classes(cim_schema_dir)
    ours = {
        c.name: c for c in compile_files([cim_schema_dir / "cim_schema_2.49.0.mof"]).user_classes()
    }
    assert sorted(ours) == sorted(theirs)
    checked = 0
    for name, pc in theirs.items():
        oc = ours[name]
        assert oc.superclass == pc.superclass, name  # type: ignore[attr-defined]
        pprops = pc.properties  # type: ignore[attr-defined]
        local = [oc.properties[k] for k in oc.local_properties]
        assert [p.name for p in local] == list(pprops), name
        for p in local:
            pp = pprops[p.name]
            ptype = "ref" if pp.type == "reference" else pp.type
            assert p.type == ptype, (name, p.name)
            assert p.array == pp.is_array, (name, p.name)
            assert p.is_key == pywbem_is_key(theirs, name, p.name), (name, p.name)
            checked += 1
    assert checked > 7000  # every local property of the 1,631 classes
