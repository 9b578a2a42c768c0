"""WNODE buffers, byte-exact to ``wmistr.h`` on x64: pure bytes <-> objects, no I/O.

One module per part of the format; everything is re-exported here, so callers write
``from iscsiprf.wmi import wnode as wn; wn.encode_all_data(...)``:

* :mod:`.header` — WNODE_HEADER, the WNODE_FLAG_* / WMIREG_FLAG_* / request constants, sizes,
  :class:`WnodeError`, and the check that a buffer is a WNODE at all;
* :mod:`.names` — counted UTF-16 instance names;
* :mod:`.all_data` — WNODE_ALL_DATA (fixed and offset/length forms);
* :mod:`.addressed` — WNODE_SINGLE_INSTANCE, WNODE_SINGLE_ITEM, WNODE_METHOD_ITEM (one layout);
* :mod:`.too_small` — WNODE_TOO_SMALL;
* :mod:`.chain` — any WNODE by its Flags, and ``Linkage`` chains;
* :mod:`.fixed_form` — the hot path: a prebuilt fixed-size WNODE_ALL_DATA frame and a
  one-``struct`` reader, equal in output to the general codec.

Every decoder checks the buffer before trusting it and raises :class:`WnodeError` naming the
field that is wrong and its offset.
"""

from .addressed import (
    METHOD_ITEM,
    SINGLE_INSTANCE,
    SINGLE_ITEM,
    MethodItem,
    SingleInstance,
    SingleItem,
    decode_method_item,
    decode_single_instance,
    decode_single_item,
    encode_method_item,
    encode_single_instance,
    encode_single_item,
)
from .all_data import (
    ALL_DATA,
    ALL_DATA_PREFIX,
    AllData,
    WnodeInstance,
    decode_all_data,
    encode_all_data,
)
from .chain import Wnode, chain_offsets, decode, decode_all_data_chain, decode_chain, link
from .fixed_form import FixedAllDataFrame, FixedBlockReader
from .header import (
    ALL_DATA_FIXED_PART,
    ALL_DATA_SIZE,
    FLAG_NAMES,
    HEADER,
    HEADER_SIZE,
    MAX_WNODE_SIZE,
    METHOD_ITEM_SIZE,
    SINGLE_INSTANCE_SIZE,
    SINGLE_ITEM_SIZE,
    TOO_SMALL_SIZE,
    WMI_CHANGE_SINGLE_INSTANCE,
    WMI_CHANGE_SINGLE_ITEM,
    WMI_DISABLE_COLLECTION,
    WMI_DISABLE_EVENTS,
    WMI_ENABLE_COLLECTION,
    WMI_ENABLE_EVENTS,
    WMI_EXECUTE_METHOD,
    WMI_QUERY_ALL_DATA,
    WMI_QUERY_SINGLE_INSTANCE,
    WMI_REGINFO,
    WMI_REGINFO_EX,
    WMIREG_FLAG_EVENT_ONLY_GUID,
    WMIREG_FLAG_EXPENSIVE,
    WMIREG_FLAG_INSTANCE_BASENAME,
    WMIREG_FLAG_INSTANCE_LIST,
    WMIREG_FLAG_INSTANCE_PDO,
    WMIREG_FLAG_REMOVE_GUID,
    WMIREG_FLAG_TRACE_CONTROL_GUID,
    WMIREG_FLAG_TRACED_GUID,
    WNODE_FLAG_ALL_DATA,
    WNODE_FLAG_ANSI_INSTANCENAMES,
    WNODE_FLAG_EVENT_ITEM,
    WNODE_FLAG_EVENT_REFERENCE,
    WNODE_FLAG_FIXED_INSTANCE_SIZE,
    WNODE_FLAG_INSTANCES_SAME,
    WNODE_FLAG_INTERNAL,
    WNODE_FLAG_LOG_WNODE,
    WNODE_FLAG_METHOD_ITEM,
    WNODE_FLAG_NO_HEADER,
    WNODE_FLAG_PDO_INSTANCE_NAMES,
    WNODE_FLAG_PERSIST_EVENT,
    WNODE_FLAG_SEVERITY_MASK,
    WNODE_FLAG_SINGLE_INSTANCE,
    WNODE_FLAG_SINGLE_ITEM,
    WNODE_FLAG_STATIC_INSTANCE_NAMES,
    WNODE_FLAG_TOO_SMALL,
    WNODE_FLAG_TRACED_GUID,
    WNODE_FLAG_USE_GUID_PTR,
    WNODE_FLAG_USE_MOF_PTR,
    WNODE_FLAG_USE_TIMESTAMP,
    NotAWnode,
    WnodeError,
    WnodeHeader,
    decode_header,
    flag_names,
    pad4,
    pad8,
)
from .names import MAX_NAME_BYTES, encode_name, encode_name_table
from .too_small import TOO_SMALL, TooSmall, decode_too_small, encode_too_small

