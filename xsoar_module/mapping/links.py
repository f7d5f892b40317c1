"""Links shown to analysts."""


def alert_url(app_url: str, short_id: str) -> str:
    """`{app}/operations/alerts/{short_id}`, the alert page of the Sekoia.io web application."""
    return f"{app_url.rstrip('/')}/operations/alerts/{short_id}"
