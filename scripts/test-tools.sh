#!/usr/bin/env bash
# Debian tools the test suite and benches drive: Chromium (browser tests, via Playwright with
# the system browser; never a downloaded one), wrk (redirect bench) and Ghostscript (EPS
# images rasterised to be decoded). Idempotent.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v wrk >/dev/null || missing+=(wrk)
command -v gs >/dev/null || missing+=(ghostscript)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
