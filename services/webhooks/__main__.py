"""Start the webhooks service: ``python -m services.webhooks``."""

from __future__ import annotations

import os

from services.runtime.lifecycle import run_service
from services.webhooks.server import serve
from services.webhooks.settings import WebhooksSettings


def main() -> None:
    settings = WebhooksSettings.from_env(os.environ)
    run_service("webhooks", lambda stop: serve(settings, stop), settings.log_level)


if __name__ == "__main__":
    main()
