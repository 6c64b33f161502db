"""Background services of the Betfair edge: tasks on the event loop beside the request handlers."""
