"""The work of `iscsiprf mof decode|encode|acpi`: binary MOF in and out."""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Sequence

import click

from ..mof import BmfError, MofClass
from ..mof.bmf_decode import compile_doc, decode_bmf, read_bmf
from .errors import fail
from .inputs import read_input


def _read(path: str) -> bytes:
    return read_input(path, "binary MOF")


def decode_text(path: str) -> str:
    """One BMF file as MOF text; its warnings (wmimofck's rules among them) go to stderr."""
    data = _read(path)
    try:
        doc = read_bmf(data, path)
    except BmfError as exc:
        fail(exc.format(path))
    for d in compile_doc(doc).diagnostics:
        click.echo(str(d), err=True)
    return doc.text


def decode(files: Sequence[str], output: str | None) -> None:
    """One input: to stdout, to PATH, or to PATH/NAME.mof when PATH is a directory. Several:
    PATH is a directory (made if missing) that gets one NAME.mof each."""
    if len(files) == 1 and (output is None or not os.path.isdir(output)):
        text = decode_text(files[0])
        if output is None:
            sys.stdout.write(text)
            return
        _write(output, text.encode("utf-8"))
        return
    if output is None:
        fail("several inputs need -o DIRECTORY", exit_code=2)
    if os.path.exists(output) and not os.path.isdir(output):
        fail(f"{output}: not a directory (several inputs write one NAME.mof each)")
    names: dict[str, str] = {}
    for f in files:
        name = os.path.splitext(os.path.basename(f))[0] + ".mof"
        if name in names:
            fail(f"{names[name]} and {f} would both be written as {os.path.join(output, name)}")
        names[name] = f
    texts = [(name, decode_text(f)) for name, f in names.items()]  # all read before any write
    os.makedirs(output, exist_ok=True)
    for name, text in texts:
        _write(os.path.join(output, name), text.encode("utf-8"))


def _write(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")


def encode(file: str, include_dirs: Sequence[str], wmi: bool, output: str) -> None:
    from ..mof.bmf_encode import EncodeError, encode_files

    try:
        data, diags = encode_files([file], include_dirs, wmi)
    except EncodeError as exc:
        fail(str(exc))
    for d in diags:
        click.echo(str(d), err=True)
    if any(d.severity == "error" for d in diags):
        sys.exit(1)
    _write(output, data)


def acpi_classes(root: str) -> tuple[list[MofClass], bool]:
    """The classes of every firmware BMOF under ROOT/sys/bus/wmi/devices/*/bmof, and whether
    some blob could not be read (its error is printed; the others are still listed)."""
    if not os.path.isdir(root):
        fail(f"{root}: no such directory")
    pattern = os.path.join(root, "sys", "bus", "wmi", "devices", "*", "bmof")
    paths = sorted(glob.glob(pattern))
    if not paths:
        click.echo(f"iscsiprf: no bmof under {os.path.dirname(os.path.dirname(pattern))}", err=True)
    classes: list[MofClass] = []
    bad = False
    for p in paths:
        try:
            result = decode_bmf(_read(p), p)
        except BmfError as exc:
            click.echo(exc.format(p), err=True)
            bad = True
            continue
        for d in result.diagnostics:
            click.echo(str(d), err=True)
        bad = bad or bool(result.errors)
        classes.extend(result.user_classes())
    return classes, bad
