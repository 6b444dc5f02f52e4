"""``/i/<id>.<ext>``: the public image URL of a stored QR code or barcode.

No key: the unguessable id is the capability, and the answer is CDN-cacheable. Deleted codes
answer 404. Each client address may fetch only so many images a minute, and images are kept in
the gateway's image cache by ETag, so an image fetched again and again (a code embedded in a
mailing, no CDN in front) is drawn once.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from services.gateway.backends.render import CONTENT_TYPES
from services.gateway.barcodes import storage as barcode_storage
from services.gateway.barcodes.images import barcode_image
from services.gateway.barcodes.values import OUTPUTS
from services.gateway.context import context_of
from services.gateway.http.middlewares import public
from services.gateway.http.path_params import is_well_formed_id
from services.gateway.public_images.limit import count_public_image_request
from services.gateway.qrcodes import storage as qr_storage
from services.gateway.qrcodes.images import qr_image
from services.runtime.errors import ApiError

PUBLIC_IMAGE_CACHE: Final = {"Cache-Control": "public, max-age=86400"}
BARCODE_OUTPUTS: Final = OUTPUTS


@public
async def public_image(request: web.Request) -> web.Response:
    await count_public_image_request(request)
    ctx = context_of(request)
    ext, image_id = request.match_info["ext"], request.match_info["qr_id"]  # a qr_ or bc_ id
    if is_well_formed_id(image_id, "bc"):
        barcode = await barcode_storage.get_barcode(ctx.pool, None, image_id)
        if barcode is None or ext not in BARCODE_OUTPUTS:
            raise ApiError("BARCODE_NOT_FOUND", "No such image")
        return await barcode_image(request, barcode, ext, PUBLIC_IMAGE_CACHE, ctx.image_cache)
    record = (
        await qr_storage.get_public_qr(ctx.pool, image_id)
        if is_well_formed_id(image_id, "qr")
        else None
    )
    if record is None or ext not in CONTENT_TYPES:
        raise ApiError("QR_NOT_FOUND", "No such image")
    return await qr_image(request, record, ext, None, PUBLIC_IMAGE_CACHE, ctx.image_cache)
