"""Start the analytics service: ``python -m services.analytics``."""

from __future__ import annotations

import os

from services.analytics.server import serve
from services.analytics.settings import AnalyticsSettings
from services.runtime.lifecycle import run_service


def main() -> None:
    settings = AnalyticsSettings.from_env(os.environ)
    run_service("analytics", lambda stop: serve(settings, stop), settings.log_level)


if __name__ == "__main__":
    main()
