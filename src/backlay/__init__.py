"""backlay: a self-hosted betting exchange that speaks the Betfair Exchange API."""

__version__ = "0.1.0"
