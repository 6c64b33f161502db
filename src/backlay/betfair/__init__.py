"""The Betfair-compatible edge: what a Betfair client talks to.

- `http/`: the ASGI app of the API port: identity (login, keepAlive, logout, certlogin), the Betting,
  Accounts, Heartbeat and Race Status operations over JSON-RPC and REST, and navigation;
- `stream/`: the Exchange Stream API (listeners, subscriptions, the publish hub, stream workers);
- `wire/`: the requests, responses and stream messages as msgspec structs;
- `services/`: what runs beside the request handlers on the event loop (the delayed-price sampler,
  the heartbeat monitor);
- `certlogin.py`: the identitysso-cert host, an HTTPS listener of its own.
"""
