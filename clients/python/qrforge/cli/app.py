"""``qrforge``: the QRForge API from a terminal, on the Python SDK.

Every command takes ``--json`` (one JSON document on stdout, for scripts). Exit codes: 0 done,
1 the API refused (its code and message on stderr), 2 wrong usage, 3 INVALID_API_KEY or no
permission, 4 not found (QR_NOT_FOUND, …), 5 the server could not be reached."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from qrforge.cli import credentials, output
from qrforge.client import Client, models
from qrforge.client.errors import QRForgeError

EXIT_CODES_HELP: Final = (
    "Exit codes: 0 done, 1 the API refused the request, 2 wrong usage, "
    "3 INVALID_API_KEY or no permission, 4 not found, 5 server unreachable."
)
IMPORT_POLL_S: Final = 0.5

app = typer.Typer(
    name="qrforge",
    help="QR codes, dynamic codes, barcodes and scan statistics from the QRForge API.\n\n"
    "Log in once with `qrforge login` (or set QRFORGE_URL and QRFORGE_API_KEY).",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
qr_app = typer.Typer(help="Static QR codes (and `qr dynamic …`).", no_args_is_help=True)
dynamic_app = typer.Typer(help="Dynamic QR codes: print once, repoint later.", no_args_is_help=True)
barcode_app = typer.Typer(help="Product barcodes (EAN, UPC, Code 128, …).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of your account.", no_args_is_help=True)
app.add_typer(qr_app, name="qr")
qr_app.add_typer(dynamic_app, name="dynamic")
app.add_typer(barcode_app, name="barcode")
app.add_typer(keys_app, name="keys")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document (for scripts).")]
OutFile = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the image to this file.")
]


@contextmanager
def _client(as_json: bool, api_key: str | None = None, url: str | None = None) -> Iterator[Client]:
    """The SDK client from the stored login / environment; any SDK error ends the command with
    its exit code and the API's message."""
    found = credentials.load()
    try:
        with Client(api_key=api_key or found.api_key, base_url=url or found.url) as client:
            yield client
    except QRForgeError as error:
        output.fail(error, as_json)


def _json_or_text(value: str) -> Any:
    """A JSON object/array given inline or as ``@file.json``; anything else stays a string."""
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(stripped)
        except ValueError as exc:
            raise typer.BadParameter(f"not valid JSON: {exc}") from exc
    return text


def _design(design: str | None) -> dict[str, Any] | None:
    if design is None:
        return None
    parsed = _json_or_text(design)
    if not isinstance(parsed, dict):
        raise typer.BadParameter('--design takes a JSON object, e.g. \'{"fg_color":"#1a237e"}\'')
    return parsed


def _format_for(path: Path | None, given: str | None, default: str) -> str:
    if given:
        return given
    if path is not None and path.suffix:
        suffix = path.suffix.lower().lstrip(".")
        return "jpeg" if suffix == "jpg" else suffix
    return default


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _show_code(code: models.QrCode, written: Path | None = None) -> None:
    rows: list[tuple[str, Any]] = [("id", code.qr_id), ("kind", code.kind), ("name", code.name)]
    if isinstance(code, models.DynamicQrCode):
        protection = code.protection
        rows += [
            ("short url", code.short_url),
            ("destination", code.destination_url),
            ("active", "yes" if code.active else "no"),
            ("scans", code.total_scans),
            ("password", "yes" if protection.password_protected else None),
            ("expires", protection.expiry_date),
            ("max scans", protection.max_scans or None),
            ("rules", len(code.rules) or None),
            ("variants", ", ".join(f"{v.weight}: {v.destination_url}" for v in code.variants)),
            ("expired url", code.expired_url),
        ]
    else:
        content = code.content if isinstance(code.content, str) else json.dumps(code.content)
        rows += [("type", code.type), ("content", content)]
    rows += [
        ("tags", ", ".join(code.tags)),
        ("format", code.format),
        ("error correction", code.applied.error_correction),
        ("image url", code.image_url),
        ("warnings", ", ".join(w.code for w in code.warnings)),
        ("created", code.created_at),
        ("written to", written),
    ]
    output.key_values("QR code", rows)


