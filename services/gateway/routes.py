"""The gateway's route table: the public API of API.md, and nothing else."""

from __future__ import annotations

from aiohttp import web

from services.gateway import account_handlers, key_handlers


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/api-keys", key_handlers.list_keys)
    app.router.add_post("/v1/api-keys", key_handlers.create_key)
    app.router.add_delete("/v1/api-keys/{key_id}", key_handlers.revoke_key)
    app.router.add_get("/v1/account/usage", account_handlers.usage)
