"""The demo's view of the counters: a real `iscsiprf serve --config` process, read over CIM-XML.

The demo does what a user would: it starts the server on the lab's adapters (loopback, free
ports), and reads MSiSCSI_MMIPSECStats and MSiSCSI_QMIPSECStats back with a CIM-XML
EnumerateInstances request, as pywbem or wbemcli would. The server is stopped by its PID.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from defusedxml import ElementTree

_REQUEST = (
    '<?xml version="1.0" encoding="utf-8" ?>'
    '<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ>'
    '<IMETHODCALL NAME="EnumerateInstances"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/>'
    '<NAMESPACE NAME="wmi"/></LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName">'
    '<CLASSNAME NAME="{cls}"/></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>'
)
_INTEGER_TYPES = {"uint8", "uint16", "uint32", "uint64", "sint8", "sint16", "sint32", "sint64"}


class ServeError(RuntimeError):
    """The server did not start, or answered with an error."""


class ServeView:
    """`iscsiprf serve --config FILE` as a child process, and a small CIM-XML reader for it."""

    def __init__(self, config: Path, start_timeout: float = 15.0) -> None:
        cmd = [
            sys.executable, "-m", "iscsiprf", "serve", "--config", str(config),
            "--cimxml", "127.0.0.1:0", "--metrics", "127.0.0.1:0",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.urls: dict[str, str] = {}
        self.log: list[str] = []
        ready = threading.Event()
        threading.Thread(target=self._read_log, args=(ready,), daemon=True).start()
        if not ready.wait(start_timeout) or "cimxml" not in self.urls:
            self.close()
            tail = "\n".join(self.log[-5:])
            raise ServeError(f"iscsiprf serve did not become ready:\n{tail}")

    def _read_log(self, ready: threading.Event) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            self.log.append(line)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "listening":
                self.urls[str(event.get("endpoint"))] = str(event.get("url"))
            elif event.get("event") == "ready":
                ready.set()
        ready.set()  # the process ended

    @property
    def pid(self) -> int:
        return self.proc.pid

    def enumerate(self, class_name: str) -> list[dict[str, Any]]:
        """EnumerateInstances over CIM-XML: property name -> typed value."""
        body = _REQUEST.format(cls=class_name).encode()
        req = urllib.request.Request(
            self.urls["cimxml"] + "/cimom",
            data=body,
            headers={
                "Content-Type": 'application/xml; charset="utf-8"',
                "CIMOperation": "MethodCall",
                "CIMMethod": "EnumerateInstances",
                "CIMObject": "root%2Fwmi",
            },
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            root = ElementTree.fromstring(resp.read())
        err = root.find(".//ERROR")
        if err is not None:
            raise ServeError(f"{class_name}: CIM error {err.get('CODE')}: {err.get('DESCRIPTION')}")
        out = []
        for inst in root.iter("INSTANCE"):
            values: dict[str, Any] = {}
            for prop in inst.iter("PROPERTY"):
                value = prop.find("VALUE")
                text = value.text if value is not None else None
                ptype = prop.get("TYPE", "string")
                if text is None:
                    values[prop.get("NAME", "")] = None
                elif ptype in _INTEGER_TYPES:
                    values[prop.get("NAME", "")] = int(text)
                elif ptype == "boolean":
                    values[prop.get("NAME", "")] = text.strip().lower() == "true"
                else:
                    values[prop.get("NAME", "")] = text
            out.append(values)
        return out

    def close(self, timeout: float = 10.0) -> None:
        """SIGTERM by PID (the server flushes its state), SIGKILL if it does not stop."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self) -> ServeView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
