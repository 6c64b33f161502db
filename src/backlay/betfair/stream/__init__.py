"""The Exchange Stream API (003:L5963-6894): TLS (and optional plain) TCP listeners, market and order
subscriptions fed from the sequencer's events. See docs/architecture.md, "Stream API"."""
