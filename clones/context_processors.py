from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from clones import forms, models
from clones.models import TaskEvent

CREDENTIAL_FAILURES = (401, 403)


def studio(request: HttpRequest) -> dict:
    """What every page needs to know about how the studio runs."""
    user = getattr(request, "user", None)
    is_administrator = bool(user and user.is_authenticated and user.is_staff)
    return {
        "is_demo_mode": settings.DEMO_MODE,
        "browser_refresh_ms": int(settings.SOUNDCLONE_BROWSER_REFRESH_SECONDS * 1000),
        # Limits a page states in words come from the constants that enforce them, never a copy in the text.
        "content_text_limit": forms.MAX_CONTENT_TEXT,
        "model_id_lifetime": models.MODEL_ID_LIFETIME,
        # Lazy: the query runs only where base.html renders the banner, and only for administrators.
        "is_key_refused": SimpleLazyObject(_latest_answer_refused_our_key) if is_administrator else False,
        "is_account_refused": SimpleLazyObject(_latest_send_refused_for_the_account)
        if is_administrator
        else False,
    }


def _latest_answer_refused_our_key() -> bool:
    """Whether the service's latest answer refused our API key (until an accepted request clears it)."""
    latest = (
        TaskEvent.objects.filter(http_status__isnull=False)
        .exclude(kind=TaskEvent.Kind.COPY)
        # Newest first by primary key: its index makes this read the latest few rows, not the whole history.
        .order_by("-pk")
        .values_list("http_status", flat=True)
        .first()
    )
    return latest in CREDENTIAL_FAILURES


def _latest_send_refused_for_the_account() -> bool:
    """Whether the latest submission was refused for a problem of the team's account (no balance left), until
    a submission is accepted again."""
    from clones import service_messages

    latest = (
        TaskEvent.objects.filter(kind=TaskEvent.Kind.SEND, http_status__isnull=False)
        .order_by("-pk")
        .values_list("outcome", "task__error")
        .first()
    )
    if latest is None or latest[0] != "rejected":
        return False
    return service_messages.explain(latest[1] or "").is_account_problem
