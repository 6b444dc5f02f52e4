"""How the command line shows results: JSON for scripts (``--json``, one document on stdout),
rich tables and a bar chart for people, errors on stderr with an exit code per kind of failure."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Final, NoReturn

from rich.console import Console
from rich.table import Table

from qrforge.client import models
from qrforge.client.errors import (
    ApiError,
    AuthenticationError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    QRForgeError,
)

EXIT_API_ERROR: Final = 1
EXIT_AUTH: Final = 3
EXIT_NOT_FOUND: Final = 4
EXIT_NETWORK: Final = 5

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

BAR_WIDTH: Final = 40


def emit_json(value: Any) -> None:
    """One JSON document on stdout (plain: no colour codes, whatever the terminal)."""
    if isinstance(value, models.Model):
        value = value.to_dict()
    elif isinstance(value, list):
        value = [v.to_dict() if isinstance(v, models.Model) else v for v in value]
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def exit_code(error: QRForgeError) -> int:
    if isinstance(error, NetworkError):
        return EXIT_NETWORK
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return EXIT_AUTH
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND
    return EXIT_API_ERROR


def fail(error: QRForgeError, as_json: bool) -> NoReturn:
    """Report ``error`` (the API's code and message as sent) and exit with its code."""
    code = exit_code(error)
    if isinstance(error, ApiError):
        body: dict[str, Any] = {
            "code": error.code,
            "message": error.message,
            "status": error.status,
            "details": error.details,
            "request_id": error.request_id,
        }
        text = f"Error {error.code}: {error.message}"
        if error.code == "INVALID_API_KEY":
            text += "\nRun `qrforge login` or set QRFORGE_API_KEY."
    else:
        body = {"code": "CONNECTION_FAILED", "message": str(error)}
        text = f"Error: {error}\nIs the server running? Check QRFORGE_URL or `qrforge login --url`."
    if as_json:
        emit_json({"error": body})
    stderr.print(f"[red]{_escape(text)}[/red]")
    raise SystemExit(code)


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


def key_values(title: str, rows: Iterable[tuple[str, Any]]) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        if value is None or value in ("", []):
            continue
        table.add_row(name, _escape(str(value)))
    stdout.print(table)


def records(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else _escape(str(v)) for v in row))
    stdout.print(table)


def bar_chart(title: str, points: Sequence[tuple[str, int]]) -> None:
    """A horizontal bar per period (the daily series as a terminal chart)."""
    stdout.print(f"[bold]{_escape(title)}[/bold]")
    top = max((value for _, value in points), default=0)
    label_width = max((len(label) for label, _ in points), default=0)
    for label, value in points:
        eighths = round(value / top * BAR_WIDTH * 8) if top else 0
        bar = "█" * (eighths // 8) + (" ▏▎▍▌▋▊▉"[eighths % 8] if eighths % 8 else "")
        stdout.print(f"{label.ljust(label_width)} [cyan]{bar}[/cyan] {value}")
