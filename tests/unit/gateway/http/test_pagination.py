"""Page numbers of the list routes and the ``pagination`` object they answer with."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from services.gateway.http.pagination import page_params, pagination_json
from services.runtime.errors import ApiError


def test_defaults_and_bounds() -> None:
    assert page_params(make_mocked_request("GET", "/v1/barcodes")) == (1, 20)
    assert page_params(make_mocked_request("GET", "/v1/barcodes?page=3&limit=100")) == (3, 100)
    with pytest.raises(ApiError) as refused:
        page_params(make_mocked_request("GET", "/v1/barcodes?limit=101"))
    assert refused.value.field == "limit"


def test_pages_round_up() -> None:
    assert pagination_json(41, 2, 20) == {
        "total": 41,
        "page": 2,
        "limit": 20,
        "pages": 3,
        "next_cursor": None,
    }
    assert pagination_json(0, 1, 20, "abc")["pages"] == 0