__all__ = [
    "ALL_DATA", "ALL_DATA_FIXED_PART", "ALL_DATA_PREFIX", "ALL_DATA_SIZE", "FLAG_NAMES",
    "HEADER", "HEADER_SIZE", "MAX_NAME_BYTES", "MAX_WNODE_SIZE", "METHOD_ITEM",
    "METHOD_ITEM_SIZE", "SINGLE_INSTANCE", "SINGLE_INSTANCE_SIZE", "SINGLE_ITEM",
    "SINGLE_ITEM_SIZE", "TOO_SMALL", "TOO_SMALL_SIZE",
    "WMI_CHANGE_SINGLE_INSTANCE", "WMI_CHANGE_SINGLE_ITEM", "WMI_DISABLE_COLLECTION",
    "WMI_DISABLE_EVENTS", "WMI_ENABLE_COLLECTION", "WMI_ENABLE_EVENTS", "WMI_EXECUTE_METHOD",
    "WMI_QUERY_ALL_DATA", "WMI_QUERY_SINGLE_INSTANCE", "WMI_REGINFO", "WMI_REGINFO_EX",
    "WMIREG_FLAG_EVENT_ONLY_GUID", "WMIREG_FLAG_EXPENSIVE", "WMIREG_FLAG_INSTANCE_BASENAME",
    "WMIREG_FLAG_INSTANCE_LIST", "WMIREG_FLAG_INSTANCE_PDO", "WMIREG_FLAG_REMOVE_GUID",
    "WMIREG_FLAG_TRACE_CONTROL_GUID", "WMIREG_FLAG_TRACED_GUID",
    "WNODE_FLAG_ALL_DATA", "WNODE_FLAG_ANSI_INSTANCENAMES", "WNODE_FLAG_EVENT_ITEM",
    "WNODE_FLAG_EVENT_REFERENCE", "WNODE_FLAG_FIXED_INSTANCE_SIZE", "WNODE_FLAG_INSTANCES_SAME",
    "WNODE_FLAG_INTERNAL", "WNODE_FLAG_LOG_WNODE", "WNODE_FLAG_METHOD_ITEM",
    "WNODE_FLAG_NO_HEADER", "WNODE_FLAG_PDO_INSTANCE_NAMES", "WNODE_FLAG_PERSIST_EVENT",
    "WNODE_FLAG_SEVERITY_MASK", "WNODE_FLAG_SINGLE_INSTANCE", "WNODE_FLAG_SINGLE_ITEM",
    "WNODE_FLAG_STATIC_INSTANCE_NAMES", "WNODE_FLAG_TOO_SMALL", "WNODE_FLAG_TRACED_GUID",
    "WNODE_FLAG_USE_GUID_PTR", "WNODE_FLAG_USE_MOF_PTR", "WNODE_FLAG_USE_TIMESTAMP",
    "AllData", "FixedAllDataFrame", "NotAWnode", "FixedBlockReader", "MethodItem", "SingleInstance",
    "SingleItem", "TooSmall", "Wnode", "WnodeError", "WnodeHeader", "WnodeInstance",
    "chain_offsets", "decode", "decode_all_data", "decode_all_data_chain", "decode_chain",
    "decode_header", "decode_method_item", "decode_single_instance", "decode_single_item",
    "decode_too_small", "encode_all_data", "encode_method_item", "encode_name",
    "encode_name_table", "encode_single_instance", "encode_single_item", "encode_too_small",
    "flag_names", "link", "pad4", "pad8",
]  # fmt: skip
