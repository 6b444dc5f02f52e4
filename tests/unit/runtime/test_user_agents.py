from __future__ import annotations

import pytest

from services.runtime.user_agents import browser_family, classify, os_family

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)
IPAD_SAFARI = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
LINUX_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
WHATSAPP_PREVIEW = "WhatsApp/2.23.20.0 A"

BOTS = [
    GOOGLEBOT,
    WHATSAPP_PREVIEW,
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Twitterbot/1.0",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "curl/8.4.0",
    "Wget/1.21.4",
    "python-requests/2.31.0",
    "Python/3.11 aiohttp/3.9.1",
    "",
]


@pytest.mark.parametrize("agent", BOTS)
def test_crawlers_previews_and_libraries_are_bots(agent: str) -> None:
    result = classify(agent)
    assert result.is_bot
    assert result.device == "bot"


@pytest.mark.parametrize(
    ("agent", "device", "os", "browser"),
    [
        (IPHONE_SAFARI, "mobile", "ios", "Safari"),
        (IPAD_SAFARI, "tablet", "ios", "Safari"),
        (WINDOWS_CHROME, "desktop", "windows", "Chrome"),
        (MAC_SAFARI, "desktop", "macos", "Safari"),
        (ANDROID_PHONE, "mobile", "android", "Chrome"),
        (ANDROID_TABLET, "tablet", "android", "Chrome"),
        (LINUX_FIREFOX, "desktop", "linux", "Firefox"),
    ],
)
def test_people_get_device_os_and_browser(agent: str, device: str, os: str, browser: str) -> None:
    result = classify(agent)
    assert (result.device, result.os, result.browser, result.is_bot) == (device, os, browser, False)


def test_unknown_agent_is_other_not_bot() -> None:
    result = classify("SomeKiosk/1.0")
    assert (result.device, result.os, result.is_bot) == ("other", "other", False)


def test_family_normalisation() -> None:
    assert os_family("Windows") == "windows"
    assert os_family("Mac OS X") == "macos"
    assert os_family("Ubuntu") == "linux"
    assert os_family("Chrome OS") == "other"
    assert os_family(None) == "other"
    assert browser_family("Mobile Safari") == "Safari"
    assert browser_family("Chrome Mobile iOS") == "Chrome"
    assert browser_family("Firefox Mobile") == "Firefox"
    assert browser_family("Other") == "other"


def test_very_long_agents_are_cut_before_parsing() -> None:
    result = classify(WINDOWS_CHROME + "x" * 100_000)
    assert result.device == "desktop"
