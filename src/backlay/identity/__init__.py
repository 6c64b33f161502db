"""Identity: users, passwords, application keys and sessions (the Betfair identity service)."""
