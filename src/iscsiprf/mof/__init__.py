"""MOF compiler for the WMI dialect: text -> `Schema` (see compiler.py for the pipeline)."""

from .bmf_container import BmfError, is_bmf
from .compiler import CompileResult, compile_files, compile_text, load_builtin_schema
from .errors import Diagnostic, MofError
from .model import Location, MofClass, Property, Schema


def decode_bmf(data: bytes, path: str, strict: bool = False) -> CompileResult:
    """A binary MOF compiled as its MOF text would be (see bmf_decode.py)."""
    from .bmf_decode import decode_bmf as decode  # here: most commands never read a BMF

    return decode(data, path, strict)


PROJECT_BMF = "iscsiprf.bmf"


def builtin_mof_resource() -> bytes:
    """The binary MOF shipped beside `data/iscsiprf.mof` (`iscsiprf mof encode` of it): what
    the project's providers register as their MofResource."""
    from .system import package_bytes

    return package_bytes(PROJECT_BMF)


def encode_bmf(compiled: CompileResult | Schema) -> bytes:
    """The binary MOF `mofcomp -B` writes for a compilation (or a schema): see bmf_encode.py."""
    from .bmf_encode import encode_bmf as encode

    return encode(compiled)


__all__ = [
    "BmfError",
    "CompileResult",
    "Diagnostic",
    "Location",
    "MofClass",
    "MofError",
    "Property",
    "PROJECT_BMF",
    "Schema",
    "builtin_mof_resource",
    "compile_files",
    "compile_text",
    "decode_bmf",
    "encode_bmf",
    "is_bmf",
    "load_builtin_schema",
]
