"""GS1 element strings: parse, validate against the Application Identifier table, normalise.

Pure (no I/O). A GS1 symbol (GS1-128, GS1 DataMatrix, GS1 QR Code) carries AIs and their data
fields; a warehouse scanner rejects a label whose fields break the GS1 General Specifications
(section 3, the AI definitions), so every field is checked here before anything is drawn:

* the AI is one this table knows (an unknown AI is refused, not passed through);
* its data has the AI's fixed length, or at most its maximum length;
* numeric fields are digits, the others GS1 character set 82 (the printable ASCII subset
  GS1 allows: no space, no ``#``, ``$``, ``@``, ``[``, ``\\``, ``]``, ``^``, `````, ``{``,
  ``|``, ``}``, ``~``);
* GTIN, SSCC and GLN check digits are verified and never corrected: a mistyped key must not
  become another valid one;
* ``YYMMDD`` dates are real dates; day ``00`` ("end of month") only where GS1 allows it.

Two input forms are read. The human form, ``(01)09506000134352(17)261231(10)LOT42``, is the one
the API documents and the one stored. The raw form (no brackets: AIs run into each other, a
variable-length field ends at a group separator ``\\x1d``) is what a scanner returns; it is
accepted so that scanned data can be re-printed, and it is where a missing separator shows up
(a variable-length field then swallows what follows and exceeds its maximum length).

Errors are ``INVALID_GS1`` with ``details: {field: "value", ai}`` (no ``ai`` when the string
cannot be read as far as an AI).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from services.runtime.errors import ApiError

GROUP_SEPARATOR: Final = "\x1d"
CSET_82: Final = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
# GS1 General Specifications 5.10.1, Figure 5.10.1-2: element strings starting with these two
# digits have a predefined length and never need a separator after them; every other element
# string ends with FNC1 (a group separator) unless it is the last one.
PREDEFINED_PREFIXES: Final = frozenset(
    ["00", "01", "02", "03", "04", *(str(n) for n in range(11, 21)), "23",
     *(str(n) for n in range(31, 37)), "41"]
)  # fmt: skip
# GS1-128 carries at most 48 data characters (AIs included, FNC1 excluded): GS1 GenSpecs 5.4.1.
GS1_128_MAX_CHARS: Final = 48
# Longest element string accepted for the 2D carriers (far below their capacity).
MAX_ELEMENT_STRING: Final = 400
MAX_INPUT: Final = 600


@dataclass(frozen=True, slots=True)
class AiRule:
    """One Application Identifier's data field (GS1 GenSpecs 3.2)."""

    title: str
    min_length: int
    max_length: int
    numeric: bool = True
    check: str = ""  # "" | "mod10": the last digit is a GS1 check digit
    date: str = ""  # "" | "yymmdd" | "yymmd0" (day 00 allowed)
    # Leading digits that are numeric even in an alphanumeric field (421's ISO country code,
    # 8003's GRAI), and the check digit position among them.
    numeric_prefix: int = 0

    @property
    def fixed(self) -> bool:
        return self.min_length == self.max_length


