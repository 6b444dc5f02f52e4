"""Throw-away resources on the real backing servers: one Postgres database and one RabbitMQ
vhost per test run, so runs never see each other's rows or messages."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg

from services.runtime.migrations import apply_migrations, discover

ADMIN_DSN = os.environ.get(
    "TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
AMQP_HOST = os.environ.get("TEST_AMQP_HOST", "127.0.0.1:5672")


def scratch_name(prefix: str = "qrforge_test") -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


def dsn_for(database: str) -> str:
    base, _, _ = ADMIN_DSN.rpartition("/")
    return f"{base}/{database}"


async def create_database(name: str) -> str:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return dsn_for(name)


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def scratch_database(prefix: str, migrations_of: str | None = None) -> AsyncIterator[str]:
    """A fresh database named after ``prefix``, with the migrations of the service
    ``migrations_of`` applied (only that service's: other services' folders may hold work in
    progress); yields its URL and drops it afterwards, connections and all."""
    name = scratch_name(prefix)
    dsn = await create_database(name)
    try:
        if migrations_of is not None:
            await apply_migrations(dsn, [m for m in discover() if m.service == migrations_of])
        yield dsn
    finally:
        await drop_database(name)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=30)


@contextmanager
def scratch_vhost(name: str) -> Iterator[str]:
    """A fresh vhost for ``guest``; yields its AMQP URL and deletes it afterwards."""
    _rabbitmqctl("add_vhost", name)
    try:
        _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{AMQP_HOST}/{name}"
    finally:
        _rabbitmqctl("delete_vhost", name)
