"""Template tags of the clip field on the New clone form (templates/clones/task_form.html)."""

from django import template

from clones import reading_texts

register = template.Library()


@register.simple_tag
def reading_texts_json() -> str:
    """The texts to read aloud per language, as JSON for a data- attribute (escaped by the template)."""
    return reading_texts.as_json()
