from django.conf import settings
from django.http import HttpRequest


def studio(request: HttpRequest) -> dict:
    """What every page needs to know about how the studio runs."""
    return {
        "is_demo_mode": settings.DEMO_MODE,
        "browser_refresh_ms": int(settings.SOUNDCLONE_BROWSER_REFRESH_SECONDS * 1000),
    }
