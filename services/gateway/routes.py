"""The gateway's route table: the public API of API.md, and nothing else."""

from __future__ import annotations

from aiohttp import web

from services.gateway import (
    account_handlers,
    barcode_handlers,
    batch_handlers,
    docs_handlers,
    dynamic_handlers,
    key_handlers,
    public_images,
    qr_handlers,
    stats_handlers,
)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/api-keys", key_handlers.list_keys)
    app.router.add_post("/v1/api-keys", key_handlers.create_key)
    app.router.add_delete("/v1/api-keys/{key_id}", key_handlers.revoke_key)
    app.router.add_get("/v1/account/usage", account_handlers.usage)
    app.router.add_post("/v1/qrcodes/generate", qr_handlers.generate)
    app.router.add_get("/v1/qrcodes/generate", qr_handlers.generate_embed)
    app.router.add_post("/v1/qrcodes/batch", batch_handlers.create)
    app.router.add_post("/v1/qrcodes/dynamic", dynamic_handlers.create)
    app.router.add_put("/v1/qrcodes/{qr_id}/destination", dynamic_handlers.put_destination)
    app.router.add_patch("/v1/qrcodes/{qr_id}", dynamic_handlers.patch)
    app.router.add_get("/v1/qrcodes", qr_handlers.list_codes)
    app.router.add_get("/v1/qrcodes/{qr_id}", qr_handlers.get_code)
    app.router.add_delete("/v1/qrcodes/{qr_id}", qr_handlers.delete_code)
    app.router.add_get("/v1/qrcodes/{qr_id}/download", qr_handlers.download)
    app.router.add_get("/v1/qrcodes/{qr_id}/stats", stats_handlers.code_stats)
    app.router.add_get("/v1/qrcodes/{qr_id}/stats/daily", stats_handlers.daily)
    app.router.add_get("/v1/qrcodes/{qr_id}/stats/devices", stats_handlers.devices)
    for dimension, path in (
        ("country", "countries"),
        ("referrer", "referrers"),
        ("city", "cities"),
    ):
        app.router.add_get(
            f"/v1/qrcodes/{{qr_id}}/stats/{path}", stats_handlers.breakdown_handler(dimension)
        )
    app.router.add_get("/v1/stats/overview", stats_handlers.overview)
    app.router.add_post("/v1/barcodes/generate", barcode_handlers.generate)
    app.router.add_get("/v1/barcodes", barcode_handlers.list_barcodes)
    app.router.add_get("/v1/barcodes/{barcode_id}", barcode_handlers.get_barcode)
    app.router.add_delete("/v1/barcodes/{barcode_id}", barcode_handlers.delete_barcode)
    app.router.add_get("/v1/barcodes/{barcode_id}/download", barcode_handlers.download)
    app.router.add_get(r"/i/{qr_id:[A-Za-z0-9_]+}.{ext:[a-z]+}", public_images.public_image)
    app.router.add_get("/openapi.json", docs_handlers.openapi_spec)
    app.router.add_get("/docs", docs_handlers.docs_page)
    app.router.add_get("/docs/assets/{name}", docs_handlers.docs_asset)
