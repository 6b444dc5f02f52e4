"""Start the render service: ``python -m services.render``."""

from __future__ import annotations

import os

from services.render.server import serve
from services.render.settings import RenderSettings
from services.runtime.lifecycle import run_service


def main() -> None:
    settings = RenderSettings.from_env(os.environ)
    run_service("render", lambda stop: serve(settings, stop), settings.log_level)


if __name__ == "__main__":
    main()
