"""Bettor accounts of seed 000 (issue 18): a bettor's accounts at books that speak the Betfair API or
at backlay's fixed-odds book, linked, verified and refreshed in the background, read as one portfolio.
A service beside the exchange: it reaches books through their public APIs, never the core. Not built
yet."""
