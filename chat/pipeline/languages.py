"""Who reads which language. Customers: the widget's locale, then the conversation's
settled language. Agents: their profile's languages (agents.AgentProfile, read only)."""

from __future__ import annotations

from django.conf import settings

from chat.models import Conversation, Participant


def base_language(code: str | None) -> str:
    """'fr-CA' → 'fr'; '' for nothing."""
    return (code or "").strip().replace("_", "-").split("-")[0].lower()


def _dedupe(codes) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for c in (base_language(x) for x in codes) if c))


def reader_languages(participant: Participant, conversation: Conversation) -> tuple[str, ...]:
    """The languages a participant reads, preferred first; () when unknown.

    An agent's come from their profile (they may read several: no translation then); a
    customer's from the participant row, kept equal to the conversation's language once
    detection settles it, else the widget's locale.
    """
    if participant.role == Participant.Role.CUSTOMER:
        return _dedupe([participant.language or conversation.language])
    if participant.role == Participant.Role.AGENT:
        profile = getattr(participant.user, "agent_profile", None) if participant.user else None
        profile_langs = list(profile.languages or []) if profile is not None else []
        langs = _dedupe([participant.language, *profile_langs])
        return langs or (base_language(settings.LANGUAGE_CODE),)
    return ()


def sender_language(participant: Participant, conversation: Conversation) -> str:
    """What language a sender most likely writes in, before detection says."""
    langs = reader_languages(participant, conversation)
    if langs:
        return langs[0]
    if participant.role == Participant.Role.CUSTOMER and participant.customer_id:
        return base_language(participant.customer.locale)
    return ""
