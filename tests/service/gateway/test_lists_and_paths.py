"""Lists (page numbers, cursors, filters) and the ids in paths: an id that cannot be one of
ours, or is another account's, is "not found", the same as one that does not exist."""

from __future__ import annotations

from tests.service.gateway.conftest import new_account
from tests.service.gateway.fakes import FakeBackends
from tests.support.api_client import ApiClient


async def make_codes(api: ApiClient, count: int) -> list[str]:
    """``count`` static codes, newest last."""
    return [
        (await api.generate({"type": "text", "content": f"code {i}"})).data()["qr_id"]
        for i in range(count)
    ]


async def test_pages_split_the_newest_first_list(api: ApiClient) -> None:
    made = await make_codes(api, 5)
    newest_first = made[::-1]
    seen: list[str] = []
    for page in (1, 2, 3):
        answer = await api.list_codes(page=str(page), limit="2")
        pagination = answer.envelope["pagination"]
        assert (pagination["total"], pagination["page"], pagination["limit"]) == (5, page, 2)
        assert pagination["pages"] == 3
        seen += [code["qr_id"] for code in answer.data()]
    assert seen == newest_first
    beyond = await api.list_codes(page="4", limit="2")
    assert beyond.data() == [] and beyond.envelope["pagination"]["next_cursor"] is None


async def test_a_cursor_walk_sees_every_code_once(api: ApiClient) -> None:
    made = await make_codes(api, 5)
    seen: list[str] = []
    params = {"limit": "2"}
    for _ in range(5):
        answer = await api.list_codes(**params)
        seen += [code["qr_id"] for code in answer.data()]
        cursor = answer.envelope["pagination"]["next_cursor"]
        if cursor is None:
            break
        params = {"limit": "2", "cursor": cursor}
    assert seen == made[::-1]


async def test_list_parameters_are_checked(api: ApiClient) -> None:
    for params, code, field in (
        ({"limit": "0"}, "INVALID_PARAMETER", "limit"),
        ({"limit": "101"}, "INVALID_PARAMETER", "limit"),
        ({"limit": "-1"}, "INVALID_PARAMETER", "limit"),
        ({"page": "0"}, "INVALID_PARAMETER", "page"),
        ({"page": "1.5"}, "INVALID_PARAMETER", "page"),
        ({"cursor": "bm90IG91cnM"}, "INVALID_PARAMETER", "cursor"),
        ({"cursor": "!!!"}, "INVALID_PARAMETER", "cursor"),
        ({"type": "hologram"}, "INVALID_TYPE", "type"),
        ({"kind": "animated"}, "INVALID_PARAMETER", "kind"),
    ):
        answer = await api.list_codes(**params)
        assert answer.status == 400, params
        assert answer.envelope["error"]["code"] == code, params
        assert answer.envelope["error"]["details"] == {"field": field}, params


async def test_filters_by_kind_and_type(api: ApiClient) -> None:
    await api.generate({"type": "url", "content": "https://example.com"})
    await api.generate({"type": "text", "content": "t"})
    dynamic = (
        await api.create_dynamic({"name": "d", "destination_url": "https://example.com/d"})
    ).data(201)
    only_dynamic = await api.list_codes(kind="dynamic")
    assert [c["qr_id"] for c in only_dynamic.data()] == [dynamic["qr_id"]]
    assert only_dynamic.data()[0]["total_scans"] is None  # lists do not ask analytics
    assert [c["type"] for c in (await api.list_codes(type="text")).data()] == ["text"]
    assert (await api.list_codes(kind="static", type="url")).envelope["pagination"]["total"] == 1


async def test_barcode_pages(api: ApiClient) -> None:
    for value in ("A-1", "A-2", "A-3"):
        await api.generate_barcode({"format": "CODE128", "value": value})
    answer = await api.request("GET", "/v1/barcodes", params={"page": "2", "limit": "2"})
    assert [b["value"] for b in answer.data()] == ["A-1"]
    assert answer.envelope["pagination"] == {
        "total": 3, "page": 2, "limit": 2, "pages": 2, "next_cursor": None,
    }  # fmt: skip


async def test_ids_that_are_not_the_callers_are_not_found(
    gateway: ApiClient, api: ApiClient, backends: FakeBackends
) -> None:
    theirs = gateway.as_account(new_account(backends))
    their_code = (await theirs.generate({"type": "text", "content": "theirs"})).data()["qr_id"]
    their_barcode = (
        await theirs.generate_barcode({"format": "CODE128", "value": "THEIRS"})
    ).data()["barcode_id"]
    for path in (
        f"/v1/qrcodes/{their_code}",
        f"/v1/qrcodes/{their_code}/download",
        "/v1/qrcodes/qr_0000000000000000",
        "/v1/qrcodes/bc_0000000000000000",
        "/v1/qrcodes/qr_%00abc",
        "/v1/qrcodes/qr_" + "a" * 65,
    ):
        answer = await api.request("GET", path)
        assert (answer.status, answer.error_code) == (404, "QR_NOT_FOUND"), path
    for path in (f"/v1/barcodes/{their_barcode}", "/v1/barcodes/qr_0000000000000000"):
        answer = await api.request("GET", path)
        assert (answer.status, answer.error_code) == (404, "BARCODE_NOT_FOUND"), path
    for method in ("DELETE", "PATCH"):
        answer = await api.request(method, f"/v1/qrcodes/{their_code}", json_body={"name": "x"})
        assert (answer.status, answer.error_code) == (404, "QR_NOT_FOUND"), method
    assert (await theirs.get_code(their_code)).status == 200  # untouched


async def test_only_dynamic_codes_change_destination(api: ApiClient) -> None:
    static = (await api.generate({"type": "url", "content": "https://example.com"})).data()
    answer = await api.set_destination(static["qr_id"], "https://example.com/other")
    assert (answer.status, answer.error_code) == (400, "NOT_DYNAMIC")
    renamed = await api.patch_code(static["qr_id"], {"name": "Renamed"})
    assert renamed.data()["name"] == "Renamed"
    dynamic = (
        await api.create_dynamic({"name": "d", "destination_url": "https://example.com/d"})
    ).data(201)
    bad = await api.set_destination(dynamic["qr_id"], "ftp://example.com")
    assert bad.status == 400 and bad.envelope["error"]["details"] == {"field": "destination_url"}
    paused = await api.patch_code(
        dynamic["qr_id"], {"active": False, "protection": {"max_scans": 5}}
    )
    assert paused.data()["active"] is False
    assert paused.data()["protection"]["max_scans"] == 5
