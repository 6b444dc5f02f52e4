"""GS1 element strings (services/gateway/barcodes/gs1.py): what is accepted, how it is
normalised, and exactly which AI an error names."""

from __future__ import annotations

import pytest

from services.gateway.barcodes.gs1 import AI_TABLE, parse_element_string
from services.render.barcode_images import render_barcode
from services.render.specs import BarcodeSpec
from services.runtime.errors import ApiError

GS = "\x1d"

# (input, human form stored, element string a scanner transmits)
VALID = [
    ("(01)09506000134352", "(01)09506000134352", "0109506000134352"),
    (
        "(01)09506000134352(17)261231(10)LOT42",
        "(01)09506000134352(17)261231(10)LOT42",
        "01095060001343521726123110LOT42",
    ),
    (
        "(01)09506000134352(10)LOT42(17)261231",
        "(01)09506000134352(10)LOT42(17)261231",
        f"010950600013435210LOT42{GS}17261231",
    ),
    ("(00)106141411234567897", "(00)106141411234567897", "00106141411234567897"),
    (
        "(02)09506000134352(37)24(400)PO-1/2",
        "(02)09506000134352(37)24(400)PO-1/2",
        f"020950600013435237{'24'}{GS}400PO-1/2",
    ),
    # Day 00 ("end of the month") is allowed in the dates that allow it.
    ("(11)260100", "(11)260100", "11260100"),
    ("(12)260200", "(12)260200", "12260200"),
    ("(13)261000", "(13)261000", "13261000"),
    ("(15)261200", "(15)261200", "15261200"),
    ("(17)280229", "(17)280229", "17280229"),  # 2028 is a leap year
    ("(20)07", "(20)07", "2007"),
    ("(21)A!\"%&'*+,-./:;<=>?_z", "(21)A!\"%&'*+,-./:;<=>?_z", "21A!\"%&'*+,-./:;<=>?_z"),
    ("(30)12345678", "(30)12345678", "3012345678"),
    ("(3102)001250", "(3102)001250", "3102001250"),
    ("(3205)000001", "(3205)000001", "3205000001"),
    ("(3165)123456", "(3165)123456", "3165123456"),
    ("(3900)123456789012345", "(3900)123456789012345", "3900123456789012345"),
    ("(3912)97812345", "(3912)97812345", "391297812345"),
    ("(3929)5", "(3929)5", "39295"),
    ("(3932)978123", "(3932)978123", "3932978123"),
    ("(410)9501101020917", "(410)9501101020917", "4109501101020917"),
    (
        "(415)9501101020917(8020)REF-12",
        "(415)9501101020917(8020)REF-12",
        "41595011010209178020REF-12",
    ),
    ("(420)75001", "(420)75001", "42075001"),
    ("(421)250F-75001", "(421)250F-75001", "421250F-75001"),
    ("(8003)09506000134352S1", "(8003)09506000134352S1", "800309506000134352S1"),
    ("(8004)9506000ASSET7", "(8004)9506000ASSET7", "80049506000ASSET7"),
    # Raw form, as scanned: parsed at the AIs, a group separator ending variable fields.
    (
        f"010950600013435210LOT42{GS}17261231",
        "(01)09506000134352(10)LOT42(17)261231",
        f"010950600013435210LOT42{GS}17261231",
    ),
    (
        "01095060001343521726123110LOT42",
        "(01)09506000134352(17)261231(10)LOT42",
        "01095060001343521726123110LOT42",
    ),
    ("  (01)09506000134352  ", "(01)09506000134352", "0109506000134352"),
]

