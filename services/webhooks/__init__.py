"""The webhooks service: customer endpoints, and signed at-least-once deliveries to them."""
