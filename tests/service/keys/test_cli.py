"""The admin CLI as operators run it: ``python -m services.keys …`` in a real subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qrforge.v1 import keys_pb2
from services.keys import tokens
from tests.service.keys.conftest import PEPPER
from tests.support.backing import create_database, drop_database, scratch_name

if TYPE_CHECKING:
    from qrforge.v1.keys_pb2_grpc import KeysServiceAsyncStub as Stub

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.code == 0, self.stderr
        return json.loads(self.stdout)


async def run_cli(database_url: str, *args: str) -> Completed:
    env = {**os.environ, "DATABASE_URL": database_url, "KEY_PEPPER": PEPPER.decode()}
    env.pop("QRFORGE_ENV", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.keys",
        *args,
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return Completed(process.returncode, stdout.decode(), stderr.decode())


async def test_create_account_prints_a_key_that_authenticates(
    stub: Stub, database_url: str
) -> None:
    result = await run_cli(database_url, "create-account", "--name", "CLI Co", "--plan", "pro")
    printed = result.json()
    assert set(printed) == {
        "account_id",
        "name",
        "plan",
        "api_access",
        "rate_limit_per_min",
        "max_codes",
        "created_at",
        "key_id",
        "api_key",
    }
    assert printed["account_id"].startswith("acc_")
    assert tokens.is_well_formed(printed["api_key"])

    auth = await stub.Authenticate(keys_pb2.AuthenticateRequest(api_key=printed["api_key"]))
    assert auth.account.account_id == printed["account_id"]
    assert auth.account.plan == "pro"
    assert auth.key.key_id == printed["key_id"]
    assert sorted(auth.key.permissions) == ["read", "write"]


async def test_set_plan_and_list_accounts(stub: Stub, database_url: str) -> None:
    created = (await run_cli(database_url, "create-account", "--name", "Plan Co")).json()
    assert (created["plan"], created["rate_limit_per_min"]) == ("starter", 1_000)

    updated = (
        await run_cli(
            database_url,
            "set-plan",
            created["account_id"],
            "free",
            "--rate-limit",
            "120",
            "--no-api-access",
        )
    ).json()
    assert (updated["plan"], updated["rate_limit_per_min"], updated["max_codes"]) == (
        "free",
        120,
        10,
    )
    assert updated["api_access"] is False
    account = await stub.GetAccount(keys_pb2.GetAccountRequest(account_id=created["account_id"]))
    assert (account.plan, account.rate_limit_per_min, account.api_access) == ("free", 120, False)

    listed = await run_cli(database_url, "list-accounts")
    assert listed.code == 0, listed.stderr
    lines = [json.loads(line) for line in listed.stdout.splitlines()]
    assert updated in lines
    assert all("api_key" not in line for line in lines)


async def test_set_plan_refuses_unknown_accounts_and_bad_overrides(database_url: str) -> None:
    missing = await run_cli(database_url, "set-plan", "acc_nobody", "pro")
    assert missing.code == 1
    assert "no account" in missing.stderr

    bad = await run_cli(database_url, "set-plan", "acc_nobody", "pro", "--rate-limit", "0")
    assert bad.code == 2
    assert "rate_limit_per_min" in bad.stderr


async def test_admin_commands_need_migrations_applied() -> None:
    name = scratch_name("qrforge_keys_bare")
    dsn = await create_database(name)
    try:
        result = await run_cli(dsn, "create-account", "--name", "Nobody")
    finally:
        await drop_database(name)
    assert result.code == 1
    assert "services.runtime.migrations" in result.stderr
    assert result.stdout == ""
