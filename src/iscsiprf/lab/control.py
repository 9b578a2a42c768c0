"""Drive a lab node's charon over VICI: load, initiate, terminate, and read its SAs and counters.

This is the *active* side that plays the operator (swanctl) and the peers; iscsiprf's collector
only ever watches. Every streamed command's generator is consumed before the next request, as a
`vici.Session` requires.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import vici

from .config import NodeSettings, connections, secrets
from .topology import Lab, Node


def decode(value: Any) -> Any:
    """VICI gives bytes everywhere; turn a message into plain str/list/dict."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {decode(k): decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


@dataclass
class InitiateResult:
    ok: bool
    seconds: float
    error: str = ""
    log: list[str] = field(default_factory=list)


class Control:
    """One VICI session to one node's daemon."""

    def __init__(self, vici_socket: Path, timeout: float = 60.0) -> None:
        self._sock = socket.socket(socket.AF_UNIX)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(str(vici_socket))
        except OSError:
            self._sock.close()
            raise
        self._session = vici.Session(self._sock)

    @classmethod
    def of(cls, node: Node) -> Control:
        return cls(node.vici_socket)

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Control:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- configuration ---

    def load(self, lab: Lab, node: Node, settings: NodeSettings) -> None:
        """Make the daemon's connections and secrets exactly those generated for `settings`."""
        wanted = connections(lab, node, settings)
        loaded = decode(self._session.get_conns()).get("conns", [])
        for name in loaded:
            if name not in wanted:
                self._session.unload_conn({"name": name})
        for name, conn in wanted.items():
            self._session.load_conn({name: conn})
        wanted_secrets = secrets(lab, node, settings)
        for key in decode(self._session.get_shared()).get("keys", []):
            if key not in wanted_secrets:
                self._session.unload_shared({"id": key})
        for key, secret in wanted_secrets.items():
            self._session.load_shared({"id": key, **secret})

    # --- negotiations ---

    def initiate(self, ike: str, child: str | None, timeout_ms: int = 15000) -> InitiateResult:
        """Start a negotiation and wait for its outcome (success or the daemon's failure)."""
        request: dict[str, str | int] = {"ike": ike, "timeout": timeout_ms}
        if child is not None:
            request["child"] = child
        log: list[str] = []
        started = time.monotonic()
        try:
            for entry in self._session.initiate(request):
                log.append(decode(entry).get("msg", ""))
        except vici.exception.CommandException as exc:
            return InitiateResult(False, time.monotonic() - started, str(exc), log)
        return InitiateResult(True, time.monotonic() - started, "", log)

    def terminate_all(self, timeout_ms: int = 1000) -> int:
        """Delete every IKE_SA (with its children); return how many there were.

        Each delete waits up to `timeout_ms` for the peer's answer and is forced only then: a
        delete forced at once leaves the peer's answer arriving for an SA that no longer exists,
        a stray INVALID_IKE_SPI that would land in the next scenario's observations."""
        ids = [sa["uniqueid"] for sa in self.list_sas()]
        for ike_id in ids:
            request = {"ike-id": ike_id, "force": "yes", "timeout": timeout_ms}
            try:
                list(self._session.terminate(request))
            except vici.exception.CommandException:
                pass  # already gone, or forced after the timeout
        return len(ids)

    def install_trap(self, ike: str, child: str) -> None:
        """(Re)install the trap policy of a `start_action = trap` child."""
        self._session.install({"ike": ike, "child": child})

    def uninstall_trap(self, child: str) -> None:
        """Remove a child's trap policy: its traffic is no longer routed into the tunnel."""
        self._session.uninstall({"child": child})

    def rekey_child(self, child: str) -> int:
        """Ask the daemon to rekey the CHILD_SAs of config `child`; return how many matched."""
        reply = decode(self._session.rekey({"child": child}))
        return int(reply.get("matches", 0))

    # --- observations ---

    def list_sas(self) -> list[dict[str, Any]]:
        """One dict per IKE_SA, with its connection name under key `name`."""
        out = []
        for item in self._session.list_sas():
            for name, sa in decode(item).items():
                out.append({"name": name, **sa})
        return out

    def counters(self) -> dict[str, dict[str, int]]:
        """counters plugin values: global under key "" plus one block per connection."""
        # `all` lists only the per-connection blocks; the global one needs its own request.
        out: dict[str, dict[str, int]] = {}
        for request in ({}, {"all": "yes"}):
            reply = decode(self._session.get_counters(request))
            for conn, block in reply.get("counters", {}).items():
                out[conn] = {k: int(v) for k, v in block.items()}
        return out

    def stats(self) -> dict[str, Any]:
        return dict(decode(self._session.stats()))

    def version(self) -> dict[str, str]:
        return dict(decode(self._session.version()))
