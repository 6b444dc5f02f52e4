"""Start the keys service (``python -m services.keys [serve]``) or run an admin command
(``python -m services.keys create-account --name N``); see :mod:`services.keys.cli`."""

from __future__ import annotations

import sys

from services.keys.cli import main

if __name__ == "__main__":
    sys.exit(main())
