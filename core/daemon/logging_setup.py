"""Process logs for the daemon: readable text, or one JSON object per line (``--log-format json``).

JSON lines carry ``ts`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and, when the call
site gave them, ``connection`` and ``flow``, so a log pipeline can filter by connection without
parsing messages. Exceptions go in ``exc``. Secrets never reach these logs: the HTTP layer
redacts URLs, and credentials are never formatted into messages.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import IO

#: ``extra=`` fields copied into JSON lines when present.
CONTEXT_FIELDS = ("connection", "flow", "system")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(fmt: str = "text", level: str | int = "INFO", stream: IO[str] | None = None) -> None:
    """Replace the root logger's handlers with one writing ``fmt`` (``text`` or ``json``) to stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # uvicorn configures its own loggers; route them through ours (its access log stays off).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migration chatter on every start


__all__ = ["JsonFormatter", "setup_logging"]
