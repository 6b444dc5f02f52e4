from __future__ import annotations

import tempfile

import pytest

from services.gateway.imports.sources import SOURCES, column_key, row_body
from services.gateway.imports.upload import CsvLines, Spooled, cells_of
from services.runtime.errors import ApiError


def _lines(source: str, data: bytes) -> CsvLines:
    spool = tempfile.SpooledTemporaryFile()  # noqa: SIM115 - the parser reads it after return
    spool.write(data)
    spool.seek(0)
    return CsvLines(Spooled(spool, len(data), b""), SOURCES[source])


def test_headers_match_whatever_their_case_and_punctuation() -> None:
    assert column_key("Long URL") == column_key("long_url") == column_key("longUrl") == "longurl"


def test_a_bitly_link_becomes_a_named_tagged_dynamic_code() -> None:
    bitly = SOURCES["bitly"]
    columns = bitly.columns(["Bitlink", "Long URL", "Title", "Tags"])
    body = row_body(bitly, columns, ["bit.ly/3abc", "https://e.com/x", "", "a, b ,"])
    assert body == {"kind": "dynamic", "name": "3abc", "destination_url": "https://e.com/x",
                    "tags": ["a", "b"], "slug": "3abc"}  # fmt: skip


def test_the_old_short_code_is_sent_as_the_slug() -> None:
    shlink = SOURCES["shlink"]
    columns = shlink.columns(["shortCode", "longUrl", "title", "tags"])
    body = row_body(shlink, columns, ["abc", "https://e.com", "T", "x|y"])
    assert (body["slug"], body["tags"]) == ("abc", ["x", "y"])


def test_a_source_without_its_long_url_column_is_refused_naming_it() -> None:
    with pytest.raises(ApiError) as raised:
        SOURCES["kutt"].columns(["address", "description"])
    assert raised.value.field == "columns.target"


def test_qrforge_lines_are_static_or_dynamic_with_object_contents_as_json() -> None:
    lines = _lines(
        "qrforge",
        b"\xef\xbb\xbfkind,type,content,name,destination_url,size,tags\r\n"
        b'static,wifi,"{""ssid"": ""cafe""}",,,300,a|b\r\n'
        b",,,Menu,https://e.com/menu,,\r\n"
        b"\r\n"
        b"static,wifi,not json,,,,\r\n",
    )
    assert lines.header[0] == "kind"  # the byte-order mark is not part of it
    parsed = list(lines)
    assert [p.line for p in parsed] == [1, 2, 3]  # the blank line is not a line
    assert (
        parsed[0].body
        == '{"kind":"static","tags":["a","b"],"size":300,"type":"wifi","content":{"ssid":"cafe"}}'
    )
    assert '"kind":"dynamic"' in parsed[1].body
    assert (parsed[2].error_code, parsed[2].body) == ("INVALID_CONTENT", "{}")
    assert cells_of(parsed[2].cells)[:3] == ["static", "wifi", "not json"]


@pytest.mark.parametrize(
    "data", [b"", b"type,content\r\ntext,\xff\r\n", b"type,content\r\ntext,a\x00\r\n"]
)
def test_files_that_are_not_utf8_csv_are_refused(data: bytes) -> None:
    with pytest.raises(ApiError) as raised:
        list(_lines("qrforge", data))
    assert (raised.value.code, raised.value.field) == ("INVALID_PARAMETER", "body")
