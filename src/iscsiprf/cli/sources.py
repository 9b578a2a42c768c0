"""Where a command's instances come from: the one home of the source options.

    --snapshot FILE.json   a snapshot file (`iscsiprf query ... --format json` writes one)
    --config FILE          the live adapters described by a TOML file
    --url URL              (watch) a running `iscsiprf serve`, read through its /metrics
    none of them           one live adapter on strongSwan's default sockets

`query`, `counters`, `serve` and `watch` declare them with `@source_options(...)`, which hands
the command one `SourceArgs`; the same checks and the same messages serve every command. A
conflict between the options is a bad command line (exit 2); a source that cannot be opened is
a bad input (exit 1).
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from iscsiprf.perf import StampedSource, live_time, wall_time

from .errors import fail

if TYPE_CHECKING:
    from iscsiprf.mof.model import Schema
    from iscsiprf.serve.source import InstanceSource

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class SourceArgs:
    config: str | None = None
    snapshot: str | None = None
    url: str | None = None
    url_user: str | None = None
    url_password_file: str | None = None
    url_cacert: str | None = None
    url_cert: str | None = None
    url_key: str | None = None

    def check(self, allows_url: bool) -> None:
        given = [f"--{n}" for n in ("config", "snapshot", "url") if getattr(self, n) is not None]
        if len(given) > 1:
            names = "--config, --snapshot or --url" if allows_url else "--config or --snapshot"
            fail(f"give one of {names}, not {' and '.join(given)}", 2)
        client = [f.name for f in fields(self) if f.name.startswith("url_")]
        used = [f"--{n[4:].replace('_', '-')}" for n in client if getattr(self, n) is not None]
        if used and self.url is None:
            fail(f"{', '.join(used)} go with --url", 2)
        if (self.url_cert is None) != (self.url_key is None):
            fail("--cert and --key go together", 2)
        if (self.url_user is None) != (self.url_password_file is None):
            fail("--user and --password-file go together", 2)


_PATH = click.Path(path_type=str)  # existence and kind are checked on opening: an input error


def source_options(*, url: bool = False, what: str = "Read") -> Callable[[F], F]:
    """Add the source options to a command; it receives them as `source: SourceArgs`."""

    options = [
        click.option("--config", type=_PATH, metavar="FILE", help="Live adapters (TOML)."),
        click.option(
            "--snapshot", type=_PATH, metavar="FILE.json", help=f"{what} a JSON snapshot file."
        ),
    ]
    if url:
        options += [
            click.option("--url", metavar="URL", help="A running `iscsiprf serve` (its /metrics)."),
            click.option("--user", "url_user", help="With --url: HTTP Basic user."),
            click.option(
                "--password-file",
                "url_password_file",
                type=_PATH,
                help="With --url: file holding the password.",
            ),  # fmt: skip
            click.option(
                "--cacert",
                "url_cacert",
                type=_PATH,
                help="With --url: CA bundle (PEM) to verify the server.",
            ),  # fmt: skip
            click.option(
                "--cert", "url_cert", type=_PATH, help="With --url: client certificate (PEM)."
            ),  # fmt: skip
            click.option("--key", "url_key", type=_PATH, help="With --url: its private key."),
        ]
    names = {f.name for f in fields(SourceArgs)}

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            picked = SourceArgs(**{k: kwargs.pop(k) for k in list(kwargs) if k in names})
            picked.check(url)
            return command(*args, source=picked, **kwargs)

        for option in reversed(options):
            run = option(run)
        return run  # type: ignore[return-value]

    return decorate


def open_stamped(schema: Schema, args: SourceArgs) -> StampedSource:
    """The source of `query` and `counters`: every enumeration is one stamped sample."""
    from iscsiprf.wql import SnapshotError, SnapshotFileSource

    if args.snapshot is not None:
        try:
            snap = SnapshotFileSource(args.snapshot, schema)
        except SnapshotError as exc:
            fail(str(exc))
        return StampedSource(snap, schema, lambda: wall_time(snap.mtime_ns))
    if args.url is not None:
        return StampedSource(_url_source(schema, args), schema, live_time)
    return StampedSource(_live_reader(args.config), schema, live_time)


def _live_reader(config: str | None) -> Any:
    """The live adapters, read-only (state files + vici), read again at every sample."""
    from iscsiprf.ipsec import IpsecError, open_source

    try:
        source = open_source(config)
    except IpsecError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(_os_message("cannot read the live counters", exc))
    _print_notes(source.notes)
    return source


def open_served(args: SourceArgs, *, beside_running: bool = False) -> InstanceSource:
    """The source of `serve` and `watch` (`beside_running`: read a running serve's state)."""
    from iscsiprf.mof import load_builtin_schema
    from iscsiprf.serve.source import SourceError, load_snapshot, open_live_source

    try:
        if args.snapshot is not None:
            return load_snapshot(load_builtin_schema(), args.snapshot)
        if args.url is not None:
            return _url_source(load_builtin_schema(), args)
        source = open_live_source(
            Path(args.config) if args.config is not None else None, beside_running=beside_running
        )
    except SourceError as exc:
        fail(str(exc))
    _print_notes(getattr(source, "notes", ()))
    return source


def _url_source(schema: Schema, args: SourceArgs) -> InstanceSource:
    from iscsiprf.serve.remote import MetricsUrlSource
    from iscsiprf.serve.source import SourceError

    assert args.url is not None
    password = None
    if args.url_password_file is not None:
        password = read_password(args.url_password_file)
    context = None
    tls_files = (args.url_cacert, args.url_cert, args.url_key)
    if not args.url.startswith("https:") and any(f is not None for f in tls_files):
        fail("--cacert, --cert and --key go with an https:// --url", 2)
    if args.url.startswith("https:"):
        try:
            context = ssl.create_default_context(cafile=args.url_cacert)
            if args.url_cert is not None:
                context.load_cert_chain(args.url_cert, args.url_key)
        except (OSError, ssl.SSLError) as exc:
            fail(_os_message("cannot load the TLS files", exc))
    try:
        return MetricsUrlSource(
            schema, args.url, user=args.url_user, password=password, ssl_context=context
        )
    except SourceError as exc:
        fail(str(exc))


def read_password(path: str) -> str:
    """The first line of a password file (`--password-file`, for a server or a client)."""
    try:
        with open(path, encoding="utf-8") as f:
            password = f.read(4096).rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        fail(_os_message(f"{path}: cannot read the password", exc))
    if not password:
        fail(f"{path}: the password is empty")
    return password


def _os_message(what: str, exc: Exception) -> str:
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return f"{what}:{where} {exc.strerror or exc}"
    return f"{what}: {exc}"


def _print_notes(notes: Any) -> None:
    # What may be stale goes to stderr, never into --format json output.
    for note in notes:
        click.echo(f"iscsiprf: note: {note}", err=True)