def _table() -> dict[str, AiRule]:
    table: dict[str, AiRule] = {
        "00": AiRule("SSCC", 18, 18, check="mod10"),
        "01": AiRule("GTIN", 14, 14, check="mod10"),
        "02": AiRule("CONTENT", 14, 14, check="mod10"),
        "10": AiRule("BATCH/LOT", 1, 20, numeric=False),
        # GenSpecs 3.4: production, due, packaging, best before, sell by and expiration dates
        # may give day 00 when only year and month are known ("yymmd0").
        "11": AiRule("PROD DATE", 6, 6, date="yymmd0"),
        "12": AiRule("DUE DATE", 6, 6, date="yymmd0"),
        "13": AiRule("PACK DATE", 6, 6, date="yymmd0"),
        "15": AiRule("BEST BEFORE or BEST BY", 6, 6, date="yymmd0"),
        "16": AiRule("SELL BY", 6, 6, date="yymmd0"),
        "17": AiRule("USE BY or EXPIRY", 6, 6, date="yymmd0"),
        "20": AiRule("VARIANT", 2, 2),
        "21": AiRule("SERIAL", 1, 20, numeric=False),
        "30": AiRule("VAR. COUNT", 1, 8),
        "37": AiRule("COUNT", 1, 8),
        "240": AiRule("ADDITIONAL ID", 1, 30, numeric=False),
        "241": AiRule("CUST. PART No.", 1, 30, numeric=False),
        "400": AiRule("ORDER NUMBER", 1, 30, numeric=False),
        "420": AiRule("SHIP TO POST", 1, 20, numeric=False),
        # ISO 3166 numeric country code, then the postal code.
        "421": AiRule("SHIP TO POST", 4, 12, numeric=False, numeric_prefix=3),
        "422": AiRule("ORIGIN", 3, 3),
        # GRAI: a zero, the 13-digit asset type with its check digit, an optional serial.
        "8003": AiRule("GRAI", 14, 30, numeric=False, check="mod10", numeric_prefix=14),
        "8004": AiRule("GIAI", 1, 30, numeric=False),
        "8020": AiRule("REF No.", 1, 25, numeric=False),
    }
    for n in range(6):
        # Trade measures with n decimals: net weight kg, length m, width m, depth m, area m²,
        # net volume l (310n-315n), net weight lb (320n).
        for ai, title in (
            ("310", "NET WEIGHT (kg)"),
            ("311", "LENGTH (m)"),
            ("312", "WIDTH (m)"),
            ("313", "HEIGHT (m)"),
            ("314", "AREA (m2)"),
            ("315", "NET VOLUME (l)"),
            ("316", "NET VOLUME (m3)"),
            ("320", "NET WEIGHT (lb)"),
        ):
            table[f"{ai}{n}"] = AiRule(title, 6, 6)
    for n in range(10):
        table[f"390{n}"] = AiRule("AMOUNT", 1, 15)
        table[f"391{n}"] = AiRule("AMOUNT (ISO)", 4, 18, numeric_prefix=3)
        table[f"392{n}"] = AiRule("PRICE", 1, 15)
        table[f"393{n}"] = AiRule("PRICE (ISO)", 4, 18, numeric_prefix=3)
    for ai, title in (
        ("410", "SHIP TO LOC"),
        ("411", "BILL TO"),
        ("412", "PURCHASE FROM"),
        ("413", "SHIP FOR LOC"),
        ("414", "LOC No."),
        ("415", "PAY TO"),
    ):
        table[ai] = AiRule(title, 13, 13, check="mod10")
    return table


AI_TABLE: Final[dict[str, AiRule]] = _table()
_AI_LENGTHS: Final = sorted({len(ai) for ai in AI_TABLE})
_HUMAN_ELEMENT: Final = re.compile(r"\((\d{2,4})\)([^()]*)")


@dataclass(frozen=True, slots=True)
class Element:
    ai: str
    data: str


@dataclass(frozen=True, slots=True)
class ElementString:
    """A validated GS1 element string, in order as given."""

    elements: tuple[Element, ...]

    @property
    def human(self) -> str:
        """``(01)09506000134352(17)261231``: how the API stores it and labels print it."""
        return "".join(f"({e.ai}){e.data}" for e in self.elements)

    @property
    def encoded(self) -> str:
        """What a scanner transmits: AIs and data run together, a group separator after each
        element that does not have a predefined length, except the last."""
        parts = []
        last = len(self.elements) - 1
        for i, e in enumerate(self.elements):
            parts.append(e.ai + e.data)
            if i < last and e.ai[:2] not in PREDEFINED_PREFIXES:
                parts.append(GROUP_SEPARATOR)
        return "".join(parts)


def _error(message: str, ai: str | None) -> ApiError:
    return ApiError("INVALID_GS1", message, field="value", details={"ai": ai} if ai else None)


