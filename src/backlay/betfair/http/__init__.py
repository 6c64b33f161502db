"""The API port's Betfair routes: identity, JSON-RPC and REST envelopes, and one handler module per
service (`betting`, `accounts`, `heartbeat`, `scores`, `navigation`)."""
