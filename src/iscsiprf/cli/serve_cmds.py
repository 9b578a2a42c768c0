"""`iscsiprf serve` and `iscsiprf watch`: the counters for WBEM clients, Prometheus and people."""

from __future__ import annotations

import math
import ssl
from pathlib import Path
from typing import NoReturn

import click

from iscsiprf.ipsec.errors import IpsecError
from iscsiprf.serve.http import Authenticator, BasicAuth
from iscsiprf.serve.source import SourceError

from .errors import fail, fail_query
from .sources import SourceArgs, open_served, read_password, source_options


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


def _seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A positive, finite number of seconds, at most a day: `nan`, `inf`, 0 and less refused."""
    if not (math.isfinite(value) and 0 < value <= 86400):
        raise click.BadParameter(f"{value} is not a number of seconds in (0, 86400]")
    return value


def _address(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, int]:
    try:
        return parse_host_port(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@click.command("serve")
@source_options(what="Serve")
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
@click.option(
    "--web-config",
    "--web.config.file",
    "web_config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Exporter-toolkit web configuration (YAML): TLS, client certificates, bcrypt "
    "basic_auth_users; both endpoints.",
)
@click.option("--namespace", default="root/wmi", show_default=True, help="CIM namespace served.")
@click.option(
    "--max-body",
    default=1 << 20,
    show_default=True,
    type=click.IntRange(1, 1 << 30),
    help="Largest request body (bytes, 1 to 1 GiB).",
)
@click.option(
    "--read-timeout",
    default=10.0,
    show_default=True,
    type=float,
    callback=_seconds,
    help="Seconds one read may wait (0 < S <= 86400).",
)
@click.option(
    "--request-deadline",
    default=30.0,
    show_default=True,
    type=float,
    callback=_seconds,
    help="Seconds a whole request may hold its connection, answer included (0 < S <= 86400).",
)
def serve_cmd(
    source: SourceArgs,
    cimxml: tuple[str, int],
    metrics: tuple[str, int],
    user: str | None,
    password_file: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    web_config: Path | None,
    namespace: str,
    max_body: int,
    read_timeout: float,
    request_deadline: float,
) -> None:
    """Serve the counters: CIM-XML for WBEM clients, /metrics for Prometheus."""
    from iscsiprf.serve.logs import setup_logging
    from iscsiprf.serve.server import ListenError, ServeOptions, run

    auth: Authenticator | None = None
    if (user is None) != (password_file is None):
        _fail("--user and --password-file go together")
    if user is not None and password_file is not None:
        auth = BasicAuth(user, read_password(str(password_file)))
    ctx = None
    if (tls_cert is None) != (tls_key is None):
        _fail("--tls-cert and --tls-key go together")
    if tls_cert is not None and tls_key is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(str(tls_cert), str(tls_key))
        except (OSError, ssl.SSLError) as e:
            fail(f"{tls_cert}: cannot load certificate and key: {e}")
    if web_config is not None:
        if user is not None or tls_cert is not None:
            _fail("--web-config replaces --user/--password-file and --tls-cert/--tls-key")
        from iscsiprf.serve.webconfig import WebConfigError, load_web_config

        try:
            web = load_web_config(web_config)
        except WebConfigError as e:
            fail(str(e), 1)  # a problem with an input file
        auth, ctx = web.auth, web.ssl_context
    instances = open_served(source)
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
        run(instances, opts)
    except ListenError as e:  # the address is taken or not ours: a problem of the input, exit 1
        instances.close()
        fail(str(e), 1)


@click.command("watch")
@source_options(url=True, what="Watch")
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between samples.",
)
@click.option("--once", is_flag=True, help="Print one frame and exit (for scripts).")
@click.argument("wql", required=False, default="SELECT * FROM MSiSCSI_MMIPSECStats")
def watch_cmd(source: SourceArgs, interval: float, once: bool, wql: str) -> None:
    """A live perfmon-like table: raw values, per-second rates, Active; changes highlighted."""
    from iscsiprf.mof import load_builtin_schema
    from iscsiprf.serve.query import QueryError, compile_wql
    from iscsiprf.serve.watch import watch

    try:
        query = compile_wql(load_builtin_schema(), wql)
    except QueryError as e:
        fail_query(*e.error.line_col(wql), e.error.message)
    instances = open_served(source, beside_running=True)
    try:
        watch(instances, query, interval=interval, once=once)
    except KeyboardInterrupt:
        pass
    except (SourceError, IpsecError) as e:  # IpsecError: a state file read beside serve gone bad
        fail(str(e))
    finally:
        instances.close()


def register(cli: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    cli.add_command(serve_cmd)
    cli.add_command(watch_cmd)
