"""codegen layer: wmimofck-compatible C headers and WMI data-block layouts from a compiled schema.

`class_layout(cls, schema)` gives a class's data block (offsets, sizes, pack/unpack);
`render_header(schema, base_name, HeaderOptions(...))` gives the header `wmimofck -h` writes.
"""

from .header import HeaderOptions, header_classes, render_header
from .layout import ClassLayout, ItemLayout, LayoutError, ShortBufferError, class_layout

__all__ = [
    "ClassLayout",
    "HeaderOptions",
    "ItemLayout",
    "LayoutError",
    "ShortBufferError",
    "class_layout",
    "header_classes",
    "render_header",
]
