"""Historical replay (issue 19): Betfair's historical stream files as the counterparty, in a live-like
server (`backlay serve --replay`) and in deterministic in-process backtests. The recorded liquidity
enters the core as ordinary commands through the engine. Not built yet."""
