"""How decoded records are written as MOF: literals that compile back to the same values."""

from __future__ import annotations

from iscsiprf.mof.bmf_mof import mof_string, objects_to_mof
from iscsiprf.mof.bmf_objects import (
    CIM_CHAR16,
    OBJ_CLASS,
    VT_ARRAY,
    VT_BSTR,
    VT_I2,
    RawObject,
    RawProperty,
    RawQualifier,
)
from iscsiprf.mof.compiler import compile_text


def _class(*props: RawProperty) -> str:
    obj = RawObject(OBJ_CLASS)
    obj.system["__CLASS"] = "C"
    obj.properties.extend(props)
    return objects_to_mof([obj]).text()


def test_char16_values_are_char_literals_whatever_the_record_type() -> None:
    """mofcomp's own char16 type (103), or a VT_I2 value whose CIMTYPE says char16."""
    cimtype = [RawQualifier("CIMTYPE", VT_BSTR, "char16")]
    text = _class(
        RawProperty("A", CIM_CHAR16, ord("a"), True),
        RawProperty("B", VT_I2, ord("'"), True, cimtype),
        RawProperty("E", CIM_CHAR16 | VT_ARRAY, [ord("\\"), 10, 0xE9], True),
    )
    assert "char16 A = 'a';" in text
    assert "char16 B = '\\'';" in text
    assert "char16 E[] = {'\\\\', '\\x000A', '\u00e9'};" in text
    got = compile_text(text, "c.mof")
    assert not got.errors
    cls = got.schema.get("C")
    assert cls is not None
    assert [p.default for p in cls.properties.values()] == ["a", "'", ["\\", "\n", "\u00e9"]]


def test_strings_escape_what_a_literal_cannot_hold() -> None:
    assert mof_string('a"b\\c\n\x01\ud800é') == '"a\\"b\\\\c\\n\\x0001\\xD800é"'
