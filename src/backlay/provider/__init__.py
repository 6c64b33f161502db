"""The operator's fixed-odds bet-placement endpoint of seed 002 (issue 17), for betting content
providers: `POST <prefix>/bet` on the API port (mounted like the admin API, betfair/http/app.py
`Mount`), betslips as core commands on the exchange's own wallet. Not built yet."""
