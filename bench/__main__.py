"""``make bench``: run every benchmark script and print one JSON object per line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = sorted(p.stem for p in Path(__file__).parent.glob("*_bench.py"))


def main() -> int:
    failed = 0
    for name in BENCHES:
        result = subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False)
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
