"""A served snapshot answers as a live provider does: Win32_PerfRawData's clock properties are
NULL over CIM-XML and absent from the instances, whatever the file (a `query --format json`
output) recorded; the counters themselves are served as written."""

from __future__ import annotations

import json
from pathlib import Path

from iscsiprf.mof import load_builtin_schema
from iscsiprf.perf.timestamps import STAMP_PROPERTIES
from iscsiprf.serve.source import load_snapshot


def test_snapshot_clock_properties_are_not_served(tmp_path: Path) -> None:
    inst = {"InstanceName": "ROOT\\ISCSIPRT\\0000_0", "Active": True, "OakleyMainMode": 6}
    inst.update({p: 10**7 + i for i, p in enumerate(STAMP_PROPERTIES)})
    path = tmp_path / "snap.json"
    path.write_text(json.dumps([inst]))
    (served,) = load_snapshot(load_builtin_schema(), path).enumerate("MSiSCSI_MMIPSECStats")
    assert served["OakleyMainMode"] == 6
    assert not set(STAMP_PROPERTIES) & set(served)
