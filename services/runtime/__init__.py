"""Plumbing every QRForge service shares: config, logs, metrics, health, gRPC, Postgres, AMQP.

No business logic lives here; see each service's own package for that.
"""
