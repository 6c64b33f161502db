"""The operator's fixed-odds bet-placement endpoint of seed 002 (issue 17), for betting content providers:
`POST <prefix>/bet` and its follow-up calls (result, resettle, unsettle, rollback) on the API port, mounted
like the admin API (betfair/http/app.py `Mount`); betslips are core commands on the exchange's own wallet
(core/fixed_odds.py). api.py routes and answers, wire.py holds the bodies and the edge's units, auth.py
checks the providers' HMAC signatures, views.py renders a user's bets. docs/provider-api.md describes it."""
