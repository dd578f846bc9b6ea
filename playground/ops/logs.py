"""Structured logs: one line per record, ``key=value`` or JSON.

Anything passed in ``extra`` becomes a field, so the task and service code log a run as
``log.info("claimed", extra=run_fields(...))`` and every line about it carries ``run_id``,
``kind`` (``run`` or ``fleet_run``) and ``attempt``: ``grep run_id=42`` follows one run across
the web process and every worker.

    ts=2026-01-02T10:11:12.345Z level=INFO logger=playground.services pid=123 msg="run claimed" run_id=42 kind=run attempt=1
"""

from __future__ import annotations

import json
import logging
import time

# attributes every LogRecord has; anything else came from ``extra``
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def run_fields(kind: str, run_id: int, attempt: int | None = None, **more) -> dict:
    fields = {"run_id": run_id, "kind": kind, **more}
    if attempt is not None:
        fields["attempt"] = attempt
    return fields


class StructuredFormatter(logging.Formatter):
    def __init__(self, style: str = "kv", **_ignored):
        super().__init__()
        self.kv = style != "json"

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                fields[key] = value
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        if not self.kv:
            return json.dumps(fields, default=str)
        return " ".join(f"{key}={_kv(value)}" for key, value in fields.items())


def _kv(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or any(c in text for c in ' "=\n\t'):
        return json.dumps(text)
    return text
