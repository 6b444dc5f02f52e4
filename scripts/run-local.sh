#!/usr/bin/env bash
# `make run`: backing servers, database + migrations, every service as its own process (logs
# prefixed by name), then the gateway URL and a fresh bootstrap API key. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

bash scripts/backing-services.sh

export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/qrforge}"
export AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
export GATEWAY_PORT="${GATEWAY_PORT:-8080}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:$GATEWAY_PORT}"
export REDIRECT_BASE_URL="${REDIRECT_BASE_URL:-http://127.0.0.1:8081}"
export CLICKHOUSE_URL="${CLICKHOUSE_URL:-chdb://$PWD/var/clickhouse}"
mkdir -p var

# The token every internal gRPC call presents (render, keys, analytics and webhooks refuse calls without
# it): a fresh random one per run, in a file only this user can read, never printed.
if [ -z "${GRPC_AUTH_TOKEN:-}" ]; then
  (umask 077 && python -c 'import secrets; print(secrets.token_hex(32))' >var/grpc-auth-token)
  chmod 600 var/grpc-auth-token
  GRPC_AUTH_TOKEN=$(<var/grpc-auth-token)
  export GRPC_AUTH_TOKEN
fi
# Mutual TLS on the same connections: a local CA and the services' certificate in var/tls (kept
# while valid), unless GRPC_TLS_* already name other files.
if [ -z "${GRPC_TLS_CA:-}" ]; then
  python -m services.runtime.tls_certs var/tls
  export GRPC_TLS_CA="$PWD/var/tls/ca.pem" GRPC_TLS_CERT="$PWD/var/tls/internal.pem" \
    GRPC_TLS_KEY="$PWD/var/tls/internal-key.pem"
fi

db_name="${DATABASE_URL##*/}"
if ! psql "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1; then
  psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$db_name\""
fi
python -m services.runtime.migrations

honcho start -f Procfile &
honcho_pid=$!
trap 'kill -INT $honcho_pid 2>/dev/null; wait $honcho_pid' INT TERM

for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:${GATEWAY_ADMIN_PORT:-9080}/readyz" >/dev/null 2>&1 && break
  sleep 1
done
key_json=$(python -m services.keys create-account --name "bootstrap-$(date +%s)")
api_key=$(python -c 'import json,sys; print(json.load(sys.stdin)["api_key"])' <<<"$key_json")
cat <<MSG

  QRForge is running.
  Gateway:   http://127.0.0.1:$GATEWAY_PORT
  Console:   http://127.0.0.1:$GATEWAY_PORT/console/   (sign in with the key below)
  API key:   $api_key   (shown once; stored only as a keyed hash)

  Try: curl -H "Authorization: Bearer $api_key" -H "Content-Type: application/json" \\
         -d '{"type":"url","content":"https://example.com"}' http://127.0.0.1:$GATEWAY_PORT/v1/qrcodes/generate

MSG
wait $honcho_pid
