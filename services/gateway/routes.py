"""The gateway's route table: the public API of API.md, and nothing else."""

from __future__ import annotations

from aiohttp import web

from services.gateway.account import key_routes, usage_routes
from services.gateway.barcodes import routes as barcode_routes
from services.gateway.batch import routes as batch_routes
from services.gateway.console import routes as console_routes
from services.gateway.decode import routes as decode_routes
from services.gateway.designs import routes as design_routes
from services.gateway.docs import routes as docs_routes
from services.gateway.exports import routes as export_routes
from services.gateway.imports import routes as import_routes
from services.gateway.public_images import routes as public_image_routes
from services.gateway.qrcodes import dynamic_routes
from services.gateway.qrcodes import routes as qr_routes
from services.gateway.stats import routes as stats_routes
from services.gateway.stream import routes as stream_routes
from services.gateway.tags import routes as tag_routes
from services.gateway.webhooks import routes as webhook_routes


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/api-keys", key_routes.list_keys)
    app.router.add_post("/v1/api-keys", key_routes.create_key)
    app.router.add_delete("/v1/api-keys/{key_id}", key_routes.revoke_key)
    app.router.add_get("/v1/account/usage", usage_routes.usage)
    app.router.add_post("/v1/qrcodes/generate", qr_routes.generate)
    app.router.add_get("/v1/qrcodes/generate", qr_routes.generate_embed)
    app.router.add_post("/v1/qrcodes/preview", qr_routes.preview)
    app.router.add_post("/v1/qrcodes/batch", batch_routes.create)
    app.router.add_post("/v1/qrcodes/dynamic", dynamic_routes.create)
    app.router.add_put("/v1/qrcodes/{qr_id}/destination", dynamic_routes.put_destination)
    app.router.add_patch("/v1/qrcodes/{qr_id}", dynamic_routes.patch)
    app.router.add_get("/v1/domains", dynamic_routes.list_domains)
    app.router.add_get("/v1/qrcodes", qr_routes.list_codes)
    app.router.add_get("/v1/qrcodes/export", export_routes.export_codes)
    app.router.add_get("/v1/qrcodes/{qr_id}/scans/export", export_routes.export_scans)
    app.router.add_get("/v1/qrcodes/{qr_id}", qr_routes.get_code)
    app.router.add_delete("/v1/qrcodes/{qr_id}", qr_routes.delete_code)
    app.router.add_get("/v1/qrcodes/{qr_id}/download", qr_routes.download)
    app.router.add_get("/v1/qrcodes/{qr_id}/stats", stats_routes.code_stats)
    app.router.add_get("/v1/qrcodes/{qr_id}/stats/daily", stats_routes.daily)
    app.router.add_get("/v1/qrcodes/{qr_id}/stats/devices", stats_routes.devices)
    for dimension, path in (
        ("country", "countries"),
        ("referrer", "referrers"),
        ("city", "cities"),
    ):
        app.router.add_get(
            f"/v1/qrcodes/{{qr_id}}/stats/{path}", stats_routes.breakdown_handler(dimension)
        )
    app.router.add_get("/v1/qrcodes/{qr_id}/stats/rules", stats_routes.route_stats_handler("rule"))
    app.router.add_get(
        "/v1/qrcodes/{qr_id}/stats/variants", stats_routes.route_stats_handler("variant")
    )
    app.router.add_get("/v1/stats/overview", stats_routes.overview)
    app.router.add_get("/v1/tags", tag_routes.list_tags)
    # No HEAD twin: a HEAD would hold a stream open with nothing to send.
    app.router.add_get("/v1/stream/scans", stream_routes.scan_stream, allow_head=False)
    app.router.add_post("/v1/designs", design_routes.create)
    app.router.add_get("/v1/designs", design_routes.list_designs)
    app.router.add_get("/v1/designs/{design_id}", design_routes.get_design)
    app.router.add_patch("/v1/designs/{design_id}", design_routes.patch_design)
    app.router.add_delete("/v1/designs/{design_id}", design_routes.delete_design)
    app.router.add_post("/v1/webhooks", webhook_routes.create)
    app.router.add_get("/v1/webhooks", webhook_routes.list_webhooks)
    app.router.add_get("/v1/webhooks/{webhook_id}", webhook_routes.get_webhook)
    app.router.add_patch("/v1/webhooks/{webhook_id}", webhook_routes.patch_webhook)
    app.router.add_delete("/v1/webhooks/{webhook_id}", webhook_routes.delete_webhook)
    app.router.add_post("/v1/webhooks/{webhook_id}/test", webhook_routes.send_test)
    app.router.add_get("/v1/webhooks/{webhook_id}/deliveries", webhook_routes.list_deliveries)
    app.router.add_post(
        "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", webhook_routes.retry_delivery
    )
    app.router.add_post("/v1/barcodes/generate", barcode_routes.generate)
    app.router.add_get("/v1/barcodes", barcode_routes.list_barcodes)
    app.router.add_get("/v1/barcodes/{barcode_id}", barcode_routes.get_barcode)
    app.router.add_patch("/v1/barcodes/{barcode_id}", barcode_routes.patch_barcode)
    app.router.add_delete("/v1/barcodes/{barcode_id}", barcode_routes.delete_barcode)
    app.router.add_get("/v1/barcodes/{barcode_id}/download", barcode_routes.download)
    app.router.add_post("/v1/imports", import_routes.create)
    app.router.add_get("/v1/imports/{import_id}", import_routes.get_import)
    app.router.add_get("/v1/imports/{import_id}/errors", import_routes.errors_csv)
    app.router.add_post("/v1/decode", decode_routes.decode)
    app.router.add_get(r"/i/{qr_id:[A-Za-z0-9_]+}.{ext:[a-z]+}", public_image_routes.public_image)
    app.router.add_get("/openapi.json", docs_routes.openapi_spec)
    app.router.add_get("/docs", docs_routes.docs_page)
    app.router.add_get("/docs/assets/{name}", docs_routes.docs_asset)
    app.router.add_get("/console", console_routes.console_page)
    app.router.add_get("/console/", console_routes.console_page)
    app.router.add_get("/console/assets/{name}", console_routes.console_asset)
