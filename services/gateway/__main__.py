"""Start the gateway: ``python -m services.gateway``."""

from __future__ import annotations

import os

from services.gateway.app import serve
from services.gateway.settings import GatewaySettings
from services.runtime.lifecycle import run_service


def main() -> None:
    settings = GatewaySettings.from_env(os.environ)
    run_service("gateway", lambda stop: serve(settings, stop), settings.log_level)


if __name__ == "__main__":
    main()
