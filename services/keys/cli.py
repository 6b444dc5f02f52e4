"""Command line of the keys service: ``serve`` (the default) and the admin commands.

Admin commands print JSON on stdout (one object, or one object per line for lists) and errors
on stderr with a non-zero exit status. They apply no migrations: the schema is owned by the
migration step (``python -m services.runtime.migrations``, the Kubernetes migration Job, the
local dev stack), so an admin command never changes a schema under a running fleet; when the
tables are missing they say so and exit 1.

``create-account`` prints the first key's secret (permissions read+write) once; it is stored
only as a keyed hash, so it cannot be shown again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.keys.accounts import Account
from services.keys.operations import create_account_with_key
from services.keys.plans import DEFAULT_PLAN, PLANS, plan_limits
from services.keys.server import serve
from services.keys.settings import KeysSettings
from services.keys.storage import KeysStore
from services.runtime.errors import ApiError
from services.runtime.lifecycle import run_service
from services.runtime.postgres import open_pool


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def account_json(account: Account) -> dict[str, Any]:
    return {
        "account_id": account.account_id,
        "name": account.name,
        "plan": account.plan,
        "api_access": account.api_access,
        "rate_limit_per_min": account.rate_limit_per_min,
        "max_codes": account.max_codes,
        "created_at": _rfc3339(account.created_at),
    }


def _print(value: dict[str, Any]) -> None:
    print(json.dumps(value, separators=(",", ":")))


class CommandError(Exception):
    """A failure to report on stderr with exit status 1."""


async def create_account(settings: KeysSettings, name: str, plan: str) -> dict[str, Any]:
    pool = await open_pool(settings.database_url, max_size=1)
    try:
        created = await create_account_with_key(
            KeysStore(pool), pepper=settings.key_pepper, name=name, plan=plan
        )
    finally:
        await pool.close()
    return {
        **account_json(created.account),
        "key_id": created.first_key.key.key_id,
        "api_key": created.first_key.secret,
    }


async def list_accounts(settings: KeysSettings) -> list[dict[str, Any]]:
    pool = await open_pool(settings.database_url, max_size=1)
    try:
        accounts = await KeysStore(pool).list_accounts()
    finally:
        await pool.close()
    return [account_json(account) for account in accounts]


async def set_plan(
    settings: KeysSettings,
    account_id: str,
    plan: str,
    *,
    rate_limit_per_min: int | None,
    max_codes: int | None,
    api_access: bool | None,
) -> dict[str, Any]:
    limits = plan_limits(
        plan, rate_limit_per_min=rate_limit_per_min, max_codes=max_codes, api_access=api_access
    )
    pool = await open_pool(settings.database_url, max_size=1)
    try:
        account = await KeysStore(pool).set_limits(account_id, limits)
    finally:
        await pool.close()
    if account is None:
        raise CommandError(f"no account {account_id!r}")
    return account_json(account)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.keys",
        description="QRForge keys service and its admin commands (settings from the environment).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="run the gRPC service (the default)")

    create = commands.add_parser(
        "create-account", help="create an account and print its first key (read+write) once"
    )
    create.add_argument("--name", required=True)
    create.add_argument("--plan", choices=sorted(PLANS), default=DEFAULT_PLAN)

    commands.add_parser("list-accounts", help="print every account as JSON lines")

    set_plan_cmd = commands.add_parser(
        "set-plan", help="set an account's plan; limits reset to the plan's unless overridden"
    )
    set_plan_cmd.add_argument("account_id")
    set_plan_cmd.add_argument("plan", choices=sorted(PLANS))
    set_plan_cmd.add_argument("--rate-limit", type=int, metavar="N", help="requests per minute")
    set_plan_cmd.add_argument("--max-codes", type=int, metavar="N", help="0 = unlimited")
    set_plan_cmd.add_argument("--api-access", action=argparse.BooleanOptionalAction, default=None)
    return parser


def _run_admin(args: argparse.Namespace, settings: KeysSettings) -> None:
    if args.command == "create-account":
        _print(asyncio.run(create_account(settings, args.name, args.plan)))
    elif args.command == "list-accounts":
        for account in asyncio.run(list_accounts(settings)):
            _print(account)
    elif args.command == "set-plan":
        _print(
            asyncio.run(
                set_plan(
                    settings,
                    args.account_id,
                    args.plan,
                    rate_limit_per_min=args.rate_limit,
                    max_codes=args.max_codes,
                    api_access=args.api_access,
                )
            )
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    serving = args.command in (None, "serve")
    # The admin commands work on Postgres directly, never over gRPC: no gRPC token needed.
    settings = KeysSettings.from_env(serving=serving)
    if serving:
        run_service("keys", lambda stop: serve(settings, stop), settings.log_level)
        return 0
    try:
        _run_admin(args, settings)
    except ApiError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 2
    except asyncpg.UndefinedTableError:
        print(
            "error: the keys tables do not exist; apply migrations first: "
            "python -m services.runtime.migrations",
            file=sys.stderr,
        )
        return 1
    except (CommandError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
