"""The Betfair-compatible HTTP APIs: identity, Betting, Accounts, Heartbeat."""
