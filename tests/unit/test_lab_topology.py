"""Lab names, paths and the adapters' TOML (pure, plus a save/load round trip in tmp_path)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from iscsiprf.lab import lifecycle, topology


def test_prefix_names_the_namespaces(tmp_path: Path) -> None:
    lab = topology.make_lab(tmp_path, "ipt-42-")
    assert (lab.a.netns, lab.b.netns) == ("ipt-42-A", "ipt-42-B")
    assert lab.peer(lab.a) is lab.b and lab.node("b") is lab.b
    assert lab.a.vici_socket == tmp_path / "A" / "charon.vici"
    assert lab.b.v1_subnet == "10.99.2.0/24" and lab.b.v2_subnet == "10.99.4.0/24"
    with pytest.raises(KeyError):
        lab.node("C")


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    lab = topology.make_lab(tmp_path, "p")
    assert topology.load_lab(tmp_path) is None
    lab.save()
    assert topology.load_lab(tmp_path) == lab


def test_load_rejects_a_foreign_file(tmp_path: Path) -> None:
    (tmp_path / topology.LAB_FILE).write_text('{"nodes": 3}')
    with pytest.raises(ValueError, match="not a lab description"):
        topology.load_lab(tmp_path)


def test_adapters_toml_keeps_backslashes(tmp_path: Path) -> None:
    lab = topology.make_lab(tmp_path)
    adapters = tomllib.loads(lifecycle.adapters_toml(lab))["adapter"]
    assert adapters[0] == {
        "device": "ROOT\\ISCSIPRT\\0000",
        "vici": f"unix://{tmp_path}/A/charon.vici",
        "error_notify": f"unix://{tmp_path}/A/charon.enfy",
        "netns": "swA",
        "state": f"{tmp_path}/A/iscsiprf.sqlite",
    }
    assert adapters[1]["device"] == "ROOT\\ISCSIPRT\\0001"
