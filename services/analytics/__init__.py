"""The analytics service: consumes scan events from RabbitMQ in batches, enriches them (country,
city, device, OS, browser, bot, referrer, keyed visitor hash), inserts them into ClickHouse
idempotently (acking only after the insert), and answers scan statistics over gRPC."""
