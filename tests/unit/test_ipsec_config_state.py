"""Adapter configuration (errors with file:line:col), the state file, the mapping, the provider."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from ipsec_replay import schema

from iscsiprf.codegen.layout import class_layout
from iscsiprf.ipsec import mapping
from iscsiprf.ipsec.config import ConfigError, default_config, parse_config
from iscsiprf.ipsec.counters import CounterEngine
from iscsiprf.ipsec.provider import IpsecProvider
from iscsiprf.ipsec.state import StateError, StateWriter, read_state
from iscsiprf.mof.model import Schema
from iscsiprf.wmi.broker import Broker


def test_defaults() -> None:
    (a,) = default_config()
    assert a.instance_name == "ROOT\\ISCSIPRT\\0000_0"
    assert a.vici_path == "/var/run/charon.vici" and a.enfy_path == "/var/run/charon.enfy"
    assert str(a.state) == "/var/lib/iscsiprf/ROOT_ISCSIPRT_0000.sqlite"


def test_two_adapters() -> None:
    text = '[[adapter]]\ndevice = "ROOT\\\\ISCSIPRT\\\\0000"\nvici = "unix:///tmp/a.vici"\nnetns = "swA"\n\n[[adapter]]\ndevice = \'ROOT\\ISCSIPRT\\0001\'\n'
    a, b = parse_config(text, "f.toml")
    assert (a.device, a.vici_path, a.netns) == ("ROOT\\ISCSIPRT\\0000", "/tmp/a.vici", "swA")
    assert b.instance_name == "ROOT\\ISCSIPRT\\0001_0" and a.state != b.state


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ('[[adapter]]\ndevice = "x"\nvicci = "unix:///x"\n', "f.toml:3:1", "unknown key 'vicci'"),
        ('[[adapter]]\n  vici = "/var/run/charon.vici"\n', "f.toml:2:3", "unix:// URI"),
        ("[[adapter]]\ndevice = 3\n", "f.toml:2:1", "non-empty string"),
        ('[[adapter]]\ndevice = "A"\n[[adapter]]\ndevice = "A"\n', "f.toml:4:1", "already used"),
        ("[[adapter]\n", "f.toml:1:", "error"),
        ("", "f.toml:1:1", "no [[adapter]]"),
        ("[adapters]\nx = 1\n", "f.toml:1:1", "unknown top-level key"),
    ],
)
def test_config_errors_have_places(text: str, where: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, "f.toml")
    assert str(err.value).startswith(where)
    assert words in str(err.value)


def test_state_round_trip_and_single_writer(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    w = StateWriter(path)
    eng = CounterEngine(schema())
    eng.totals[mapping.MM_CLASS]["OakleyMainMode"] = 7
    w.save(eng.snapshot(), eng.values(), {"events_processed": 3}, now=100.0)
    w.record_gap("collector", 50.0, 80.0, "down")
    with pytest.raises(StateError):
        StateWriter(path)  # a second collector is refused
    image, gaps = read_state(path) or (None, [])
    assert image is not None and image.heartbeat == 100.0
    assert image.values and image.values[mapping.MM_CLASS]["OakleyMainMode"] == 7
    assert (
        CounterEngine.restore(schema(), image.engine).totals[mapping.MM_CLASS]["OakleyMainMode"]
        == 7
    )
    assert [(g.kind, g.length) for g in gaps] == [("collector", 30.0)]
    w.close()
    assert read_state(tmp_path / "none.sqlite") is None


def test_readers_do_not_block_on_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    w = StateWriter(path)
    eng = CounterEngine(schema())
    w.save(eng.snapshot(), eng.values(), {}, now=1.0)
    stop = threading.Event()

    def hammer() -> None:
        n = 2.0
        while not stop.is_set():
            w.save(eng.snapshot(), eng.values(), {}, now=n)
            n += 1

    t = threading.Thread(target=hammer)
    t.start()
    try:
        for _ in range(50):
            got = read_state(path)
            assert got is not None and got[0].values is not None
    finally:
        stop.set()
        t.join()
        w.close()


def test_mapping_matches_schema() -> None:
    classes = mapping.check_mapping(schema())
    assert sum(len(c.data_items()) for c in classes.values()) == 39
    assert len(mapping.markdown_rows(schema())) == 39


def test_mapping_rejects_a_property_the_schema_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = dict(mapping.MM_RULES)
    rules["NoSuchCounter"] = rules["SoftAssociations"]
    monkeypatch.setitem(mapping.RULES, mapping.MM_CLASS, rules)
    with pytest.raises(mapping.MappingError, match="NoSuchCounter"):
        mapping.check_mapping(schema())


def test_mapping_rejects_a_missing_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = dict(mapping.QM_RULES)
    del rules["ReKeys"]
    monkeypatch.setitem(mapping.RULES, mapping.QM_CLASS, rules)
    with pytest.raises(mapping.MappingError, match="ReKeys"):
        mapping.check_mapping(schema())


def test_docs_counters_table_is_the_mapping() -> None:
    page = (Path(__file__).parents[2] / "docs" / "counters.md").read_text()
    for row in mapping.markdown_rows(schema()):
        assert row in page


def test_provider_through_broker() -> None:
    s: Schema = schema()
    eng = CounterEngine(s)
    eng.totals[mapping.MM_CLASS]["InvalidPackets"] = 5
    up = {"v": True}
    p = IpsecProvider("ROOT\\ISCSIPRT\\0000", s, lambda: eng.values(), lambda: up["v"])
    b = Broker(s)
    b.register(p)
    (inst,) = b.enumerate(mapping.MM_CLASS)
    assert (inst["InstanceName"], inst["Active"], inst["InvalidPackets"]) == (
        "ROOT\\ISCSIPRT\\0000_0",
        True,
        5,
    )
    up["v"] = False
    (inst,) = b.enumerate(mapping.MM_CLASS)
    assert (inst["Active"], inst["InvalidPackets"]) == (False, 5)  # last values stay
    block = p._layouts[mapping.QM_CLASS.lower()].pack(eng.values()[mapping.QM_CLASS])
    assert len(block) == class_layout(s.cls(mapping.QM_CLASS), s).size == 18 * 8
    b.close()


def test_every_proving_test_exists() -> None:
    """Each test named in the "proved by" column of docs/counters.md is a real test function."""
    root = Path(__file__).parents[2]
    for row in mapping.markdown_rows(schema()):
        proved = row.rstrip(" |").rsplit(" | ", 1)[1]
        if proved == "—":
            continue
        for group in proved.split("; "):
            path, names = group.split("::")
            source = (root / path).read_text()
            for name in names.split(", "):
                assert f"def {name}(" in source, f"{path} has no {name}"


def test_damaged_state(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="not a usable state file"):
        StateWriter(bad)
    image = {
        "version": 1,
        "totals": {mapping.MM_CLASS: {"OakleyMainMode": 4}},
        "ikes": {"1": {"nope": 1}},
    }
    eng = CounterEngine.restore(schema(), image)  # the per-SA part is damaged: totals survive
    assert eng.totals[mapping.MM_CLASS]["OakleyMainMode"] == 4
