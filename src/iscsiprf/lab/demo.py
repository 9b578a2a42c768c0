"""`iscsiprf lab demo`: the whole story in one command, torn down at the end (also on Ctrl-C)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from . import install, iscsi_demo, lifecycle, scenarios
from .observe import ENFY_NAMES
from .scenarios import LabSession
from .serve_view import ServeView
from .topology import Lab


def run(
    lab: Lab,
    keep: bool = False,
    console: Console | None = None,
    logs: Path | None = None,
    remove_dir: bool = True,
) -> bool:
    """The demo in its own lab; False when it was interrupted (the lab is torn down all the
    same). Unless `keep`, its lab goes at the end (the logs first copied into `logs` when
    given): the whole directory when the demo made it (`remove_dir`), else only the files the
    lab wrote, so nothing is left behind but what the user asked for."""
    console = console or Console()
    installed = install.ensure_installed(echo=lambda line: console.print(f"[dim]{line}[/]"))
    if installed:
        console.print(f"installed: {', '.join(installed)}")
    console.rule("lab up")
    started = time.monotonic()
    lifecycle.up(lab)
    console.print(
        f"namespaces {lab.a.netns} and {lab.b.netns}, two charon daemons, "
        f"connections loaded in {time.monotonic() - started:.2f} s"
    )
    console.print(lifecycle.adapters_toml(lab), markup=False, highlight=False)
    session = None
    completed = False
    try:
        session = LabSession(lab)
        with _watch(lab, console) as view:
            _provoke_failures(session, console)
            session.reset()  # the tunnels start from no SA at all
            _negotiate(session, console)
            view.wait_for_bytes(console)
            view.show(console)
            iscsi_demo.step(session, view.server, console)
        completed = True
    except KeyboardInterrupt:
        console.print("interrupted: tearing the lab down")
    finally:
        if session is not None:
            session.close()
        if keep:
            console.print(f"lab left running; stop it with `iscsiprf lab down --dir {lab.dir}`")
        else:
            console.rule("lab down")
            if logs is not None:
                _keep_logs(lab, logs)
                console.print(f"daemon logs copied to {logs}")
            lifecycle.down(lab, remove_dir=remove_dir)
            if not remove_dir:  # a directory the user gave: only what the lab wrote goes
                lifecycle.remove_run_files(lab)
            console.print("daemons stopped, namespaces deleted")
    return completed


def _keep_logs(lab: Lab, logs: Path) -> None:
    logs.mkdir(parents=True, exist_ok=True)
    for path in lifecycle.lab_logs(lab):
        name = path.name if path.parent == lab.dir else f"{path.stem}-{path.parent.name}.log"
        shutil.copyfile(path, logs / name)


def _negotiate(session: LabSession, console: Console) -> None:
    console.rule("tunnels")
    for version, (src, dst) in ((1, ("10.99.1.1", "10.99.2.1")), (2, ("10.99.3.1", "10.99.4.1"))):
        result = session.initiate(version)
        mode = "main mode + quick mode" if version == 1 else "IKE_SA_INIT + IKE_AUTH"
        state = "established" if result.ok else f"FAILED ({result.error})"
        console.print(f"IKEv{version} {mode}: {state} in {result.seconds * 1000:.0f} ms")
        ping = subprocess.run(
            ["ip", "netns", "exec", session.lab.a.netns, "ping", "-q", "-c", "5", "-i", "0.2",
             "-I", src, dst],
            capture_output=True, text=True,
        )  # fmt: skip
        summary = [line for line in ping.stdout.splitlines() if "transmitted" in line]
        replies = summary[0].split(",")[1].strip() if summary else "no answer"
        console.print(f"  ping {src} -> {dst} through the tunnel: 5 sent, {replies}")


def _provoke_failures(session: LabSession, console: Console) -> None:
    console.rule("failures")
    steps: list[tuple[str, Callable[[], scenarios.Outcome]]] = [
        ("IKEv2 with a wrong pre-shared key", lambda: scenarios.wrong_psk(session, 2)),
        ("IKEv2 proposal mismatch", lambda: scenarios.proposal_mismatch(session, 2)),
        (
            "IKEv1 quick-mode proposal mismatch",
            lambda: scenarios.child_proposal_mismatch(session, 1),
        ),
        ("garbage to udp/500", lambda: scenarios.malformed_header(session)),
        ("IKEv1 message with an unknown cookie", lambda: scenarios.unknown_cookie_v1(session)),
    ]
    for title, step in steps:
        session.reset()
        outcome = step()
        alerts = {k: ", ".join(ENFY_NAMES.get(a, str(a)) for a in outcome.alerts(k)) for k in "AB"}
        console.print(f"{title}\n  error-notify: A {alerts['A'] or '-'}; B {alerts['B'] or '-'}")


class _LiveView:
    """`iscsiprf serve --config` on the lab's adapters, its counters read back over CIM-XML."""

    def __init__(self, lab: Lab, console: Console) -> None:
        self.lab = lab
        for node in lab.nodes:
            # The demo counts from zero; a real deployment keeps its state file across runs.
            node.state_file.unlink(missing_ok=True)
        self.server = ServeView(lab.adapters_file)
        urls = self.server.urls
        console.print(
            f"iscsiprf serve --config {lab.adapters_file} (pid {self.server.pid}): "
            f"CIM-XML {urls.get('cimxml')}, metrics {urls.get('metrics')}/metrics"
        )

    def __enter__(self) -> _LiveView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()

    def wait_for_bytes(self, console: Console, timeout: float = 8.0) -> None:
        """Until the server's collector of node A has taken in the tunnel bytes the daemon
        reports (SA byte counts are sampled, unlike events)."""
        from .control import Control

        with Control.of(self.lab.a) as control:
            sent = sum(
                int(child.get("bytes-out", 0))
                for sa in control.list_sas()
                for child in sa.get("child-sas", {}).values()
            )
        console.print("[dim]waiting for the collectors' next SA sample...[/]")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            instances = self.server.enumerate("MSiSCSI_QMIPSECStats")
            mine = [i for i in instances if i["InstanceName"] == f"{self.lab.a.device}_0"]
            if mine and int(mine[0].get("TunnelBytesSent") or 0) >= sent:
                return
            time.sleep(0.2)

    def show(self, console: Console) -> None:
        from iscsiprf.mof import load_builtin_schema

        schema = load_builtin_schema()
        for class_name in ("MSiSCSI_MMIPSECStats", "MSiSCSI_QMIPSECStats"):
            instances = self.server.enumerate(class_name)
            table = Table(title=f"{class_name} (CIM-XML EnumerateInstances, root/wmi)")
            table.add_column("property")
            for inst in instances:
                table.add_column(str(inst["InstanceName"]), justify="right")
            table.add_row("Active", *(str(inst.get("Active")) for inst in instances))
            for prop in schema.cls(class_name).data_items():
                table.add_row(prop.name, *(str(inst.get(prop.name, "")) for inst in instances))
            console.print(table)


def _watch(lab: Lab, console: Console) -> _LiveView:
    return _LiveView(lab, console)
