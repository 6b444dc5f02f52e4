#!/usr/bin/env bash
# Debian tools the test suite and benches drive: Chromium (browser tests, via Playwright with
# the system browser; never a downloaded one), wrk (redirect bench) and Ghostscript (EPS
# images rasterised to be decoded) and libzbar0 (zbar, the second QR reader of the
# cross-reader tests, loaded by pyzbar) and npm (openapi-typescript of the spec's generator
# check, installed from clients/generator-check's lockfile). Idempotent.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v wrk >/dev/null || missing+=(wrk)
command -v gs >/dev/null || missing+=(ghostscript)
command -v npm >/dev/null || missing+=(npm)
# grep reads all of ldconfig's list (-q would stop early and, under pipefail, fail the pipe).
ldconfig -p | grep 'libzbar\.so\.0' >/dev/null || missing+=(libzbar0)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
