"""MOF compiler for the WMI dialect: text -> `Schema` (see compiler.py for the pipeline)."""

from .compiler import CompileResult, compile_files, compile_text, load_builtin_schema
from .errors import Diagnostic, MofError
from .model import Location, MofClass, Property, Schema

__all__ = [
    "CompileResult",
    "Diagnostic",
    "Location",
    "MofClass",
    "MofError",
    "Property",
    "Schema",
    "compile_files",
    "compile_text",
    "load_builtin_schema",
]
