"""`iscsiprf serve` and `iscsiprf watch`: the counters for WBEM clients, Prometheus and people."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import NoReturn

import click

from iscsiprf.serve.http import BasicAuth
from iscsiprf.serve.source import InstanceSource, SourceError, load_snapshot, open_live_source

from .errors import fail


def _fail(message: str) -> NoReturn:
    fail(message, 2)  # bad options or sources: a usage error


def parse_host_port(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """`HOST:PORT`, `[V6]:PORT` or `:PORT` (loopback)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        raise ValueError(f"{text!r} is not HOST:PORT")
    host = host.strip("[]") or default_host
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r}: the port must be a number 0-65535")
    return host, int(port)


def open_source(config: Path | None, snapshot: Path | None) -> InstanceSource:
    """The source behind `--config` / `--snapshot` (live collector when neither is given)."""
    from iscsiprf.mof import load_builtin_schema

    if config is not None and snapshot is not None:
        raise SourceError("give --config or --snapshot, not both")
    if snapshot is not None:
        return load_snapshot(load_builtin_schema(), snapshot)
    return open_live_source(config)


def _address(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, int]:
    try:
        return parse_host_port(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@click.command("serve")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Adapters (TOML): live counters.",
)
@click.option(
    "--snapshot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Serve a JSON snapshot instead.",
)
@click.option(
    "--cimxml",
    default="127.0.0.1:5988",
    show_default=True,
    callback=_address,
    help="CIM-XML (WBEM) endpoint HOST:PORT.",
)
@click.option(
    "--metrics",
    default="127.0.0.1:9745",
    show_default=True,
    callback=_address,
    help="Prometheus /metrics endpoint HOST:PORT.",
)
@click.option("--user", help="Require HTTP Basic authentication as this user (both endpoints).")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the password for --user.",
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM certificate: serve HTTPS.",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM private key for --tls-cert.",
)
@click.option("--namespace", default="root/wmi", show_default=True, help="CIM namespace served.")
@click.option(
    "--max-body", default=1 << 20, show_default=True, help="Largest request body (bytes)."
)
@click.option("--read-timeout", default=10.0, show_default=True, help="Seconds one read may wait.")
@click.option(
    "--request-deadline", default=30.0, show_default=True, help="Seconds a whole request may take."
)
def serve_cmd(
    config: Path | None,
    snapshot: Path | None,
    cimxml: tuple[str, int],
    metrics: tuple[str, int],
    user: str | None,
    password_file: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    namespace: str,
    max_body: int,
    read_timeout: float,
    request_deadline: float,
) -> None:
    """Serve the counters: CIM-XML for WBEM clients, /metrics for Prometheus."""
    from iscsiprf.serve.logs import setup_logging
    from iscsiprf.serve.server import ServeOptions, run

    auth = None
    if (user is None) != (password_file is None):
        _fail("--user and --password-file go together")
    if user is not None and password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as e:
            _fail(f"{password_file}: cannot read password: {e.strerror or e}")
        if not password:
            _fail(f"{password_file}: the password is empty")
        auth = BasicAuth(user, password)
    ctx = None
    if (tls_cert is None) != (tls_key is None):
        _fail("--tls-cert and --tls-key go together")
    if tls_cert is not None and tls_key is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(str(tls_cert), str(tls_key))
        except (OSError, ssl.SSLError) as e:
            _fail(f"{tls_cert}: cannot load certificate and key: {e}")
    try:
        source = open_source(config, snapshot)
    except SourceError as e:
        _fail(str(e))
    setup_logging()
    opts = ServeOptions(
        cimxml=cimxml,
        metrics=metrics,
        auth=auth,
        ssl_context=ctx,
        namespace=namespace,
        max_body=max_body,
        read_timeout=read_timeout,
        request_deadline=request_deadline,
    )
    try:
        run(source, opts)
    except OSError as e:
        source.close()
        _fail(f"cannot listen: {e.strerror or e}")


@click.command("watch")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Adapters (TOML): live counters.",
)
@click.option(
    "--snapshot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Watch a JSON snapshot file.",
)
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between samples.",
)
@click.option("--once", is_flag=True, help="Print one frame and exit (for scripts).")
@click.argument("wql", required=False, default="SELECT * FROM MSiSCSI_MMIPSECStats")
def watch_cmd(
    config: Path | None, snapshot: Path | None, interval: float, once: bool, wql: str
) -> None:
    """A live perfmon-like table: raw values, per-second rates, Active; changes highlighted."""
    from iscsiprf.serve.query import QueryError, compile_wql
    from iscsiprf.serve.watch import watch

    try:
        source = open_source(config, snapshot)
    except SourceError as e:
        _fail(str(e))
    try:
        query = compile_wql(source.schema, wql)
    except QueryError as e:
        source.close()
        _fail(f"<query>: {e}")
    try:
        watch(source, query, interval=interval, once=once)
    except KeyboardInterrupt:
        pass
    except SourceError as e:
        _fail(str(e))
    finally:
        source.close()


def register(cli: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    cli.add_command(serve_cmd)
    cli.add_command(watch_cmd)
