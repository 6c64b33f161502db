"""The web front door: the trading ladder, the operator console and the Vendor Services API. Pages
and their routes, over the same APIs the clients use. Not built yet."""
