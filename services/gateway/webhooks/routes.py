"""``/v1/webhooks…``: create, list, read, patch, delete endpoints; send a test event; the
delivery log and a manual retry. Parse, ask the webhooks service, shape."""

from __future__ import annotations

from aiohttp import web

from services.gateway.backends import webhooks as backend
from services.gateway.context import context_of, principal_of
from services.gateway.http.envelope import ok
from services.gateway.http.json_body import read_json_object
from services.gateway.http.pagination import page_params, pagination_json
from services.gateway.http.path_params import path_id
from services.gateway.webhooks.requests import parse_new_webhook, parse_webhook_patch
from services.gateway.webhooks.responses import delivery_json, webhook_json


def _webhook_id(request: web.Request) -> str:
    return path_id(request, "webhook_id", "wh")


async def create(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    new = parse_new_webhook(await read_json_object(request))
    created = await backend.create_webhook(ctx.webhooks_backend, principal.account_id, new)
    return ok(webhook_json(created.webhook, created.secret), status=201)


async def list_webhooks(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    page, limit = page_params(request)
    listed = await backend.list_webhooks(
        ctx.webhooks_backend, principal.account_id, limit, (page - 1) * limit
    )
    return ok(
        [webhook_json(webhook) for webhook in listed.webhooks],
        pagination=pagination_json(listed.total, page, limit),
    )


async def get_webhook(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    webhook = await backend.get_webhook(
        ctx.webhooks_backend, principal.account_id, _webhook_id(request)
    )
    return ok(webhook_json(webhook))


async def patch_webhook(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    patch = parse_webhook_patch(await read_json_object(request))
    webhook = await backend.update_webhook(
        ctx.webhooks_backend, principal.account_id, _webhook_id(request), patch
    )
    return ok(webhook_json(webhook))


async def delete_webhook(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    webhook_id = _webhook_id(request)
    await backend.delete_webhook(ctx.webhooks_backend, principal.account_id, webhook_id)
    return ok({"webhook_id": webhook_id, "deleted": True})


async def send_test(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    delivery = await backend.send_test_event(
        ctx.webhooks_backend, principal.account_id, _webhook_id(request)
    )
    return ok(delivery_json(delivery), status=202)


async def list_deliveries(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    page, limit = page_params(request)
    listed = await backend.list_deliveries(
        ctx.webhooks_backend, principal.account_id, _webhook_id(request), limit, (page - 1) * limit
    )
    return ok(
        [delivery_json(delivery) for delivery in listed.deliveries],
        pagination=pagination_json(listed.total, page, limit),
    )


async def retry_delivery(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    webhook_id = _webhook_id(request)
    delivery_id = path_id(request, "delivery_id", "msg")
    delivery = await backend.retry_delivery(
        ctx.webhooks_backend, principal.account_id, webhook_id, delivery_id
    )
    return ok(delivery_json(delivery), status=202)
