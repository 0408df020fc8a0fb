"""What the voice service says, in words staff can act on and in the reader's language.

Tasks store the service's text as it came (`CloneTask.error`), so that what it said is never lost; it is
explained here when it is shown. Each known text becomes one plain sentence: what happened and what to do. A
text we do not know is shown in the service's own words, saying that they are its words.

The known texts are those the simulator gives (clones/simulator.py), which follow what the service is known to
answer; add a real answer here when one is seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clones import client, services


class Concern(StrEnum):
    """Whose problem it is: the clip's (the person fixes the input), the team's account (an administrator
    acts, nothing is wrong with the clip) or the service's (wait and send again)."""

    CLIP = "clip"
    ACCOUNT = "account"
    SERVICE = "service"


@dataclass(frozen=True)
class Explanation:
    """A service text explained: the sentence to show, whose problem it is, and whether we knew the text."""

    text: str
    concern: Concern
    is_known: bool

    @property
    def is_account_problem(self) -> bool:
        return self.concern == Concern.ACCOUNT


# What to say: one sentence for what happened, one for what to do.
TOO_SHORT_OR_LONG = _(
    "The clip must hold 15 to 60 seconds of speech. Trim a longer clip or choose a longer one, then send it "
    "again."
)
NOT_CLEAR = _(
    "The voice service found too little clear speech in the clip. Choose a clip in which one person speaks "
    "clearly, with little music or background noise."
)
NOT_DOWNLOADED = _(
    "The voice service could not download the clip from this link. Check that the link opens without signing "
    "in (for example in a private browser window), then send it again."
)
NOT_PUBLIC = _(
    "The voice service needs a public http or https link to the clip. Check the link, then send it again."
)
UNREADABLE_LINK = _(
    "The voice service cannot read this link: it contains spaces or non-English characters. Copy the link "
    "again from the browser's address bar, then send it again."
)
NO_LINK = _("The voice service received no link to the clip. Paste the link, then send it again.")
NO_BALANCE = _(
    "The team's SoundClone account has no balance left. Tell your administrator; nothing is wrong with the "
    "clip."
)
KEY_REFUSED = _(
    "The voice service refused the team's API key. Tell your administrator; nothing is wrong with the clip."
)
KEY_NOT_ALLOWED = _(
    "The team's API key is not allowed to clone voices. Tell your administrator; nothing is wrong with the "
    "clip."
)
TOO_MANY_REQUESTS = _(
    "The voice service is receiving too many requests just now. Wait a few minutes, then send it again."
)
SERVICE_BROKE = _(
    "The voice service had an internal error. Nothing is known to be wrong with the clip: send it again "
    "later."
)
TASK_UNKNOWN = _("The voice service no longer knows this task.")

# The service's texts, compared without case, surrounding spaces or a final full stop.
KNOWN: dict[str, tuple[Promise, Concern]] = {
    "the audio must contain 15 to 60 seconds of speech": (TOO_SHORT_OR_LONG, Concern.CLIP),
    "the audio does not contain enough clear speech": (NOT_CLEAR, Concern.CLIP),
    "fileurl could not be downloaded": (NOT_DOWNLOADED, Concern.CLIP),
    "fileurl must be a public http(s) url": (NOT_PUBLIC, Concern.CLIP),
    "fileurl must not contain non-ascii characters": (UNREADABLE_LINK, Concern.CLIP),
    "fileurl must not contain spaces": (UNREADABLE_LINK, Concern.CLIP),
    "fileurl is required": (NO_LINK, Concern.CLIP),
    "insufficient balance": (NO_BALANCE, Concern.ACCOUNT),
    "invalid api key": (KEY_REFUSED, Concern.ACCOUNT),
    "this api key may not use soundcloning": (KEY_NOT_ALLOWED, Concern.ACCOUNT),
    "too many requests": (TOO_MANY_REQUESTS, Concern.SERVICE),
    "internal error": (SERVICE_BROKE, Concern.SERVICE),
    "task not found": (TASK_UNKNOWN, Concern.SERVICE),
}

# Our own messages, stored on tasks by services.py and marked for translation there: translated as they are.
OUR_MESSAGES: frozenset[str] = frozenset(
    value for name, value in vars(services).items() if name.startswith("MESSAGE_") and isinstance(value, str)
)
OUR_ACCOUNT_MESSAGES = frozenset({services.MESSAGE_CREDENTIALS})


def explain(said: str) -> Explanation:
    """The sentence to show for what the service said (or what we stored), in the active language."""
    said = (said or "").strip()
    if not said:
        return Explanation("", Concern.SERVICE, is_known=True)
    if said in OUR_MESSAGES:
        concern = Concern.ACCOUNT if said in OUR_ACCOUNT_MESSAGES else Concern.SERVICE
        return Explanation(gettext(said), concern, is_known=True)
    key = _key(said)
    if key in KNOWN:
        sentence, concern = KNOWN[key]
        return Explanation(str(sentence), concern, is_known=True)
    return Explanation(
        gettext("The voice service said: “%(text)s”") % {"text": said}, Concern.CLIP, is_known=False
    )


def service_message(said: str) -> str:
    """Just the sentence: a known text translated, an unknown one as "The voice service said: “…”"."""
    return explain(said).text


def _key(said: str) -> str:
    return " ".join(said.split()).rstrip(".").casefold()


def service_status_label(raw_status: str) -> str:
    """The label of one of the service's four statuses in the reader's language; "" for another."""
    status = client.STATUS_MAP.get((raw_status or "").strip().lower())
    return str(status.label) if status else ""
