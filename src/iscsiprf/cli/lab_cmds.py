"""`iscsiprf lab up|down|status|demo`: the two-namespace strongSwan lab (as root)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from iscsiprf.lab import install, lifecycle, preflight, topology
from iscsiprf.lab.netns import LabError

from .errors import fail

F = TypeVar("F", bound=Callable[..., Any])

_dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=topology.DEFAULT_DIR,
    show_default=True,
    help="Lab directory (configs, sockets, logs, PID files).",
)
_prefix_option = click.option(
    "--prefix",
    default=topology.DEFAULT_PREFIX,
    show_default=True,
    help="Namespace name prefix: namespaces are <prefix>A and <prefix>B.",
)


_fail = fail


def _lab_errors(func: F) -> F:
    """Report lab failures as one line on stderr, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (LabError, OSError, ValueError) as exc:
            _fail(str(exc))

    return wrapper  # type: ignore[return-value]


def _require_machine() -> None:
    problems = preflight.machine_problems()
    if problems:
        _fail("; ".join(problems))


def _existing_lab(directory: Path) -> topology.Lab:
    lab = topology.load_lab(directory)
    if lab is None:
        _fail(f"no lab in {directory.absolute()} (start one with `iscsiprf lab up`)")
        raise AssertionError  # unreachable: _fail exits
    return lab


@click.group("lab")
def lab_group() -> None:
    """Two network namespaces, one strongSwan charon in each (IKEv1 main mode and IKEv2)."""


@lab_group.command("up")
@_dir_option
@_prefix_option
@click.option("--install", "do_install", is_flag=True, help="apt-get install missing packages.")
@_lab_errors
def up_cmd(directory: Path, prefix: str, do_install: bool) -> None:
    """Create the namespaces, start both daemons, load the connections; print the adapters."""
    _require_machine()
    if do_install:
        install.ensure_installed(echo=lambda line: click.echo(line, err=True))
    elif missing := install.missing_packages():
        _fail(f"missing packages: {', '.join(missing)} (add --install, or run `iscsiprf lab demo`)")
    known = topology.load_lab(directory)
    if known is not None and known.prefix != prefix:
        _fail(f"{directory} already holds a lab with prefix {known.prefix!r}; use `lab down` first")
    lab = topology.make_lab(directory, prefix)
    lifecycle.up(lab)
    click.echo(lifecycle.adapters_toml(lab), nl=False)
    click.echo(f"(also written to {lab.adapters_file}, for --config)", err=True)


@lab_group.command("down")
@_dir_option
@_lab_errors
def down_cmd(directory: Path) -> None:
    """Stop the daemons (by saved PID), delete both namespaces, keep only the logs."""
    _require_machine()
    lab = topology.load_lab(directory)
    if lab is None:
        click.echo(f"no lab in {directory.absolute()}")
        return
    lifecycle.down(lab)
    kept = lifecycle.remove_run_files(lab)
    click.echo(f"lab {lab.a.netns}/{lab.b.netns} down")
    if kept:
        click.echo(f"logs kept: {', '.join(str(p) for p in kept)}")


@lab_group.command("status")
@_dir_option
@_lab_errors
def status_cmd(directory: Path) -> None:
    """Namespaces, daemons and their IKE/CHILD SAs."""
    lab = _existing_lab(directory)
    for entry in lifecycle.status(lab):
        node = entry.node
        netns = "present" if entry.netns_present else "MISSING"
        daemon = f"charon pid {entry.pid}" if entry.pid else "charon NOT RUNNING"
        if entry.version:
            daemon += f" (strongSwan {entry.version})"
        click.echo(f"node {node.key}  {node.device}  netns {node.netns} {netns}  {daemon}")
        click.echo(f"  vici {node.vici_uri}")
        if entry.error:
            click.echo(f"  error: {entry.error}")
        if entry.pid and not entry.ike_sas:
            click.echo("  no IKE_SA")
        for sa in entry.ike_sas:
            click.echo(
                f"  IKE_SA {sa['name']}[{sa.get('uniqueid', '?')}] IKEv{sa.get('version', '?')}"
                f" {sa.get('state', '?')} {sa.get('local-host', '')}...{sa.get('remote-host', '')}"
            )
            for child in sa.get("child-sas", {}).values():
                click.echo(
                    f"    CHILD_SA {child.get('name')}{{{child.get('uniqueid', '?')}}}"
                    f" {child.get('state', '?')} {child.get('mode', '')}"
                    f" in {child.get('packets-in', 0)} pkts, out {child.get('packets-out', 0)} pkts"
                )


@lab_group.command("iscsi")
@_dir_option
@click.option(
    "--mib",
    type=click.IntRange(1, 64),
    default=16,
    show_default=True,
    help="MiB to move (the LUN holds 64).",
)
@click.option("--write", is_flag=True, help="Write to the LUN instead of reading it.")
@click.option(
    "--profile",
    type=click.Choice(["ikev1", "ikev2"]),
    default="ikev1",
    show_default=True,
    help="RFC 3723 IKEv1 main mode + PSK, or RFC 7146 IKEv2.",
)
@_lab_errors
def iscsi_cmd(directory: Path, mib: int, write: bool, profile: str) -> None:
    """Log in to node B's LUN through the tunnel, move --mib MiB, log out; show the counters."""
    from iscsiprf.lab import iscsi_policy, iscsi_step

    _require_machine()
    lab = _existing_lab(directory)
    result = iscsi_step.run(lab, iscsi_policy.PROFILES[profile], mib, write)
    for line in iscsi_step.describe(result, lab):
        click.echo(line)
    if not result.login.ok:
        _fail(f"iSCSI through {profile} failed: {result.login.error or 'logout failed'}")


@lab_group.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The demo's own lab directory: must not exist yet, or be empty "
    "[default: a fresh private directory, removed at the end].",
)
@click.option(
    "--prefix",
    default=None,
    help="Namespace name prefix; its namespaces must not exist [default: demo<pid>-].",
)
@click.option("--keep", is_flag=True, help="Leave the lab running at the end.")
@click.option(
    "--logs",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the daemons' logs: copy them into this directory at the end.",
)
@_lab_errors
def demo_cmd(directory: Path | None, prefix: str | None, keep: bool, logs: Path | None) -> None:
    """Install what is missing, bring a lab of its own up, negotiate, fail, show live counters,
    tear it down. It runs beside any other lab and never touches what it did not create."""
    import os
    import tempfile

    from iscsiprf.lab import demo, netns
    from iscsiprf.lab.serve_view import ServeError

    _require_machine()
    prefix = prefix if prefix is not None else f"demo{os.getpid()}-"
    taken = {f"{prefix}A", f"{prefix}B"} & netns.list_namespaces()
    if taken:
        _fail(f"namespaces {', '.join(sorted(taken))} already exist: the demo runs its own lab; "
              "give another --prefix")  # fmt: skip
    made_dir = directory is None or not directory.exists()
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="iscsiprf-demo-"))
    elif directory.exists() and any(directory.iterdir()):
        _fail(f"{directory} is not empty: the demo runs its own lab in a new or empty directory")
    if logs is not None and made_dir and logs.resolve().is_relative_to(directory.resolve()):
        _fail(f"--logs {logs} is inside the demo's directory, which goes at the end")
    lab = topology.make_lab(directory, prefix)
    try:
        completed = demo.run(lab, keep=keep, logs=logs, remove_dir=made_dir)
    except ServeError as exc:
        _fail(f"the demo's server did not start: {exc}")
    if not completed:
        raise SystemExit(130)  # interrupted (Ctrl-C), after tearing the lab down


def register(cli: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    cli.add_command(lab_group)
