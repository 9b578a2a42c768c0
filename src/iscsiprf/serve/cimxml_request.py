"""Parse a CIM-XML operation request (DSP0200 §5.3, DSP0201 message elements) into plain values.

The body comes from the network, so it is parsed by defusedxml with DTDs, entity declarations
and external references all refused: an entity bomb is a bad request, never a memory bomb.
Only the shape DSP0200 allows is accepted; anything else is `RequestInvalid`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Union

import defusedxml
import defusedxml.ElementTree as SafeET


class RequestNotWellFormed(Exception):
    """Not XML, or XML using a DTD/entities: HTTP 400, `CIMError: request-not-well-formed`."""


class RequestInvalid(Exception):
    """Well-formed XML that is not a CIM-XML request: HTTP 400, `CIMError: request-not-valid`."""


class MultipleRequestsUnsupported(Exception):
    """A MULTIREQ: HTTP 501, `CIMError: multiple-requests-unsupported`."""


@dataclass(frozen=True, slots=True)
class ClassNameRef:
    """An IPARAMVALUE holding CLASSNAME."""

    name: str


@dataclass(frozen=True, slots=True)
class InstanceNameRef:
    """An IPARAMVALUE holding INSTANCENAME: class and key bindings (name as sent -> text)."""

    class_name: str
    keys: dict[str, str]


# NULL (empty IPARAMVALUE), VALUE text, VALUE.ARRAY texts, CLASSNAME, INSTANCENAME.
ParamValue = Union[None, str, list[str], ClassNameRef, InstanceNameRef]  # noqa: UP007


@dataclass(slots=True)
class CimRequest:
    message_id: str
    protocol_version: str
    method: str  # intrinsic method name as sent
    intrinsic: bool  # False for an extrinsic METHODCALL
    namespace: str  # "root/wmi" form, as sent
    params: dict[str, tuple[str, ParamValue]] = field(default_factory=dict)  # lower -> (name, v)


def _child(el: ET.Element, tag: str) -> ET.Element:
    found = el.find(tag)
    if found is None:
        raise RequestInvalid(f"<{el.tag}> has no <{tag}>")
    return found


def _attr(el: ET.Element, name: str) -> str:
    v = el.get(name)
    if v is None:
        raise RequestInvalid(f"<{el.tag}> has no {name} attribute")
    return v


def _namespace(el: ET.Element) -> str:
    parts = [_attr(ns, "NAME") for ns in el.findall("NAMESPACE")]
    if not parts:
        raise RequestInvalid("LOCALNAMESPACEPATH has no NAMESPACE")
    return "/".join(parts)


def _instance_name(el: ET.Element) -> InstanceNameRef:
    keys: dict[str, str] = {}
    for kb in el.findall("KEYBINDING"):
        kv = kb.find("KEYVALUE")
        if kv is None:
            raise RequestInvalid("only KEYVALUE key bindings are supported")
        keys[_attr(kb, "NAME")] = kv.text or ""
    kv = el.find("KEYVALUE")  # the single-key short form
    if kv is not None:
        keys[""] = kv.text or ""
    return InstanceNameRef(_attr(el, "CLASSNAME"), keys)


def _param_value(p: ET.Element) -> ParamValue:
    kids = list(p)
    if not kids:
        return None
    if len(kids) > 1:
        raise RequestInvalid(f"IPARAMVALUE {p.get('NAME')!r} holds more than one value")
    v = kids[0]
    if v.tag == "VALUE":
        return v.text or ""
    if v.tag == "VALUE.ARRAY":
        return [x.text or "" for x in v.findall("VALUE")]
    if v.tag == "CLASSNAME":
        return ClassNameRef(_attr(v, "NAME"))
    if v.tag == "INSTANCENAME":
        return _instance_name(v)
    raise RequestInvalid(f"IPARAMVALUE {p.get('NAME')!r} holds an unsupported <{v.tag}>")


def parse_request(body: bytes) -> CimRequest:
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as e:
        raise RequestNotWellFormed(f"refused XML construct: {e}") from None
    except ET.ParseError as e:
        raise RequestNotWellFormed(f"not well-formed XML: {e}") from None
    if root.tag != "CIM":
        raise RequestInvalid(f"root element is <{root.tag}>, not <CIM>")
    msg = _child(root, "MESSAGE")
    message_id = _attr(msg, "ID")
    protocol_version = _attr(msg, "PROTOCOLVERSION")
    if msg.find("MULTIREQ") is not None:
        raise MultipleRequestsUnsupported("MULTIREQ is not supported")
    req = _child(msg, "SIMPLEREQ")
    call = req.find("IMETHODCALL")
    if call is None:
        ext = req.find("METHODCALL")
        if ext is None:
            raise RequestInvalid("SIMPLEREQ holds neither IMETHODCALL nor METHODCALL")
        return CimRequest(message_id, protocol_version, _attr(ext, "NAME"), False, "")
    namespace = _namespace(_child(call, "LOCALNAMESPACEPATH"))
    out = CimRequest(message_id, protocol_version, _attr(call, "NAME"), True, namespace)
    for p in call.findall("IPARAMVALUE"):
        name = _attr(p, "NAME")
        if name.lower() in out.params:
            raise RequestInvalid(f"parameter {name} given twice")
        out.params[name.lower()] = (name, _param_value(p))
    return out
