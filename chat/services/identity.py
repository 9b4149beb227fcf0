"""Who is talking: widget visitors (signed tokens, vouched identities) and API keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.exceptions import AuthenticationFailed, NotFound, PermissionDenied
from chat.models import Customer, Site
from chat.selectors import VISITOR_TOKEN_SALT, customer_get_from_token
from chat.services.validation import clean_locale


def customer_seen(*, customer_id: int, now: dt.datetime | None = None) -> None:
    """The widget is open (a ping, a connect) or was just closed: the timers for a
    customer who left count from here."""
    Customer.objects.filter(pk=customer_id).update(last_seen_at=now or timezone.now())


def visitor_token_issue(*, customer: Customer) -> str:
    return signing.dumps({"c": customer.pk, "s": customer.site_id}, salt=VISITOR_TOKEN_SALT)


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
    if verified:
        existing = Customer.objects.filter(site=site, external_id=external_id).first()
        if existing is not None:
            customer = existing
        elif customer is not None:
            customer.external_id = external_id
            customer.identity_verified = True
    if customer is None:
        customer = Customer(site=site, external_id=external_id if verified else None)
        customer.identity_verified = verified
    if name:
        customer.name = str(name)[:200]
    if email:
        customer.email = str(email)[:254]
    if locale:
        customer.locale = locale
    customer.last_seen_at = timezone.now()
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        # Two tabs identified the same external id at once: the other one won; use it.
        customer = Customer.objects.get(site=site, external_id=external_id)
    return customer, visitor_token_issue(customer=customer)
