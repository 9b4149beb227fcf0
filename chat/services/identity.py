"""Who is talking: widget visitors (signed tokens, vouched identities) and API keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from urllib.parse import urlsplit

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.exceptions import AuthenticationFailed, NotFound, PermissionDenied
from chat.models import Customer, Site
from chat.selectors import VISITOR_TOKEN_SALT, customer_get_from_token
from chat.services.conversations import conversation_language_follow
from chat.services.validation import clean_locale


def customer_seen(*, customer_id: int, now: dt.datetime | None = None) -> None:
    """The widget is open (a ping, a connect) or was just closed: the timers for a
    customer who left count from here."""
    Customer.objects.filter(pk=customer_id).update(last_seen_at=now or timezone.now())


def is_own_origin(*, origin: str | None, own_host: str) -> bool:
    """Whether a request comes from a page of Parley's own origin (the widget's frame)."""
    return bool(origin and own_host) and urlsplit(origin).netloc.lower() == own_host.lower()


def embedding_origin(*, origin: str | None, own_host: str, host_origin: str | None) -> str | None:
    """The origin of the page that embeds the widget. A request from the widget's frame
    comes from Parley's own origin (``own_host``) and names the host page's origin, which
    the frame page let only that origin frame (CSP frame-ancestors); any other request's
    Origin header is the embedding page's."""
    if origin and not is_own_origin(origin=origin, own_host=own_host):
        return origin
    return host_origin or origin


def visitor_token_issue(*, customer: Customer) -> str:
    """A token for the customer's current generation (it does not revoke anything)."""
    payload = {"c": customer.pk, "s": customer.site_id, "g": customer.token_generation}
    return signing.dumps(payload, salt=VISITOR_TOKEN_SALT)


def visitor_token_rotate(*, customer: Customer) -> str:
    """A new token that revokes the previous one (after VISITOR_TOKEN_GRACE). The row is
    locked, so two refreshes at once get two generations, never the same one twice."""
    # FOR NO KEY UPDATE: serialises refreshes as well, without holding up the foreign key
    # checks (FOR KEY SHARE) that conversation writers take on the customer at commit.
    locked = (
        Customer.objects.select_for_update(no_key=True).only("token_generation").get(pk=customer.pk)
    )
    customer.token_generation = locked.token_generation + 1
    customer.token_rotated_at = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(
        token_generation=customer.token_generation, token_rotated_at=customer.token_rotated_at
    )
    return visitor_token_issue(customer=customer)


def identity_hash(*, site: Site, external_id: str) -> str:
    """What the integrator's backend computes to vouch for a logged-in customer."""
    return hmac.new(site.identity_secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def visitor_session_create(
    *,
    site_key: str,
    origin: str | None,
    token: str | None = None,
    external_id: str | None = None,
    user_hash: str | None = None,
    name: str | None = None,
    email: str | None = None,
    locale: str | None = None,
) -> tuple[Customer, str]:
    """Start or resume a widget visitor; returns the customer and a fresh signed token.

    An external id counts only when signed with the site's identity secret: an unsigned
    one could be anyone's, so it is refused rather than trusted.
    """
    site = Site.objects.filter(key=site_key).first()
    if site is None:
        raise NotFound("No such site.", code="site_not_found")
    if not site.origin_allowed(origin):
        raise PermissionDenied("This origin may not embed the widget.", code="origin_not_allowed")
    locale = clean_locale(locale)

    verified = False
    if external_id:
        expected = identity_hash(site=site, external_id=external_id)
        if not user_hash or not hmac.compare_digest(expected, str(user_hash)):
            raise AuthenticationFailed(
                "The identity signature is invalid.", code="identity_invalid"
            )
        verified = True
    elif site.require_identity:
        raise AuthenticationFailed(
            "This site requires a verified identity.", code="identity_required"
        )

    customer = None
    if token:
        try:
            customer = customer_get_from_token(token=token)
        except AuthenticationFailed:
            customer = None  # an old or foreign token starts a fresh visitor
        if customer is not None and customer.site_id != site.pk:
            customer = None
        if customer is not None and verified and customer.external_id not in (None, external_id):
            customer = None  # another identified user on the same browser
        if customer is not None and not verified and customer.identity_verified:
            # An identified customer's token on a page that names nobody (after a logout,
            # on a shared computer): a fresh visitor, never their conversations.
            customer = None
    # What this session writes on an existing row, and nothing else: saving every field
    # wrote back a stale copy of what another writer (a CRM's upsert, the pre-chat form)
    # had committed since the row was read.
    fields = ["last_seen_at"]
    if verified:
        existing = Customer.objects.filter(site=site, external_id=external_id).first()
        if existing is not None:
            customer = existing  # made by the CRM (POST /customers/) or an earlier session
        elif customer is not None:
            customer.external_id = external_id
            fields.append("external_id")
        if customer is not None:
            # The signature proves this visitor is that external id, whoever made the row.
            customer.identity_verified = True
            fields.append("identity_verified")
    if customer is None:
        customer = Customer(site=site, external_id=external_id if verified else None)
        customer.identity_verified = verified
    if name:
        customer.name = str(name)[:200]
        fields.append("name")
    if email:
        customer.email = str(email)[:254]
        fields.append("email")
    # The widget reports its locale at every load: a new one (Parley.setLocale, a page in
    # another language) is the customer now reading another language, and their open
    # conversation follows once this commits (docs/protocol.md, "Bot messages").
    relocated = bool(
        customer.pk and customer.locale and locale and locale != customer.locale.lower()
    )
    if locale:
        customer.locale = locale
        fields.append("locale")
    customer.last_seen_at = timezone.now()
    existing_row = customer.pk is not None
    try:
        with transaction.atomic():
            # The token generation is the rotation's alone, like every field not listed.
            customer.save(update_fields=fields if existing_row else None)
    except IntegrityError:
        # Two tabs identified the same external id at once: the other one won; use it.
        customer = Customer.objects.get(site=site, external_id=external_id)
        existing_row = True
    if not existing_row:
        return customer, visitor_token_issue(customer=customer)
    if relocated:
        # After commit, in transactions of its own: it locks the conversation, which must
        # never wait while this one holds the customer's row (a bot step locks the
        # conversation first, then writes the customer: the other order deadlocks).
        customer_id = customer.pk
        transaction.on_commit(
            lambda: conversation_language_follow(customer_id=customer_id, language=locale),
            robust=True,
        )
    # A refresh: the token it replaces (any earlier one) stops working.
    return customer, visitor_token_rotate(customer=customer)
