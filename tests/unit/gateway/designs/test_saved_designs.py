"""Merging a saved design under an inline one, and checking a design before it is saved."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from services.gateway.designs.saved_designs import check_design, merge_designs
from services.gateway.logos.fetch import LogoFetchPolicy
from services.runtime.errors import ApiError
from tests.support.hostile_logos import blank_png

SAVED: dict[str, Any] = {
    "fg_color": "#1a237e",
    "dot_style": "round",
    "logo_url": "https://x.io/l.png",
}


@pytest.mark.parametrize(
    ("override", "merged"),
    [
        ({}, SAVED),
        ({"fg_color": "#000000"}, {**SAVED, "fg_color": "#000000"}),
        ({"bg_color": "#ffffff"}, {**SAVED, "bg_color": "#ffffff"}),
        # null removes the field: the default applies again.
        ({"dot_style": None}, {"fg_color": "#1a237e", "logo_url": "https://x.io/l.png"}),
        # Either logo key replaces the saved logo, whichever key the saved one used.
        ({"logo_data": "AAAA"}, {"fg_color": "#1a237e", "dot_style": "round", "logo_data": "AAAA"}),
        ({"logo_url": None}, {"fg_color": "#1a237e", "dot_style": "round"}),
    ],
)
def test_inline_fields_win_one_by_one(override: dict[str, Any], merged: dict[str, Any]) -> None:
    assert merge_designs(SAVED, override) == merged
    assert SAVED["dot_style"] == "round"  # the saved design is not changed


def test_a_saved_logo_given_as_data_is_replaced_by_an_inline_url() -> None:
    saved = {"logo_data": "AAAA", "logo_size": 0.3}
    assert merge_designs(saved, {"logo_url": "https://x.io/new.png"}) == {
        "logo_size": 0.3,
        "logo_url": "https://x.io/new.png",
    }


def test_check_keeps_the_fields_given_normalised_and_takes_the_logo_out() -> None:
    logo = blank_png(32, 32)
    raw = {
        "fg_color": "#ABC",
        "dot_style": "rounded",
        "corner_style": None,
        "logo_data": base64.b64encode(logo).decode(),
        "logo_size": 0.25,
    }
    kept, logo_bytes = asyncio.run(check_design(raw, LogoFetchPolicy(), with_logo=True))
    assert kept == {"fg_color": "#aabbcc", "dot_style": "round", "logo_size": 0.25}
    assert logo_bytes is not None and logo_bytes.startswith(b"\x89PNG")


def test_check_refuses_what_an_inline_design_refuses() -> None:
    with pytest.raises(ApiError) as refused:
        asyncio.run(check_design({"fg_color": "blue"}, LogoFetchPolicy(), with_logo=True))
    assert (refused.value.code, refused.value.field) == ("INVALID_COLOR", "design.fg_color")
    with pytest.raises(ApiError) as unknown:
        asyncio.run(check_design({"glow": True}, LogoFetchPolicy(), with_logo=True))
    assert (unknown.value.code, unknown.value.field) == ("INVALID_PARAMETER", "design.glow")


def test_a_kept_logo_url_is_not_fetched_again() -> None:
    # with_logo=False: shape checked only (an unreachable host would fail a fetch).
    kept, logo = asyncio.run(
        check_design(
            {"logo_url": "https://unreachable.invalid/l.png"}, LogoFetchPolicy(), with_logo=False
        )
    )
    assert kept == {"logo_url": "https://unreachable.invalid/l.png"} and logo is None
