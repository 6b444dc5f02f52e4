# syntax=docker/dockerfile:1
# One image for every QRForge service. The entrypoint is `python -m`; the command picks the
# module, e.g. `docker run IMAGE services.gateway` or, in Kubernetes, `args: ["services.render"]`.
# Also: services.keys (with `create-account ...` for the admin CLI) and services.runtime.migrations.
#
# The root filesystem can be mounted read-only: bytecode is compiled at build time and the only
# writable paths are volumes: /tmp, /var/lib/qrforge/spool (redirect SPOOL_DIR) and
# /var/lib/qrforge/clickhouse (embedded ClickHouse for analytics, CLICKHOUSE_URL=chdb:///...).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# --- builder: dependencies in a venv, gRPC stubs generated from proto/ ---------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src

# Runtime dependencies only: pyproject.toml declares no packages, so installing the project
# installs exactly its dependency list (a layer that changes only when pyproject.toml does).
COPY pyproject.toml ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install . \
    && /opt/venv/bin/pip uninstall --yes qrforge \
    && /opt/venv/bin/pip freeze > /tmp/runtime-constraints.txt

# The stub generator lives in its own venv (not shipped), pinned to the runtime's grpcio and
# protobuf so generated code and runtime always agree (see the Makefile's `proto` target).
COPY proto ./proto
RUN python -m venv /opt/protoc \
    && /opt/protoc/bin/pip install --constraint /tmp/runtime-constraints.txt grpcio-tools \
    && mkdir -p gen \
    && /opt/protoc/bin/python -m grpc_tools.protoc -Iproto \
        --python_out=gen --grpc_python_out=gen proto/qrforge/v1/*.proto \
    && touch gen/qrforge/__init__.py gen/qrforge/v1/__init__.py

COPY services ./services
RUN /opt/venv/bin/python -m compileall -q -j 0 services gen

# --- console: the browser console's static files (npm ci from the lockfile, vite build) ---------
FROM ${NODE_IMAGE} AS console
WORKDIR /console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY console/index.html console/vite.config.ts console/tsconfig.json ./
COPY console/src ./src
RUN npm run build

# --- runtime: slim, non-root, nothing writable but mounted volumes ------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="qrforge" \
      org.opencontainers.image.description="QRForge services: python -m services.<name>"

RUN groupadd --system --gid 10001 qrforge \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin qrforge \
    && mkdir -p /var/lib/qrforge/spool /var/lib/qrforge/clickhouse \
    && chown -R 10001:10001 /var/lib/qrforge

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /src/gen /app/gen
COPY --from=builder /src/services /app/services
# Served by the gateway at /console (CONSOLE_DIR defaults to /app/console/dist).
COPY --from=console /console/dist /app/console/dist

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app:/app/gen \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    QRFORGE_ENV=production \
    SPOOL_DIR=/var/lib/qrforge/spool \
    CLICKHOUSE_URL=chdb:///var/lib/qrforge/clickhouse

WORKDIR /app
# Numeric so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# Public: gateway 8080, redirect 8081; gRPC: render 7051, keys 7052, analytics 7053;
# admin (/healthz, /readyz, /metrics): 9080, 9081, 9051, 9052, 9053, import worker 9085.
EXPOSE 8080 8081 7051 7052 7053 9080 9081 9051 9052 9053 9085
ENTRYPOINT ["python", "-m"]
