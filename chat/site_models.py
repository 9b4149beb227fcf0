"""The site (a widget installation) and its moderation policy: in their own module for
chat.models' size; models of this app all the same, importable from chat.models."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinLengthValidator, MinValueValidator
from django.db import models

from chat import model_checks
from chat.attachment_files import validate_types
from chat.prechat import validate_prechat_form


def _site_key() -> str:
    # Never a leading "-": the key is typed after options (`flow_import --site KEY`), where
    # argparse would take it for an option (1 key in 32 did).
    while True:
        key = secrets.token_urlsafe(12)
        if key[0].isalnum():
            return key


def _identity_secret() -> str:
    return secrets.token_urlsafe(32)


class ModerationPolicy(models.TextChoices):
    """What happens to a message whose words are on the profanity lists (chat/pipeline)."""

    MASK = "mask", "Mask the words for the recipient"
    FLAG = "flag", "Mask the words and flag the message for a supervisor"
    BLOCK = "block", "Refuse the message and tell the sender why"


class Site(models.Model):
    """A widget installation on a customer-facing website."""

    name = models.CharField(max_length=200)
    key = models.CharField(
        max_length=64,
        unique=True,
        default=_site_key,
        validators=[model_checks.validate_site_key],
        help_text="Public key in the script tag (1-64 letters, digits, - or _). Changing it on "
        "a live site breaks every page that embeds the old key: the widget stops loading there "
        "until each page carries the new one.",
    )
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text='Origins allowed to embed the widget, e.g. ["https://shop.example"]. '
        "Empty allows any origin.",
    )
    identity_secret = models.CharField(
        max_length=128,
        default=_identity_secret,
        validators=[MinLengthValidator(16, "A secret of at least 16 characters.")],
        help_text="HMAC secret your backend uses to sign the customer's external id "
        "(at least 16 characters).",
    )
    require_identity = models.BooleanField(
        default=False, help_text="Refuse customers whose external id is not signed."
    )
    default_queue = models.ForeignKey(
        "routing.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_flow = models.ForeignKey(
        "bots.Flow", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moderation_policy = models.CharField(
        max_length=8,
        choices=ModerationPolicy.choices,
        default=ModerationPolicy.MASK,
        help_text="Profanity in customer messages: mask it, mask and flag it, or block it.",
    )
    prechat_form = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_prechat_form],
        help_text='Asked before the first chat, e.g. {"fields": [{"name": "name", "required": '
        'true}, {"name": "email", "required": true}, {"name": "consent", "required": true, '
        '"label": {"en": "I agree…", "fr": "J\'accepte…"}}, {"name": "order", "type": "text", '
        '"label": "Order number"}]}. Empty: no form.',
    )
    moderate_agent_messages = models.BooleanField(
        default=False, help_text="Apply the same moderation policy to the agents' messages."
    )
    # Which integration events anyone listens to on this site: {"webhooks": [...], "rules":
    # [...]}. Kept by the integrations services (never edited by hand) and read from the row
    # the conversation's lock loads, so a site with no listener pays nothing per event.
    hook_events = models.JSONField(default=dict, blank=True, editable=False)
    translation_glossary = models.JSONField(
        default=list,
        blank=True,
        help_text='Terms never translated (brand and product names), e.g. ["Bricomax", '
        '"PowerDrill 3000"]. Matched as whole words, case-insensitively.',
    )
    languages = models.JSONField(
        default=list,
        blank=True,
        help_text='Languages detected on this site, e.g. ["fr", "de"]; empty: all of '
        "PIPELINE_LANGUAGES. Detection picks only among these (at least two).",
    )
    detection_min_length = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(1000, "At most 1,000 letters.")],
        help_text="Messages shorter than this (letters) are not detected: the sender's "
        "locale is used. Empty: LANGUAGE_DETECTION_MIN_LENGTH.",
    )
    # Attachments (chat/services/attachments.py); empty: the PARLEY settings' defaults.
    attachment_types = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_types],
        help_text='Content types customers and agents may attach, e.g. ["image/png", '
        '"image/jpeg", "application/pdf"]; sniffed from the bytes. Empty: ATTACHMENT_TYPES.',
    )
    attachment_max_bytes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1, "At least 1 byte (0 attachments turns them off).")],
        help_text="Largest attachment in bytes (at most ATTACHMENT_MAX_BYTES_CEILING). "
        "Empty: ATTACHMENT_MAX_BYTES.",
    )
    attachment_max_count = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        # A message's API request lists at most 100 attachments (chat.api.serializers).
        validators=[MaxValueValidator(100, "At most 100 attachments per message.")],
        help_text="Attachments per message (0 to 100). Empty: ATTACHMENT_MAX_COUNT; 0 turns "
        "attachments off.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        model_checks.origin_list(self.allowed_origins, "allowed_origins")
        model_checks.at_most(self.attachment_max_bytes, settings.PARLEY["ATTACHMENT_MAX_BYTES_CEILING"],
                             "attachment_max_bytes", "ATTACHMENT_MAX_BYTES_CEILING")  # fmt: skip

    def origin_allowed(self, origin: str | None) -> bool:
        if not self.allowed_origins:
            return True
        return bool(origin) and origin.rstrip("/") in {o.rstrip("/") for o in self.allowed_origins}