# --- login --------------------------------------------------------------------------------


@app.command(epilog="Example: qrforge login --url https://qr.example.com")
def login(
    url: Annotated[str | None, typer.Option(help="The gateway's base URL.")] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="Your key (asked for when left out).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a URL and key against the API and store them for later commands (file mode 0600)."""
    current = credentials.load()
    base_url = url or current.url
    key = api_key or typer.prompt("API key", hide_input=True)
    with _client(as_json, api_key=key, url=base_url) as client:
        usage = client.usage()
    path = credentials.save(credentials.Credentials(url=base_url, api_key=key))
    if as_json:
        output.emit_json({"url": base_url, "plan": usage.plan, "config": str(path)})
    else:
        output.stdout.print(f"Logged in to {base_url} (plan {usage.plan}); saved in {path}")


@app.command(epilog="Example: qrforge logout")
def logout(as_json: JsonFlag = False) -> None:
    """Forget the stored URL and key."""
    removed = credentials.forget()
    if as_json:
        output.emit_json({"logged_out": removed})
    else:
        output.stdout.print("Logged out." if removed else "Was not logged in.")


# --- static QR codes ------------------------------------------------------------------------


@qr_app.command(
    "generate",
    epilog="Examples:\n\n"
    "qrforge qr generate url https://example.com -o code.png\n\n"
    'qrforge qr generate wifi \'{"ssid":"Cafe","password":"s3cretpass","encryption":"WPA"}\' -o wifi.svg\n\n'
    'qrforge qr generate text hello --design \'{"fg_color":"#1a237e","dot_style":"round"}\' --json',
)
def qr_generate(
    type: Annotated[str, typer.Argument(help="url, text, phone, email, sms, wifi, vcard, …")],
    content: Annotated[
        str, typer.Argument(help="The text, or a JSON object for structured types (or @file.json).")
    ],
    output_file: OutFile = None,
    format: Annotated[
        str | None,
        typer.Option(help="png, svg, pdf, jpeg, webp, eps (default: from -o, else png)."),
    ] = None,
    size: Annotated[int | None, typer.Option(help="Pixels (100-4096).")] = None,
    error_correction: Annotated[str | None, typer.Option("--ec", help="L, M, Q or H.")] = None,
    design: Annotated[
        str | None, typer.Option(help="Design as a JSON object (or @file.json).")
    ] = None,
    design_id: Annotated[str | None, typer.Option(help="A saved design's id.")] = None,
    name: Annotated[str | None, typer.Option(help="A name to find it by.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make a static QR code (stored in your account) and optionally write its image."""
    options: dict[str, Any] = {
        "format": _format_for(output_file, format, "png"),
        "size": size,
        "error_correction": error_correction,
        "design": _design(design),
        "design_id": design_id,
        "name": name,
        "include_image": output_file is not None or None,
    }
    with _client(as_json) as client:
        code = client.generate_qr(type, _json_or_text(content), **options)
    if output_file is not None and code.image_base64 is not None:
        _write(output_file, base64.b64decode(code.image_base64))
    if as_json:
        record = code.to_dict()
        record.pop("image_base64", None)
        if output_file is not None:
            record["file"] = str(output_file)
        output.emit_json(record)
    else:
        _show_code(code, output_file)


# --- dynamic QR codes -----------------------------------------------------------------------


@dynamic_app.command(
    "create",
    epilog="Example: qrforge qr dynamic create Flyer https://example.com/spring --max-scans 500 -o flyer.png",
)
def dynamic_create(
    name: Annotated[str, typer.Argument(help="A name to find it by.")],
    destination_url: Annotated[str, typer.Argument(help="Where scans go (can change later).")],
    output_file: OutFile = None,
    format: Annotated[str | None, typer.Option(help="Image format (default: from -o).")] = None,
    slug: Annotated[str | None, typer.Option(help="Your own short code.")] = None,
    password: Annotated[str | None, typer.Option(help="Ask scanners for this password.")] = None,
    expiry_date: Annotated[str | None, typer.Option(help="ISO date or datetime.")] = None,
    max_scans: Annotated[int | None, typer.Option(help="Stop after this many scans.")] = None,
    design: Annotated[str | None, typer.Option(help="Design as JSON (or @file.json).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a dynamic QR code: a short URL whose destination you can change after printing."""
    protection = {
        k: v
        for k, v in {
            "password": password,
            "expiry_date": expiry_date,
            "max_scans": max_scans,
        }.items()
        if v is not None
    }
    image_format = _format_for(output_file, format, "png")
    with _client(as_json) as client:
        code = client.create_dynamic(
            name,
            destination_url,
            slug=slug,
            protection=protection or None,
            design=_design(design),
            format=image_format,
        )
        if output_file is not None:
            client.download_qr_code(code.qr_id, format=image_format).save(output_file)
    if as_json:
        record = code.to_dict()
        if output_file is not None:
            record["file"] = str(output_file)
        output.emit_json(record)
    else:
        _show_code(code, output_file)


@dynamic_app.command(
    "repoint", epilog="Example: qrforge qr dynamic repoint qr_… https://example.com/summer"
)
def dynamic_repoint(
    qr_id: Annotated[str, typer.Argument(help="The code's id (qr_…).")],
    destination_url: Annotated[str, typer.Argument(help="The new destination.")],
    as_json: JsonFlag = False,
) -> None:
    """Send a dynamic code's scans somewhere else (live within a second)."""
    with _client(as_json) as client:
        code = client.set_destination(qr_id, destination_url)
    if as_json:
        output.emit_json(code)
    else:
        _show_code(code)


@dynamic_app.command("show", epilog="Example: qrforge qr dynamic show qr_… --json")
def dynamic_show(
    qr_id: Annotated[str, typer.Argument(help="The code's id (qr_…).")],
    as_json: JsonFlag = False,
) -> None:
    """Show one code."""
    with _client(as_json) as client:
        code = client.get_qr_code(qr_id)
    if as_json:
        output.emit_json(code)
    else:
        _show_code(code)


@dynamic_app.command("list", epilog="Example: qrforge qr dynamic list --limit 50 --json")
def dynamic_list(
    limit: Annotated[int, typer.Option(help="At most this many (newest first); 0 = all.")] = 20,
    tag: Annotated[str | None, typer.Option(help="Only codes with this tag.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List your dynamic codes, newest first."""
    codes: list[models.QrCode] = []
    with _client(as_json) as client:
        page_size = min(limit, 100) if limit > 0 else 100
        for code in client.iter_qr_codes(kind="dynamic", tag=tag, page_size=page_size):
            codes.append(code)
            if 0 < limit <= len(codes):
                break
    if as_json:
        output.emit_json(codes)
        return
    output.records(
        f"Dynamic QR codes ({len(codes)})",
        ["id", "name", "short url", "destination", "scans", "created"],
        (
            (
                c.qr_id,
                c.name,
                c.short_url,
                c.destination_url,
                c.total_scans,
                c.created_at.strftime("%Y-%m-%d %H:%M"),
            )
            for c in codes
            if isinstance(c, models.DynamicQrCode)
        ),
    )


@dynamic_app.command("delete", epilog="Example: qrforge qr dynamic delete qr_… --yes")
def dynamic_delete(
    qr_id: Annotated[str, typer.Argument(help="The code's id (qr_…).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete a code; its short URL stops working within a second."""
    if not yes and not as_json:
        typer.confirm(f"Delete {qr_id}? Its short URL will answer 404", abort=True)
    with _client(as_json) as client:
        deleted = client.delete_qr_code(qr_id)
    if as_json:
        output.emit_json(deleted)
    else:
        output.stdout.print(f"Deleted {qr_id}.")


# --- barcodes -------------------------------------------------------------------------------


@barcode_app.command(
    "generate",
    epilog="Examples:\n\n"
    "qrforge barcode generate EAN13 590123412345 -o product.png\n\n"
    "qrforge barcode generate CODE128 'ABC-123' --output-format svg -o label.svg --json",
)
def barcode_generate(
    format: Annotated[str, typer.Argument(help="EAN13, EAN8, UPCA, CODE128, CODE39, ITF, …")],
    value: Annotated[str, typer.Argument(help="What to encode (check digits computed/verified).")],
    output_file: OutFile = None,
    output_format: Annotated[
        str | None, typer.Option(help="png or svg (default: from -o, else png).")
    ] = None,
    width: Annotated[int | None, typer.Option(help="Pixels.")] = None,
    height: Annotated[int | None, typer.Option(help="Pixels.")] = None,
    show_text: Annotated[bool, typer.Option(help="Print the value under the bars.")] = True,
    metadata: Annotated[
        str | None, typer.Option(help='JSON object, e.g. \'{"sku":"A1"}\'.')
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make a barcode (stored in your account) and optionally write its image."""
    meta = _json_or_text(metadata) if metadata else None
    with _client(as_json) as client:
        barcode = client.generate_barcode(
            format,
            value,
            output=_format_for(output_file, output_format, "png"),
            width=width,
            height=height,
            show_text=show_text,
            metadata=meta,
        )
        if output_file is not None:
            client.download_barcode(barcode.barcode_id).save(output_file)
    if as_json:
        record = barcode.to_dict()
        if output_file is not None:
            record["file"] = str(output_file)
        output.emit_json(record)
        return
    output.key_values(
        "Barcode",
        [
            ("id", barcode.barcode_id),
            ("format", barcode.format),
            ("value", barcode.value),
            ("image url", barcode.image_url),
            ("written to", output_file),
        ],
    )


# --- statistics -----------------------------------------------------------------------------


@app.command(
    epilog="Examples:\n\n"
    "qrforge stats qr_…\n\n"
    "qrforge stats qr_… --from 2026-03-01 --to 2026-03-31 --tz Europe/Paris --json",
)
def stats(
    qr_id: Annotated[str, typer.Argument(help="The code's id (qr_…).")],
    from_: Annotated[str | None, typer.Option("--from", help="First day (ISO date).")] = None,
    to: Annotated[str | None, typer.Option(help="Last day (ISO date), inclusive.")] = None,
    tz: Annotated[str | None, typer.Option(help="IANA time zone of the days.")] = None,
    granularity: Annotated[str, typer.Option(help="hour, day, week or month.")] = "day",
    include_bots: Annotated[bool, typer.Option(help="Count bots' scans too.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """A code's scans: totals, devices, countries, and a chart of the series."""
    window: dict[str, Any] = {"from_": from_, "to": to, "tz": tz, "include_bots": include_bots}
    with _client(as_json) as client:
        totals = client.code_stats(qr_id, **window)
        series = client.time_series(qr_id, granularity, **window)
        countries = client.breakdown(qr_id, "countries", **window)
    if as_json:
        output.emit_json(
            {
                "stats": totals.to_dict(),
                "series": series.to_dict(),
                "countries": [c.to_dict() for c in countries],
            }
        )
        return
    output.key_values(
        f"Scans of {qr_id}",
        [
            ("total", totals.total_scans),
            ("unique", totals.unique_scans),
            ("bots", totals.bot_scans),
            ("last scan", totals.last_scan_at or "never"),
            ("top country", totals.top_country),
            ("top city", totals.top_city),
        ],
    )
    output.records(
        "Devices (%)",
        ["device", "share"],
        ((name, f"{share:.1f}") for name, share in totals.devices.items()),
    )
    if countries:
        output.records(
            "Countries",
            ["country", "scans", "unique", "share"],
            ((c.key, c.scans, c.unique_scans, f"{c.share:.1f}") for c in countries),
        )
    output.bar_chart(
        f"Scans per {series.granularity} ({series.tz})",
        [(point.period, point.scans) for point in series.series],
    )


# --- keys -----------------------------------------------------------------------------------


@keys_app.command("list", epilog="Example: qrforge keys list --json")
def keys_list(as_json: JsonFlag = False) -> None:
    """Your account's API keys (never their secrets)."""
    with _client(as_json) as client:
        keys = client.list_api_keys()
    if as_json:
        output.emit_json(keys)
        return
    output.records(
        "API keys",
        ["id", "name", "permissions", "prefix", "created", "last used", "expires"],
        (
            (
                k.key_id,
                k.name,
                ",".join(k.permissions),
                k.prefix,
                k.created_at,
                k.last_used_at or "never",
                k.expires_at or "never",
            )
            for k in keys
        ),
    )


@keys_app.command("create", epilog="Example: qrforge keys create 'ci job' --permission read --json")
def keys_create(
    name: Annotated[str, typer.Argument(help="What the key is for.")],
    permission: Annotated[
        list[str] | None, typer.Option(help="read and/or write (repeat the option).")
    ] = None,
    expires_at: Annotated[str | None, typer.Option(help="RFC 3339 time it stops working.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a key; its secret is printed this once."""
    with _client(as_json) as client:
        created = client.create_api_key(
            name, permission or ["read", "write"], expires_at=expires_at
        )
    if as_json:
        output.emit_json(created)
        return
    output.key_values(
        "New API key",
        [
            ("id", created.key_id),
            ("permissions", ",".join(created.permissions)),
            ("key", created.api_key),
        ],
    )
    output.stderr.print("Store the key now: it is not shown again.")


@keys_app.command("revoke", epilog="Example: qrforge keys revoke key_…")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (key_…).")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key: it fails everywhere within a second."""
    with _client(as_json) as client:
        revoked = client.revoke_api_key(key_id)
    if as_json:
        output.emit_json(revoked)
    else:
        output.stdout.print(f"Revoked {key_id}.")


# --- import and export ----------------------------------------------------------------------


@app.command(
    "import",
    epilog="Examples:\n\n"
    "qrforge import codes.csv\n\n"
    "qrforge import bitly-export.csv --source bitly --json",
)
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A CSV file.")],
    source: Annotated[
        str, typer.Option(help="qrforge, bitly, shlink, yourls or kutt (the CSV's columns).")
    ] = "qrforge",
    wait: Annotated[bool, typer.Option(help="Follow the import until it is done.")] = True,
    errors_file: Annotated[
        Path | None, typer.Option(help="Write the rows that failed (CSV with a reason) here.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Import codes from a CSV; the server works through it in the background."""
    with _client(as_json) as client:
        job = client.start_import(file.read_bytes(), source)
        if wait:
            with Progress(
                TextColumn("importing"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                console=output.stderr,
                disable=as_json,
                transient=True,
            ) as progress:
                task = progress.add_task("import", total=job.rows)
                while job.status in ("queued", "running"):
                    time.sleep(IMPORT_POLL_S)
                    job = client.get_import(job.import_id)
                    progress.update(task, completed=job.processed)
        if errors_file is not None and job.failed:
            _write(errors_file, client.import_errors(job.import_id))
    if as_json:
        output.emit_json(job)
        return
    output.key_values(
        "Import",
        [
            ("id", job.import_id),
            ("status", job.status),
            ("rows", job.rows),
            ("succeeded", job.succeeded),
            ("failed", job.failed),
            ("errors in", errors_file),
        ],
    )


@app.command(
    epilog="Examples:\n\n"
    "qrforge export -o codes.csv\n\n"
    "qrforge export --format ndjson --kind dynamic -o dynamic.ndjson",
)
def export(
    output_file: Annotated[Path, typer.Option("--output", "-o", help="Where to write.")],
    format: Annotated[str, typer.Option(help="csv or ndjson.")] = "csv",
    kind: Annotated[str | None, typer.Option(help="static or dynamic.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only codes with this tag.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every code of your account as CSV or NDJSON (no secrets), streamed to a file."""
    with (
        _client(as_json) as client,
        Progress(
            TextColumn("exporting"),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=output.stderr,
            disable=as_json,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("export", total=None)
        written = client.export_qr_codes_to(
            output_file,
            format,
            kind=kind,
            tag=tag,
            progress=lambda done: progress.update(task, completed=done),
        )
    if as_json:
        output.emit_json({"file": str(output_file), "bytes": written, "format": format})
    else:
        output.stdout.print(f"Wrote {written} bytes to {output_file}.")


def main() -> None:
    app()
