"""Helpers for driving the analytics service as a real subprocess (``python -m services.analytics``) on a fresh
embedded-ClickHouse directory and a scratch RabbitMQ vhost, fed the way the redirect service
feeds it (persistent ``{"v": 1, "events": [...]}`` messages on the ``scans`` exchange) and
queried over real gRPC.

The pytest process itself never opens a chdb path: the service is the one process owning it.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustConnection

from qrforge.v1 import analytics_pb2, analytics_pb2_grpc
from services.runtime.grpc_auth import GRPC_AUTH_TOKEN_ENV
from services.runtime.grpc_client import open_channel
from services.runtime.scan_events import ScanEvent
from services.runtime.topics import SCAN_RECORDED, SCANS_EXCHANGE
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess, free_port

VISITOR_SALT = "service-test-visitor-salt"
GRPC_AUTH_TOKEN = secrets.token_urlsafe(32)


def make_event(
    account_id: str,
    qr_id: str,
    ts: datetime,
    *,
    ip: str = "8.8.8.8",
    user_agent: str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    referer: str = "",
    event_id: str | None = None,
) -> ScanEvent:
    return ScanEvent(
        event_id=event_id or uuid.uuid4().hex,
        qr_id=qr_id,
        account_id=account_id,
        ts=ts.astimezone(UTC).replace(microsecond=ts.microsecond // 1000 * 1000),
        ip=ip,
        user_agent=user_agent,
        referer=referer,
        accept_language="fr-FR,fr;q=0.9",
    )


def new_account() -> str:
    return f"acc_{uuid.uuid4().hex[:12]}"


@dataclass
class Analytics:
    """One analytics process and what a test needs around it."""

    name: str
    amqp_url: str
    vhost: str
    data_dir: Path
    # Set: the service runs with a store that refuses inserts while this file exists.
    fault_file: Path | None = None
    port: int = field(default_factory=free_port)
    admin_port: int = field(default_factory=free_port)
    process: ServiceProcess | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.launch()
        assert self.process is not None
        self.process.wait_ready(timeout_s=30)

    def launch(self) -> None:
        """Start the process without waiting for it to be ready."""
        env = {
            "ANALYTICS_PORT": str(self.port),
            "ANALYTICS_ADMIN_PORT": str(self.admin_port),
            "AMQP_URL": self.amqp_url,
            "CLICKHOUSE_URL": f"chdb://{self.data_dir}",
            "VISITOR_SALT": VISITOR_SALT,
            GRPC_AUTH_TOKEN_ENV: GRPC_AUTH_TOKEN,
            # Fixed past dates in the tests: keep them whatever day the suite runs.
            "SCAN_RETENTION_DAYS": "0",
            "ANALYTICS_BATCH_MAX_WAIT_S": "0.1",
            "ANALYTICS_INSERT_RETRY_MAX_S": "0.5",
            "ANALYTICS_LAG_POLL_S": "0.5",
            "SHUTDOWN_GRACE_S": "5",
            "LOG_LEVEL": "INFO",
            **self.extra_env,
        }
        if self.fault_file is None:
            self.process = ServiceProcess(self.name, "services.analytics", env, self.admin_port)
        else:
            self.process = ServiceProcess(
                self.name,
                "tests.service.analytics.fault_injecting_service",
                env,
                self.admin_port,
                args=(str(self.fault_file),),
            )
        self.process.start()

    def stop(self) -> int | None:
        code = self.process.stop() if self.process is not None else None
        self.process = None
        return code

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.stop()
            self.process = None

    def metric(self, name: str) -> float:
        """Sum of a metric's samples on /metrics (0 when absent)."""
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.admin_port}/metrics", timeout=2
        ) as resp:
            text = resp.read().decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and (line[len(name)] in " {"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def queue_counts(self) -> dict[str, tuple[int, int]]:
        """``{queue: (ready, unacknowledged)}`` as the broker sees them."""
        out = subprocess.run(
            [
                "rabbitmqctl",
                "-q",
                "list_queues",
                "-p",
                self.vhost,
                "name",
                "messages_ready",
                "messages_unacknowledged",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        counts: dict[str, tuple[int, int]] = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit():
                counts[parts[0]] = (int(parts[1]), int(parts[2]))
        return counts


class Publisher:
    """Publishes like the redirect service: persistent, confirmed, several events per message."""

    def __init__(self, connection: AbstractRobustConnection, exchange: AbstractExchange) -> None:
        self.connection = connection
        self.exchange = exchange

    @classmethod
    async def open(cls, amqp_url: str) -> Publisher:
        connection = await aio_pika.connect_robust(amqp_url)
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            SCANS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        return cls(connection, exchange)

    async def publish_raw(self, body: bytes) -> None:
        message = aio_pika.Message(
            body, content_type="application/json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT
        )
        await self.exchange.publish(message, routing_key=SCAN_RECORDED)

    async def publish(self, events: Sequence[ScanEvent], per_message: int = 10) -> None:
        for start in range(0, len(events), per_message):
            chunk = [event.to_json() for event in events[start : start + per_message]]
            await self.publish_raw(json.dumps({"v": 1, "events": chunk}).encode())

    async def queue_depth(self, queue: str) -> int:
        channel = await self.connection.channel()
        try:
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)
        finally:
            await channel.close()

    async def close(self) -> None:
        await self.connection.close()


class Client:
    def __init__(self, address: str) -> None:
        self.channel = open_channel(address, auth_token=GRPC_AUTH_TOKEN)
        self.stub = analytics_pb2_grpc.AnalyticsServiceStub(self.channel)

    async def code_stats(
        self, account_id: str, qr_id: str = "", **query: Any
    ) -> analytics_pb2.CodeStats:
        request = analytics_pb2.StatsQuery(account_id=account_id, qr_id=qr_id, **query)
        return await self.stub.GetCodeStats(request, timeout=10)

    async def series(
        self, account_id: str, granularity: str, **query: Any
    ) -> list[tuple[str, int, int]]:
        request = analytics_pb2.TimeSeriesQuery(
            query=analytics_pb2.StatsQuery(account_id=account_id, **query), granularity=granularity
        )
        response = await self.stub.GetTimeSeries(request, timeout=10)
        return [(p.period, p.scans, p.unique_scans) for p in response.series]

    async def breakdown(
        self, account_id: str, dimension: str, **query: Any
    ) -> list[tuple[str, int, int, float]]:
        request = analytics_pb2.BreakdownQuery(
            query=analytics_pb2.StatsQuery(account_id=account_id, **query),
            dimension=dimension,
            limit=50,
        )
        response = await self.stub.GetBreakdown(request, timeout=10)
        return [(r.key, r.scans, r.unique_scans, r.share) for r in response.rows]

    async def overview(self, account_id: str, **query: Any) -> analytics_pb2.AccountOverview:
        request = analytics_pb2.OverviewQuery(
            query=analytics_pb2.StatsQuery(account_id=account_id, **query), top=10
        )
        return await self.stub.GetAccountOverview(request, timeout=10)

    async def close(self) -> None:
        await self.channel.close()


async def wait_total(
    client: Client, account_id: str, expected: int, timeout_s: float = 20.0, **query: Any
) -> None:
    async def reached() -> bool:
        return (await client.code_stats(account_id, **query)).total_scans >= expected

    await eventually(reached, timeout_s, f"{expected} scans of {account_id}")
