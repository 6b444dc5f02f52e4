"""Twelve-factor settings: every value comes from the environment with a working local default.

Each service declares a frozen settings dataclass and fills it with these readers once at
start-up; nothing else reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


class ConfigError(RuntimeError):
    """A setting is present but unusable, or a production secret is missing."""


def _raw(name: str, env: Mapping[str, str] | None) -> str | None:
    value = (os.environ if env is None else env).get(name)
    return value if value not in (None, "") else None


def env_str(name: str, default: str, env: Mapping[str, str] | None = None) -> str:
    value = _raw(name, env)
    return default if value is None else value


def env_int(name: str, default: int, env: Mapping[str, str] | None = None) -> int:
    value = _raw(name, env)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None


def env_float(name: str, default: float, env: Mapping[str, str] | None = None) -> float:
    value = _raw(name, env)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None


def env_list(
    name: str, default: tuple[str, ...] = (), env: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    value = _raw(name, env)
    if value is None:
        return default
    return tuple(part.strip() for part in value.split(",") if part.strip())


def is_production(env: Mapping[str, str] | None = None) -> bool:
    return env_str("QRFORGE_ENV", "development", env).lower() == "production"


def env_secret(name: str, dev_default: str, env: Mapping[str, str] | None = None) -> str:
    """A secret: the development default is refused when ``QRFORGE_ENV=production``."""
    value = _raw(name, env)
    if value is not None:
        return value
    if is_production(env):
        raise ConfigError(f"{name} must be set in production")
    return dev_default
