"""What the voice service said, explained when shown (clones.service_messages); the stored text stays."""

from django import template

from clones import service_messages

register = template.Library()


@register.filter
def service_message(said: str) -> str:
    """A known service text as our sentence, in the reader's language; an unknown one in its own words."""
    return service_messages.service_message(said)


@register.filter
def service_explanation(said: str) -> service_messages.Explanation:
    """The sentence and whose problem it is (`.is_account_problem`: tell the administrator, not the clip)."""
    return service_messages.explain(said)


@register.filter
def service_status_label(raw_status: str) -> str:
    """ "Queued", "Completed" … for the service's own status code; "" when the code is not one we know."""
    return service_messages.service_status_label(raw_status)