# (input, ai named in details; None when the string cannot be read as far as an AI)
INVALID: list[tuple[str, str | None]] = [
    ("", None),
    ("   ", None),
    ("01", "01"),  # raw form: GTIN without its 14 digits
    ("(01)0950600013435", "01"),  # 13 digits: wrong length
    ("(01)095060001343521", "01"),  # 15
    ("(01)09506000134353", "01"),  # check digit
    ("(01)0950600013435A", "01"),
    ("(00)106141411234567898", "00"),
    ("(02)09506000134353", "02"),
    ("(414)9501101020918", "414"),  # GLN check digit
    ("(410)950110102091", "410"),  # GLN length
    ("(8003)19506000134352", "8003"),  # GRAI must start with 0
    ("(8003)09506000134353", "8003"),  # GRAI check digit
    ("(99)ABC", "99"),  # unknown AI
    ("(3106)001250", "3106"),  # decimals 0-5 only
    ("(3206)001250", "3206"),
    ("(7003)2612311200", "7003"),  # not in the table
    ("(17)261301", "17"),  # month 13
    ("(17)261232", "17"),
    ("(17)260230", "17"),  # no 30 February
    ("(17)270229", "17"),  # 2027 is not a leap year
    ("(17)270000", "17"),  # month 00
    ("(11)26010", "11"),
    ("(17)2612AB", "17"),
    ("(10)", "10"),
    ("(10)LOT 42", "10"),  # space is not in character set 82
    ("(10)LOT#42", "10"),
    ("(10)LOTé", "10"),
    ("(10)ABCDEFGHIJKLMNOPQRSTU", "10"),  # 21 > 20
    ("(21)A(B)", "21"),  # brackets in data cannot be told from an AI
    ("(20)7", "20"),
    ("(30)123456789", "30"),
    ("(37)12A", "37"),
    ("(400)" + "A" * 31, "400"),
    ("(421)25", "421"),
    ("(421)A50F75001", "421"),  # country code digits
    ("(3912)97", "3912"),
    ("(8020)" + "R" * 26, "8020"),
    ("(01)09506000134352(01)09506000134352", "01"),  # twice
    ("(01)09506000134352(02)09506000134352", "02"),  # 01 and 02 exclude each other
    ("(01)09506000134352 (10)A", "01"),  # a space is data, and not GS1 data
    ("01)09506000134352", "01"),  # raw form read: "01" then ")095…" is not 14 digits
    ("(1)234", None),
    ("(01", None),
    # Raw form without the separator a variable-length field needs before the next element:
    # the lot runs into the expiry and past its 20 characters.
    ("010950600013435210LOT42ABCDEFGH17261231", "10"),
    ("010950600013435210LOT421726123121SERIAL0123456789", "10"),
    ("010950600013435295ABC", "95"),
]


@pytest.mark.parametrize(("text", "human", "transmitted"), VALID)
def test_valid_element_strings(text: str, human: str, transmitted: str) -> None:
    parsed = parse_element_string(text)
    assert parsed.human == human
    assert parsed.encoded == transmitted


@pytest.mark.parametrize(("text", "ai"), INVALID)
def test_invalid_element_strings_name_the_ai(text: str, ai: str | None) -> None:
    with pytest.raises(ApiError) as info:
        parse_element_string(text)
    error = info.value
    assert error.code == "INVALID_GS1"
    assert error.details is not None
    assert error.details["field"] == "value"
    assert error.details.get("ai") == ai, error.message


def test_a_wrong_check_digit_is_never_fixed_and_says_the_expected_one() -> None:
    with pytest.raises(ApiError) as info:
        parse_element_string("(01)09506000134353")
    assert info.value.details == {"field": "value", "ai": "01", "expected_check_digit": "2"}


def test_gs1_128_carries_48_characters_at_most() -> None:
    fits = "(01)09506000134352(10)ABCDEFGHIJKLMNOPQRST(17)261231"  # 16 + 22 + 8 = 46
    assert parse_element_string(fits, max_chars=48).human == fits
    with pytest.raises(ApiError) as info:
        parse_element_string(fits + "(20)01", max_chars=48)
    assert info.value.details == {"field": "value", "ai": "20"}


def test_the_table_holds_the_common_ais() -> None:
    wanted = {"00", "01", "02", "10", "11", "12", "13", "15", "17", "20", "21", "30", "37"}
    wanted |= {f"{p}{n}" for p in range(310, 317) for n in range(6)}
    wanted |= {f"320{n}" for n in range(6)}
    wanted |= {f"{p}{n}" for p in range(390, 394) for n in range(10)}
    wanted |= {"400", "410", "411", "412", "413", "414", "415", "420", "421"}
    wanted |= {"8003", "8004", "8020"}
    assert wanted <= set(AI_TABLE)


@pytest.mark.parametrize("fmt", ["GS1_128", "GS1_DATAMATRIX", "GS1_QR"])
def test_what_the_gateway_accepts_the_renderer_draws(fmt: str) -> None:
    # libzint checks GS1 data against its own AI table: it must agree with ours.
    for _, human, _ in VALID:
        if fmt == "GS1_128" and len(parse_element_string(human).encoded) > 48:
            continue
        render_barcode(BarcodeSpec(fmt, human, width=1200, height=600))
