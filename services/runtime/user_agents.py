"""User-agent classification: device class, OS family, browser, and whether the client is a
bot (crawler, link-preview fetcher, HTTP library) rather than a person's browser.

Shared by analytics (what a scan is stored as) and the redirect (routing rules on device and
OS), so a rule for ``ios`` matches exactly the scans the stats count as ``ios``.

Pure and cached: ua-parser (with its Rust backend, ``ua-parser-rs``, when installed) does the
matching, a small keyword list catches the previewers and libraries it misses, and an LRU cache
keeps repeat agents (most of a campaign's traffic) at a dictionary look-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import ua_parser

MAX_UA_CHARS: Final = 512
"""Longer agents are cut before parsing: the interesting tokens come first, and pathological
strings must not cost regex time."""

DEVICES: Final = ("mobile", "desktop", "tablet", "other")
"""Device classes of people; bots get ``bot``."""
OPERATING_SYSTEMS: Final = ("ios", "android", "windows", "macos", "linux", "other")

_BOT_PATTERN: Final = re.compile(
    r"\bbot\b|bot[/;)]|crawl|spider|slurp|preview|facebookexternalhit|facebookcatalog|whatsapp|"
    r"slackbot|twitterbot|telegrambot|discordbot|linkedinbot|pinterest|embedly|skypeuripreview|"
    r"vkshare|redditbot|applebot|google-inspectiontool|googleother|feedfetcher|mediapartners|"
    r"headlesschrome|phantomjs|lighthouse|^curl/|^wget/|python-requests|python-urllib|python/|"
    r"aiohttp|httpx|go-http-client|okhttp|^java/|libwww-perl|apache-httpclient|node-fetch|axios/|"
    r"scrapy|postmanruntime|insomnia|^$",
    re.IGNORECASE,
)
_TABLET_PATTERN: Final = re.compile(
    r"ipad|tablet|kindle|silk/|playbook|nexus (7|9|10)\b", re.IGNORECASE
)
_MOBILE_PATTERN: Final = re.compile(
    r"mobi|iphone|ipod|android.*mobile|windows phone|opera mini", re.IGNORECASE
)

_OS_FAMILIES: Final = {
    "iOS": "ios",
    "iPadOS": "ios",
    "Android": "android",
    "Mac OS X": "macos",
    "macOS": "macos",
    "Linux": "linux",
    "Ubuntu": "linux",
    "Fedora": "linux",
    "Debian": "linux",
    "Arch Linux": "linux",
    "Linux Mint": "linux",
    "openSUSE": "linux",
    "Red Hat": "linux",
    "CentOS": "linux",
    "Gentoo": "linux",
}
_DESKTOP_OS: Final = frozenset({"windows", "macos", "linux"})
_BROWSER_SUFFIXES: Final = (" Mobile iOS", " Mobile WebView", " Mobile", " iOS", " WebView")


@dataclass(frozen=True, slots=True)
class Agent:
    device: str  # mobile | desktop | tablet | bot | other
    os: str  # ios | android | windows | macos | linux | other
    browser: str  # a family name such as Chrome, Safari, Firefox; "other" when unknown
    is_bot: bool


def os_family(family: str | None) -> str:
    if not family:
        return "other"
    if family.startswith("Windows"):
        return "windows"
    return _OS_FAMILIES.get(family, "other")


def browser_family(family: str | None) -> str:
    """ua-parser's family without its platform suffix: "Mobile Safari" and "Chrome Mobile iOS"
    count as Safari and Chrome."""
    if not family or family == "Other":
        return "other"
    if family in {"Mobile Safari", "Mobile Safari UI/WKWebView"}:
        return "Safari"
    for suffix in _BROWSER_SUFFIXES:
        if family.endswith(suffix) and len(family) > len(suffix):
            return family[: -len(suffix)]
    return family[:64]


def looks_like_bot(user_agent: str) -> bool:
    """Crawlers, link previews (WhatsApp, Slack, Telegram, …), HTTP libraries and tools, and
    requests without any user agent (no person's browser omits it)."""
    return _BOT_PATTERN.search(user_agent.strip()) is not None


@lru_cache(maxsize=16_384)
def classify(user_agent: str) -> Agent:
    """What ``user_agent`` is; the same string always gives the same answer."""
    agent = user_agent[:MAX_UA_CHARS]
    parsed = ua_parser.parse(agent)
    os_name = os_family(parsed.os.family if parsed.os else None)
    browser = browser_family(parsed.user_agent.family if parsed.user_agent else None)
    device_family = parsed.device.family if parsed.device else ""
    if device_family == "Spider" or looks_like_bot(agent):
        return Agent("bot", os_name, browser, is_bot=True)
    if device_family == "iPad" or _TABLET_PATTERN.search(agent):
        device = "tablet"
    elif os_name in ("ios", "android"):
        # Android tablets omit "Mobile" from their agent; phones send it.
        device = "mobile" if os_name == "ios" or _MOBILE_PATTERN.search(agent) else "tablet"
    elif _MOBILE_PATTERN.search(agent):
        device = "mobile"
    elif os_name in _DESKTOP_OS:
        device = "desktop"
    else:
        device = "other"
    return Agent(device, os_name, browser, is_bot=False)
