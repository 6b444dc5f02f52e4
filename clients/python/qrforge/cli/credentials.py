"""Where the command line finds the API: ``QRFORGE_URL`` / ``QRFORGE_API_KEY`` first, then the
file ``qrforge login`` wrote (``config.json`` in the user's config directory, e.g.
``~/.config/qrforge`` on Linux, or ``QRFORGE_CONFIG_DIR``), readable by its owner only."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import typer

from qrforge.client.settings import API_KEY_ENV, DEFAULT_URL, URL_ENV

CONFIG_DIR_ENV: Final = "QRFORGE_CONFIG_DIR"


@dataclass(frozen=True)
class Credentials:
    url: str
    api_key: str | None


def config_path(env: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if env is None else env
    directory = environ.get(CONFIG_DIR_ENV) or typer.get_app_dir("qrforge")
    return Path(directory) / "config.json"


def load(env: Mapping[str, str] | None = None) -> Credentials:
    environ = os.environ if env is None else env
    stored: dict[str, str] = {}
    path = config_path(environ)
    if path.is_file():
        try:
            loaded = json.loads(path.read_text())
        except (OSError, ValueError):
            loaded = {}
        if isinstance(loaded, dict):
            stored = {k: v for k, v in loaded.items() if isinstance(v, str)}
    return Credentials(
        url=environ.get(URL_ENV) or stored.get("url") or DEFAULT_URL,
        api_key=environ.get(API_KEY_ENV) or stored.get("api_key"),
    )


def save(credentials: Credentials, env: Mapping[str, str] | None = None) -> Path:
    """Write the file with mode 0600 from its creation (never readable by others, even briefly)."""
    path = config_path(env)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = json.dumps({"url": credentials.url, "api_key": credentials.api_key}, indent=2)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(body + "\n")
    os.chmod(path, 0o600)  # an older file may have had wider permissions
    return path


def forget(env: Mapping[str, str] | None = None) -> bool:
    path = config_path(env)
    if path.exists():
        path.unlink()
        return True
    return False
