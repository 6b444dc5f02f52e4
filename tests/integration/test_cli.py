"""The ``qrforge`` command line as a user runs it: a subprocess against the running system,
logged in through its config file or the environment, human and ``--json`` output, exit codes
with the API's message, and images on disk that decode to what was asked for."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp

from tests.support.decoding import decode_png, decode_single_qr
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess, free_port
from tests.support.stack import ApiAccount, Stack

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)

Cli = Callable[..., subprocess.CompletedProcess[str]]


def _run(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qrforge.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _base_env(config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QRFORGE_")}
    env["QRFORGE_CONFIG_DIR"] = str(config_dir)
    env["COLUMNS"] = "200"  # tables unwrapped, whatever the CI terminal
    return env


@pytest.fixture(scope="module")
def cli_account(stack: Stack) -> ApiAccount:
    return stack.create_account("cli", plan="pro")


@pytest.fixture
def cli(stack: Stack, cli_account: ApiAccount, tmp_path: Path) -> Cli:
    """The CLI with QRFORGE_URL / QRFORGE_API_KEY of the module's account, run in tmp_path."""
    env = {
        **_base_env(tmp_path / "config"),
        "QRFORGE_URL": stack.gateway_url,
        "QRFORGE_API_KEY": cli_account.api_key,
    }

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return _run({**env, **extra_env}, *args, cwd=tmp_path)

    return run


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_login_stores_a_private_config_and_generate_writes_a_code_that_scans(
    stack: Stack, cli_account: ApiAccount, tmp_path: Path
) -> None:
    env = _base_env(tmp_path / "config")
    logged = _run(
        env, "login", "--url", stack.gateway_url, "--api-key", cli_account.api_key, cwd=tmp_path
    )
    assert logged.returncode == 0, logged.stderr
    assert "Logged in" in logged.stdout and "plan pro" in logged.stdout
    config = tmp_path / "config" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {
        "url": stack.gateway_url,
        "api_key": cli_account.api_key,
    }

    # No key in the environment: the stored login is used.
    made = _run(env, "qr", "generate", "url", "https://example.com", "-o", "code.png", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "qr_" in made.stdout and "code.png" in made.stdout
    assert decode_single_qr((tmp_path / "code.png").read_bytes()) == "https://example.com"

    again = _run(
        env, "login", "--api-key", cli_account.api_key, "--url", stack.gateway_url, "--json"
    )
    assert _json(again)["plan"] == "pro" and _json(again)["url"] == stack.gateway_url
    out = _run(env, "logout", "--json", cwd=tmp_path)
    assert _json(out) == {"logged_out": True}
    assert not config.exists()


def test_login_with_a_wrong_key_stores_nothing(stack: Stack, tmp_path: Path) -> None:
    env = _base_env(tmp_path / "config")
    result = _run(env, "login", "--url", stack.gateway_url, "--api-key", "sk_live_wrong")
    assert result.returncode == 3
    assert "INVALID_API_KEY" in result.stderr
    assert not (tmp_path / "config" / "config.json").exists()


def test_generate_json_with_a_design_and_structured_content(cli: Cli, tmp_path: Path) -> None:
    wifi = {"ssid": "Cafe", "password": "s3cretpass", "encryption": "WPA"}
    record = _json(
        cli(
            "qr",
            "generate",
            "wifi",
            json.dumps(wifi),
            "-o",
            "wifi.png",
            "--size",
            "400",
            "--design",
            '{"fg_color":"#1a237e","dot_style":"round"}',
            "--json",
        )
    )
    assert record["qr_id"].startswith("qr_")
    assert record["kind"] == "static" and record["type"] == "wifi"
    assert record["file"] == "wifi.png" and "image_base64" not in record
    assert decode_single_qr((tmp_path / "wifi.png").read_bytes()) == (
        "WIFI:T:WPA;S:Cafe;P:s3cretpass;;"
    )


def test_generate_refused_content_exits_1_with_the_api_message(cli: Cli) -> None:
    result = cli("qr", "generate", "url", "not a url")
    assert result.returncode == 1
    assert "INVALID_CONTENT" in result.stderr
    as_json = cli("qr", "generate", "url", "not a url", "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["error"]["code"] == "INVALID_CONTENT"


def test_dynamic_create_repoint_show_list_delete(cli: Cli, tmp_path: Path) -> None:
    created = _json(
        cli(
            "qr",
            "dynamic",
            "create",
            "Flyer",
            "https://example.com/spring",
            "--max-scans",
            "500",
            "-o",
            "flyer.png",
            "--json",
        )
    )
    qr_id = created["qr_id"]
    assert created["kind"] == "dynamic"
    assert created["destination_url"] == "https://example.com/spring"
    assert created["protection"]["max_scans"] == 500
    assert decode_single_qr((tmp_path / "flyer.png").read_bytes()) == created["short_url"]

    repointed = cli("qr", "dynamic", "repoint", qr_id, "https://example.com/summer")
    assert repointed.returncode == 0, repointed.stderr
    assert "https://example.com/summer" in repointed.stdout
    again = _json(cli("qr", "dynamic", "repoint", qr_id, "https://example.com/autumn", "--json"))
    assert again["destination_url"] == "https://example.com/autumn"
    cli("qr", "dynamic", "repoint", qr_id, "https://example.com/summer")

    shown = _json(cli("qr", "dynamic", "show", qr_id, "--json"))
    assert shown["destination_url"] == "https://example.com/summer"
    human = cli("qr", "dynamic", "show", qr_id)
    assert created["short_url"] in human.stdout and "destination" in human.stdout

    listed = _json(cli("qr", "dynamic", "list", "--json", "--limit", "0"))
    assert qr_id in [code["qr_id"] for code in listed]
    assert all(code["kind"] == "dynamic" for code in listed)
    table = cli("qr", "dynamic", "list")
    assert qr_id in table.stdout and "Flyer" in table.stdout

    deleted = _json(cli("qr", "dynamic", "delete", qr_id, "--json"))
    assert deleted["deleted"] is True
    other = cli("qr", "dynamic", "create", "Other", "https://example.com/other")
    assert other.returncode == 0 and "Other" in other.stdout and "short url" in other.stdout
    other_id = next(word for word in other.stdout.split() if word.startswith("qr_"))
    human_delete = cli("qr", "dynamic", "delete", other_id, "--yes")
    assert human_delete.returncode == 0 and f"Deleted {other_id}" in human_delete.stdout
    gone = cli("qr", "dynamic", "show", qr_id)
    assert gone.returncode == 4
    assert "QR_NOT_FOUND" in gone.stderr
    gone_json = cli("qr", "dynamic", "show", qr_id, "--json")
    assert gone_json.returncode == 4
    assert json.loads(gone_json.stdout)["error"]["code"] == "QR_NOT_FOUND"


def test_barcode_generate_writes_a_barcode_with_its_check_digit(cli: Cli, tmp_path: Path) -> None:
    record = _json(
        cli(
            "barcode",
            "generate",
            "EAN13",
            "590123412345",
            "-o",
            "product.png",
            "--metadata",
            '{"sku":"A1"}',
            "--json",
        )
    )
    assert record["value"] == "5901234123457"
    assert record["metadata"] == {"sku": "A1"}
    texts = decode_png((tmp_path / "product.png").read_bytes(), zxingcpp.BarcodeFormat.EAN13)
    assert texts == ["5901234123457"]
    human = cli("barcode", "generate", "CODE128", "ABC-123")
    assert human.returncode == 0 and "bc_" in human.stdout


async def test_stats_shows_a_table_and_a_chart_of_the_scans(stack: Stack, cli: Cli) -> None:
    created = _json(
        cli("qr", "dynamic", "create", "Poster", "https://example.com/poster", "--json")
    )
    async with httpx.AsyncClient() as http:
        for i in range(3):
            scan = await http.get(
                created["short_url"],
                headers={"User-Agent": IPHONE, "X-Forwarded-For": f"8.8.8.{i + 1}"},
            )
            assert scan.status_code == 302

    async def counted() -> dict[str, Any] | None:
        result = cli("stats", created["qr_id"], "--json")
        report: dict[str, Any] = _json(result)
        return report if report["stats"]["total_scans"] == 3 else None

    report = await eventually(counted, timeout_s=30, what="3 scans in the stats")
    assert report["stats"]["devices"]["mobile"] == 100.0
    assert sum(p["scans"] for p in report["series"]["series"]) == 3
    human = cli("stats", created["qr_id"])
    assert human.returncode == 0, human.stderr
    assert "Scans per day" in human.stdout and "█" in human.stdout
    assert "total" in human.stdout and "mobile" in human.stdout


def test_keys_list_create_revoke(stack: Stack, cli: Cli) -> None:
    created = _json(cli("keys", "create", "ci job", "--permission", "read", "--json"))
    assert created["api_key"] and created["permissions"] == ["read"]
    listed = _json(cli("keys", "list", "--json"))
    assert created["key_id"] in [k["key_id"] for k in listed]
    assert all("api_key" not in k for k in listed)
    table = cli("keys", "list")
    assert created["key_id"] in table.stdout and "ci job" in table.stdout
    revoked = cli("keys", "revoke", created["key_id"])
    assert revoked.returncode == 0 and created["key_id"] in revoked.stdout
    shown_once = cli("keys", "create", "laptop")
    assert shown_once.returncode == 0 and "sk_" in shown_once.stdout
    assert "not shown again" in shown_once.stderr
    laptop = next(k for k in _json(cli("keys", "list", "--json")) if k["name"] == "laptop")
    assert _json(cli("keys", "revoke", laptop["key_id"], "--json")) == {
        "key_id": laptop["key_id"],
        "revoked": True,
    }
    # The revoked key is refused: INVALID_API_KEY, exit 3, with the API's message.
    refused = cli("keys", "list", QRFORGE_API_KEY=created["api_key"])
    assert refused.returncode == 3
    assert "INVALID_API_KEY" in refused.stderr and "qrforge login" in refused.stderr


def test_unreachable_server_exits_5(cli: Cli) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    result = cli("qr", "dynamic", "list", QRFORGE_URL=down)
    assert result.returncode == 5
    assert "cannot reach" in result.stderr
    as_json = cli("keys", "list", "--json", QRFORGE_URL=down)
    assert as_json.returncode == 5
    assert json.loads(as_json.stdout)["error"]["code"] == "CONNECTION_FAILED"


def test_import_and_export(cli: Cli, tmp_path: Path, import_worker: ServiceProcess) -> None:
    """Against ``/v1/imports`` (run by the import worker) and ``/v1/qrcodes/export``."""
    exported = cli("export", "-o", "codes.csv", "--json")
    assert _json(exported)["bytes"] == (tmp_path / "codes.csv").stat().st_size
    (tmp_path / "in.csv").write_text(
        "kind,type,content,name,destination_url\nstatic,text,imported one,One,\n"
        "dynamic,,,Two,https://example.com/two\n"
    )
    imported = cli("import", "in.csv", "--json")
    job = _json(imported)
    assert job["status"] == "done" and job["succeeded"] == 2


def test_help_shows_examples_and_completion_is_offered(cli: Cli) -> None:
    top = cli("--help")
    assert (
        top.returncode == 0 and "Exit codes" in top.stdout and "--install-completion" in top.stdout
    )
    for command in (["qr", "generate"], ["stats"]):
        shown = cli(*command, "--help")
        assert shown.returncode == 0 and "qrforge " in shown.stdout, command
        assert "Example" in shown.stdout, command
    completion = cli("--show-completion", "bash")
    assert completion.returncode == 0 and "complete" in completion.stdout
