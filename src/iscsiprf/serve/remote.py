"""A running `iscsiprf serve`, read back through its Prometheus endpoint: `watch --url`.

The exposition text is parsed by prometheus_client's own parser; each sample is mapped back to
its class and property through the same family plan the exporter writes from
(`plan_families`), and `iscsiprf_instance_active` gives `Active`. So every counter that
`/metrics` carries comes back under its MOF name, and the collector's state file stays with the
one process that writes it.
"""

from __future__ import annotations

import base64
import math
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from iscsiprf.mof.model import Schema

from .metrics import PREFIX, FamilyPlan, plan_families
from .source import Instance, SourceError

MAX_REPLY = 64 << 20  # a 1,000-adapter exporter answers about 6 MiB


class MetricsUrlSource:
    """Instances of a remote exporter, fetched again at every enumeration."""

    def __init__(
        self,
        schema: Schema,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SourceError(f"--url {url!r}: give http://HOST:PORT or https://HOST:PORT")
        path = parts.path.rstrip("/")
        if not path.endswith("/metrics"):
            path += "/metrics"
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self._schema = schema
        self._headers = {"Accept": "text/plain"}
        if user is not None:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._timeout = timeout
        # Only the server asked for: no proxy from the environment, no redirect elsewhere
        # (the credentials would follow it).
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=ssl_context),
            _NoRedirect(),
        )
        self._plans: dict[str, FamilyPlan] = {p.sample_name: p for p in plan_families(schema)}
        self._errors = 0
        self._last_success: float | None = None
        self._fetch()  # fail at start, with the reason, when nothing answers there

    @property
    def schema(self) -> Schema:
        return self._schema

    def _fetch(self) -> dict[str, dict[str, Instance]]:
        req = urllib.request.Request(self.url, headers=self._headers)
        try:
            with self._opener.open(req, timeout=self._timeout) as resp:
                body = _read_until(resp, MAX_REPLY + 1, time.monotonic() + self._timeout)
        except urllib.error.HTTPError as e:
            self._errors += 1
            raise SourceError(f"GET {self.url}: HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            self._errors += 1
            reason = getattr(e, "reason", None) or e
            raise SourceError(f"GET {self.url}: {reason}") from None
        if len(body) > MAX_REPLY:
            raise SourceError(f"GET {self.url}: reply larger than {MAX_REPLY} bytes")
        try:
            by_class = self._instances(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            self._errors += 1
            raise SourceError(f"GET {self.url}: not a Prometheus exposition: {e}") from None
        self._last_success = time.time()
        return by_class

    def _instances(self, text: str) -> dict[str, dict[str, Instance]]:
        """class (lower) -> instance name -> instance, from the exposition text."""
        out: dict[str, dict[str, Instance]] = {}

        def instance(cls_name: str, name: str) -> Instance:
            per = out.setdefault(cls_name.lower(), {})
            return per.setdefault(name, {"__CLASS": cls_name, "InstanceName": name})

        seen_family = False
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                name = sample.labels.get("instance_name")
                if name is None:
                    continue
                plan = self._plans.get(sample.name)
                if plan is not None:
                    seen_family = True
                    value = sample.value
                    if not (math.isfinite(value) and value >= 0 and value == int(value)):
                        raise ValueError(f"{sample.name}: {value} is not a counter value")
                    instance(plan.cls.name, name)[plan.prop.name] = int(value)
                elif sample.name == f"{PREFIX}_instance_active":
                    cls = self._schema.get(sample.labels.get("class", ""))
                    if cls is not None:
                        instance(cls.name, name)["Active"] = sample.value == 1
        if not seen_family:
            raise ValueError(f"no {PREFIX} counters in the reply")
        return out

    def enumerate(self, class_name: str) -> list[Instance]:
        return list(self._fetch().get(class_name.lower(), {}).values())

    def get(self, class_name: str, instance_name: str) -> Instance | None:
        for inst in self.enumerate(class_name):
            if str(inst.get("InstanceName", "")).lower() == instance_name.lower():
                return inst
        return None

    def health(self) -> Mapping[str, Any]:
        return {
            "source": f"url {self.url}",
            "events_processed": 0,
            "source_errors": self._errors,
            "last_success": self._last_success,
        }

    def close(self) -> None:
        pass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is then an HTTPError: reported, not followed


def _read_until(resp: Any, limit: int, deadline: float) -> bytes:
    """At most `limit` bytes, and no read after `deadline` (a drip-feeding server)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        if time.monotonic() > deadline:
            raise TimeoutError("the reply took longer than the timeout")
        chunk = resp.read(min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
