"""Start the redirect service: ``python -m services.redirect``."""

from __future__ import annotations

from services.redirect.app import serve
from services.redirect.settings import RedirectSettings
from services.runtime.lifecycle import run_service


def main() -> None:
    settings = RedirectSettings.from_env()
    run_service("redirect", lambda stop: serve(settings, stop), settings.log_level)


if __name__ == "__main__":
    main()
