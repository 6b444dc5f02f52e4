"""Search of codes by name (``GET /v1/qrcodes?q=``) and the account's tags (``GET /v1/tags``)
through the real gateway on real Postgres: what one account sees, never another's; the search
combines with the kind, type and tag filters and with both kinds of pagination; hostile input
gets a clear 400."""

from __future__ import annotations

from typing import Any

from tests.support.api_client import ApiClient
from tests.support.stack import Stack

# (name, kind, tags): the account searched.
CODES: tuple[tuple[str, str, list[str]], ...] = (
    ("Spring Flyer A", "dynamic", ["spring"]),
    ("spring flyer B", "static", ["spring"]),
    ("SPRING poster", "dynamic", ["summer"]),
    ("Autumn flyer", "dynamic", []),
    ("50% off", "static", []),
    ("50 pieces", "static", []),
    ("under_score", "static", []),
    ("underXscore", "static", []),
    ("Café Noël", "static", []),
)


async def _create(owner: ApiClient, name: str, kind: str, tags: list[str]) -> dict[str, Any]:
    if kind == "dynamic":
        body = {"name": name, "destination_url": "https://example.com/d", "tags": tags}
        created: dict[str, Any] = (await owner.create_dynamic(body)).data(201)
    else:
        body = {"type": "text", "content": name, "name": name, "tags": tags}
        created = (await owner.generate(body)).data()
    return created


async def _names(owner: ApiClient, **params: str) -> list[str]:
    return [code["name"] for code in (await owner.list_codes(**params)).data()]


async def test_q_finds_names_case_insensitively_with_the_other_filters_and_pages(
    stack: Stack, api: ApiClient
) -> None:
    owner = api.as_account(stack.create_account("name-search"))
    other = api.as_account(stack.create_account("name-search-other"))
    for name, kind, tags in CODES:
        await _create(owner, name, kind, tags)
    await _create(other, "Spring Flyer of another account", "dynamic", ["spring"])
    deleted = await _create(owner, "Deleted flyer", "dynamic", [])
    assert (await owner.delete_code(deleted["qr_id"])).status == 200

    # Newest first, like the unfiltered list; case and accents fold; other accounts' and
    # deleted codes never match.
    assert await _names(owner, q="flyer") == ["Autumn flyer", "spring flyer B", "Spring Flyer A"]
    assert await _names(owner, q="FLYER") == await _names(owner, q="flyer")
    assert await _names(owner, q="CAFÉ noël") == ["Café Noël"]
    assert await _names(owner, q="no such name") == []

    # Combined with the filters.
    assert await _names(owner, q="spring", kind="dynamic") == ["SPRING poster", "Spring Flyer A"]
    assert await _names(owner, q="spring", tag="spring") == ["spring flyer B", "Spring Flyer A"]
    assert await _names(owner, q="spring", tag="summer", kind="dynamic") == ["SPRING poster"]
    assert await _names(owner, q="50", type="text") == ["50 pieces", "50% off"]

    # The needle is taken literally: % and _ are not wildcards.
    assert await _names(owner, q="50%") == ["50% off"]
    assert await _names(owner, q="_") == ["under_score"]
    assert await _names(owner, q="%") == ["50% off"]

    # Pages: the total is of the matches; page numbers and the cursor both walk them.
    first = await owner.list_codes(q="flyer", limit="2")
    assert [c["name"] for c in first.data()] == ["Autumn flyer", "spring flyer B"]
    pagination = first.envelope["pagination"]
    assert (pagination["total"], pagination["pages"]) == (3, 2)
    assert await _names(owner, q="flyer", limit="2", page="2") == ["Spring Flyer A"]
    assert await _names(owner, q="flyer", limit="2", cursor=pagination["next_cursor"]) == [
        "Spring Flyer A"
    ]

    # An empty q is no filter; a q longer than any name can be is refused, clearly.
    everything = (await owner.list_codes(q="", limit="100")).envelope["pagination"]["total"]
    assert everything == len(CODES)
    assert await _names(owner, q="x" * 200) == []
    too_long = await owner.list_codes(q="x" * 201)
    assert (too_long.status, too_long.error_code) == (400, "INVALID_PARAMETER")
    assert too_long.envelope["error"]["details"]["field"] == "q"
    assert "200 characters" in too_long.envelope["error"]["message"]
    nul = await owner.list_codes(q="a\x00b")
    assert (nul.status, nul.error_code) == (400, "INVALID_PARAMETER")


async def test_tags_lists_each_tag_of_the_account_once_with_its_counts(
    stack: Stack, api: ApiClient
) -> None:
    owner = api.as_account(stack.create_account("tag-list"))
    other = api.as_account(stack.create_account("tag-list-other"))
    assert (await owner.request("GET", "/v1/tags")).data() == []
    await _create(owner, "one", "dynamic", ["flyers", "Sale"])
    await _create(owner, "two", "static", ["flyers", "sale"])
    await _create(owner, "three", "static", ["zebra"])
    gone = await _create(owner, "gone", "dynamic", ["flyers", "only-on-a-deleted-code"])
    assert (await owner.delete_code(gone["qr_id"])).status == 200
    barcode = {"format": "EAN13", "value": "400638133393", "tags": ["flyers", "shelf"]}
    assert (await owner.generate_barcode(barcode)).status == 200
    await _create(other, "theirs", "static", ["flyers", "secret-tag"])

    listed = await owner.request("GET", "/v1/tags")
    # By name, case-insensitively, "Sale" before "sale": two tags, as the filter treats them.
    assert listed.data() == [
        {"tag": "flyers", "qr_codes": 2, "barcodes": 1},
        {"tag": "Sale", "qr_codes": 1, "barcodes": 0},
        {"tag": "sale", "qr_codes": 1, "barcodes": 0},
        {"tag": "shelf", "qr_codes": 0, "barcodes": 1},
        {"tag": "zebra", "qr_codes": 1, "barcodes": 0},
    ]
    assert listed.envelope["pagination"]["total"] == 5
    # Each count is what the tag filter lists.
    assert len((await owner.list_codes(tag="flyers")).data()) == 2

    second = await owner.request("GET", "/v1/tags", params={"limit": "2", "page": "2"})
    assert [t["tag"] for t in second.data()] == ["sale", "shelf"]
    assert second.envelope["pagination"] == {
        "total": 5, "page": 2, "limit": 2, "pages": 3, "next_cursor": None,
    }  # fmt: skip
    past = await owner.request("GET", "/v1/tags", params={"page": "9"})
    assert past.data() == [] and past.envelope["pagination"]["total"] == 5
    bad = await owner.request("GET", "/v1/tags", params={"limit": "0"})
    assert (bad.status, bad.error_code) == (400, "INVALID_PARAMETER")
    assert (await api.as_key(None).request("GET", "/v1/tags")).status == 401
