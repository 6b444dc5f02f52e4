"""JSON-lines logging with the request id of the work in progress, API keys and client
addresses scrubbed from every line (:mod:`services.runtime.log_redaction`).

The request id lives in a context variable: the gateway sets it per HTTP request, the gRPC
interceptors carry it in metadata, so one id follows a request through every service.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

from services.runtime.log_redaction import STANDARD_RECORD_ATTRS, RedactingFilter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in STANDARD_RECORD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    # On the handler, not a logger: it then sees the records of every library's loggers too.
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Access logs duplicate our own request metrics and would log query strings.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
