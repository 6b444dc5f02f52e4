"""The whole system for integration tests: a throw-away database with migrations applied, a
scratch RabbitMQ vhost, and each service as its own process on free ports."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from services.runtime.grpc_auth import GRPC_AUTH_TOKEN_ENV
from services.runtime.migrations import apply_migrations
from tests.support.backing import create_database, drop_database, scratch_name, scratch_vhost
from tests.support.processes import ROOT, ServiceProcess, free_port


@dataclass(frozen=True)
class ApiAccount:
    account_id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class Stack:
    database_url: str
    amqp_url: str
    base_env: dict[str, str]
    processes: list[ServiceProcess] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)
    gateway_url: str = ""
    redirect_url: str = ""

    def __post_init__(self) -> None:
        # One random token per stack, as a deployment has one: its services accept each other.
        self.base_env.setdefault(GRPC_AUTH_TOKEN_ENV, secrets.token_urlsafe(32))

    @property
    def grpc_auth_token(self) -> str:
        return self.base_env[GRPC_AUTH_TOKEN_ENV]

    def start(self, name: str, module: str, env: dict[str, str], admin_port: int) -> ServiceProcess:
        process = ServiceProcess(
            name, module, {**self.base_env, **self.addresses, **env}, admin_port
        )
        process.start()
        self.processes.append(process)
        return process

    def start_grpc_service(
        self, name: str, module: str, port_var: str, admin_var: str, addr_var: str
    ) -> ServiceProcess:
        port, admin = free_port(), free_port()
        process = self.start(name, module, {port_var: str(port), admin_var: str(admin)}, admin)
        self.addresses[addr_var] = f"127.0.0.1:{port}"
        return process

    def start_webhooks(self, env: dict[str, str] | None = None) -> ServiceProcess:
        """The webhooks service (its gRPC address goes to gateways started after it)."""
        port, admin = free_port(), free_port()
        process = self.start(
            "webhooks",
            "services.webhooks",
            {"WEBHOOKS_PORT": str(port), "WEBHOOKS_ADMIN_PORT": str(admin), **(env or {})},
            admin,
        )
        self.addresses["WEBHOOKS_ADDR"] = f"127.0.0.1:{port}"
        return process

    def start_gateway(
        self, name: str = "gateway", env: dict[str, str] | None = None
    ) -> tuple[ServiceProcess, str]:
        port, admin = free_port(), free_port()
        url = f"http://127.0.0.1:{port}"
        process = self.start(
            name,
            "services.gateway",
            {
                "GATEWAY_PORT": str(port),
                "GATEWAY_ADMIN_PORT": str(admin),
                "PUBLIC_BASE_URL": url,
                **(env or {}),
            },
            admin,
        )
        return process, url

    def keys_cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "services.keys", *args],
            cwd=ROOT,
            env={**os.environ, **self.base_env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"keys CLI {args} failed: {result.stderr}")
        return result.stdout

    def create_account(
        self,
        name: str = "test",
        *,
        plan: str = "starter",
        rate_limit: int | None = None,
        max_codes: int | None = None,
        api_access: bool | None = None,
    ) -> ApiAccount:
        created = json.loads(self.keys_cli("create-account", "--name", name, "--plan", plan))
        account = ApiAccount(created["account_id"], created["api_key"])
        overrides: list[str] = []
        if rate_limit is not None:
            overrides += ["--rate-limit", str(rate_limit)]
        if max_codes is not None:
            overrides += ["--max-codes", str(max_codes)]
        if api_access is not None:
            overrides.append("--api-access" if api_access else "--no-api-access")
        if overrides:
            self.keys_cli("set-plan", account.account_id, plan, *overrides)
        return account

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@contextmanager
def gateway_system(prefix: str = "qrforge_bench") -> Iterator[tuple[str, ApiAccount]]:
    """render + keys + gateway on a throw-away DB and vhost, with an unlimited account; yields
    (gateway URL, account). For benchmarks that drive the gateway from outside."""
    with gateway_stack(prefix) as stack:
        yield stack.gateway_url, unlimited_account(stack, "bench")


def unlimited_account(stack: Stack, name: str) -> ApiAccount:
    return stack.create_account(name, plan="enterprise", rate_limit=10_000_000, max_codes=0)


@contextmanager
def gateway_stack(
    prefix: str = "qrforge_bench", env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """render + keys + gateway on a throw-away DB and vhost, with ``env`` added to every
    process's; yields the stack (``gateway_url`` set), for benchmarks and tests that need
    accounts of their own."""
    name = scratch_name(prefix)
    database_url = asyncio.run(create_database(name))
    try:
        asyncio.run(apply_migrations(database_url))
        with scratch_vhost(name) as amqp_url:
            base_env = {
                "DATABASE_URL": database_url,
                "AMQP_URL": amqp_url,
                "LOG_LEVEL": "WARNING",
                **(env or {}),
            }
            stack = Stack(database_url, amqp_url, base_env)
            try:
                for svc, port, admin, addr in (
                    ("render", "RENDER_PORT", "RENDER_ADMIN_PORT", "RENDER_ADDR"),
                    ("keys", "KEYS_PORT", "KEYS_ADMIN_PORT", "KEYS_ADDR"),
                ):
                    stack.start_grpc_service(svc, f"services.{svc}", port, admin, addr).wait_ready()
                gateway, stack.gateway_url = stack.start_gateway()
                gateway.wait_ready()
                yield stack
            finally:
                stack.stop_all()
    finally:
        asyncio.run(drop_database(name))
