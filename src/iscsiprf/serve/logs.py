"""Structured log lines: one JSON object per line on stderr (`ts`, `level`, `event`, fields)."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

LOGGER_NAME = "iscsiprf.serve"


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line, default=str)


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


def setup_logging(level: int = logging.INFO) -> None:
    """Send this package's log records to stderr as JSON lines (idempotent)."""
    logger = logging.getLogger("iscsiprf")
    for h in list(logger.handlers):
        if getattr(h, "_iscsiprf_json", False):
            logger.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    handler._iscsiprf_json = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def log_record(event: str, fields: Mapping[str, object], level: int = logging.INFO) -> None:
    get_logger().log(level, event, extra={"fields": dict(fields)})


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    log_record(event, fields, level)
