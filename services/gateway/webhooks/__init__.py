"""``/v1/webhooks…``: endpoint management, handed to the webhooks service over gRPC."""