def gs1_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit of ``body`` (weights 3, 1, 3 … from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def _check_date(ai: str, data: str, allow_day_zero: bool) -> None:
    month, day = int(data[2:4]), int(data[4:6])
    if not 1 <= month <= 12:
        raise _error(f"({ai}) {data}: month {data[2:4]} is not 01-12", ai)
    if day == 0:
        if allow_day_zero:
            return
        raise _error(f"({ai}) {data}: day 00 is not allowed for this AI", ai)
    # Two-digit years: within GS1's sliding 100-year window around today, a year whose last
    # two digits divide by 4 is a leap year (2000 is; 2100 is outside the window until 2051).
    days = calendar.monthrange(2000 + int(data[:2]), month)[1]
    if day > days:
        raise _error(f"({ai}) {data}: day {data[4:6]} does not exist in that month", ai)


def _check_field(ai: str, rule: AiRule, data: str) -> None:
    if not data:
        raise _error(f"({ai}) has no data", ai)
    if not rule.min_length <= len(data) <= rule.max_length:
        want = (
            f"exactly {rule.min_length}"
            if rule.fixed
            else f"{rule.min_length}-{rule.max_length}"
            if rule.min_length > 1
            else f"at most {rule.max_length}"
        )
        raise _error(
            f"({ai}) {rule.title} takes {want} {'digits' if rule.numeric else 'characters'}, "
            f"got {len(data)}",
            ai,
        )
    digits = data if rule.numeric else data[: rule.numeric_prefix]
    if not (digits.isascii() and digits.isdigit()) and digits:
        where = "" if rule.numeric else f"its first {rule.numeric_prefix} characters "
        raise _error(f"({ai}) {rule.title}: {where}must be digits", ai)
    if not rule.numeric:
        bad = sorted({ch for ch in data if ch not in CSET_82})
        if bad:
            raise _error(
                f"({ai}) {rule.title}: {''.join(bad)!r} not in the GS1 character set 82 "
                "(printable ASCII without space and # $ @ [ \\ ] ^ ` { | } ~)",
                ai,
            )
    if rule.check:
        key = digits if rule.numeric else data[: rule.numeric_prefix]
        if ai == "8003":
            if key[0] != "0":
                raise _error(f"(8003) GRAI must start with 0, got {key[0]}", ai)
            key = key[1:]
        expected = gs1_check_digit(key[:-1])
        if key[-1] != expected:
            raise ApiError(
                "INVALID_GS1",
                f"({ai}) {rule.title} check digit is {key[-1]}, expected {expected}",
                field="value",
                details={"ai": ai, "expected_check_digit": expected},
            )
    if rule.date:
        _check_date(ai, data, rule.date == "yymmd0")


def _rule(ai: str) -> AiRule:
    rule = AI_TABLE.get(ai)
    if rule is None:
        raise _error(f"unknown or unsupported Application Identifier ({ai})", ai)
    return rule


def _parse_human(text: str) -> Iterator[Element]:
    position = 0
    previous: str | None = None
    while position < len(text):
        match = _HUMAN_ELEMENT.match(text, position)
        if (
            match is None
            and previous is not None
            and not text[position + 1 : position + 2].isdigit()
        ):
            raise _error(
                f"({previous}): brackets cannot be told apart from an AI, so they cannot "
                "appear in data",
                previous,
            )
        if match is None:
            raise _error(
                "a GS1 element string is a sequence of (AI)data, e.g. (01)09506000134352(10)LOT42; "
                f"cannot read it from position {position + 1}",
                None,
            )
        previous = match.group(1)
        yield Element(match.group(1), match.group(2))
        position = match.end()


def _parse_raw(text: str) -> Iterator[Element]:
    position = 0
    while position < len(text):
        if text[position] == GROUP_SEPARATOR:
            position += 1
            continue
        ai = next(
            (
                text[position : position + n]
                for n in _AI_LENGTHS
                if text[position : position + n] in AI_TABLE
            ),
            None,
        )
        if ai is None:
            # The first two digits of an AI say which one it is (its length depends on them).
            raise _error(
                f"unknown Application Identifier starting {text[position : position + 4]!r} "
                f"at position {position + 1}",
                text[position : position + 2],
            )
        rule = AI_TABLE[ai]
        start = position + len(ai)
        if rule.fixed:
            end = start + rule.max_length
        else:
            separator = text.find(GROUP_SEPARATOR, start)
            end = len(text) if separator < 0 else separator
            if end - start > rule.max_length:
                raise _error(
                    f"({ai}) {rule.title} runs to {end - start} characters, more than its "
                    f"{rule.max_length}: a variable-length field followed by another element "
                    "needs a group separator (FNC1) after it",
                    ai,
                )
        yield Element(ai, text[start:end])
        position = end


def parse_element_string(value: str, *, max_chars: int = MAX_ELEMENT_STRING) -> ElementString:
    """Validate a GS1 element string in human (``(01)…``) or raw form; see module docstring.

    ``max_chars`` bounds the data characters (AIs included, separators not): 48 for GS1-128.
    Raises ApiError ``INVALID_GS1`` naming the AI at fault.
    """
    text = value.strip()
    if not text:
        raise _error("the GS1 element string is empty", None)
    if len(text) > MAX_INPUT:
        raise _error(f"the GS1 element string is longer than {MAX_INPUT} characters", None)
    # Parsed lazily: each element is checked before the next is read, so an error names the
    # first element at fault (in raw form, a bad field also throws off what follows it).
    elements: list[Element] = []
    seen: dict[str, str] = {}
    total = 0
    for element in _parse_human(text) if text.startswith("(") else _parse_raw(text):
        elements.append(element)
        rule = _rule(element.ai)
        _check_field(element.ai, rule, element.data)
        if element.ai in seen:
            raise _error(f"({element.ai}) appears twice", element.ai)
        seen[element.ai] = element.data
        total += len(element.ai) + len(element.data)
        if total > max_chars:
            raise _error(
                f"the element string is longer than the {max_chars} characters this symbol "
                f"carries (reached at ({element.ai}))",
                element.ai,
            )
    if "01" in seen and "02" in seen:
        raise _error("(02) CONTENT describes a logistic unit and cannot go with (01) GTIN", "02")
    return ElementString(tuple(elements))
