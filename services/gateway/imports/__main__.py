"""Start the import worker: ``python -m services.gateway.imports``."""

from __future__ import annotations

import os

from services.gateway.imports.worker import serve
from services.gateway.settings import GatewaySettings
from services.runtime.config import env_int
from services.runtime.lifecycle import run_service


def main() -> None:
    settings = GatewaySettings.from_env(os.environ)
    admin_port = env_int("IMPORT_WORKER_ADMIN_PORT", 9085, os.environ)
    run_service("imports", lambda stop: serve(settings, admin_port, stop), settings.log_level)


if __name__ == "__main__":
    main()
