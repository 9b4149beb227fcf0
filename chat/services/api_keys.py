"""API keys: created with their secret shown once, scoped per resource, expiring, revoked;
their last use is stored at most once a minute per key, not on every request."""

from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils import timezone

from chat.exceptions import ValidationError
from chat.integration_models import validate_rate_not_zero
from chat.models import SCOPES, ApiKey, Site, hash_api_key
from chat.quotas import Limit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Seconds between two stores of one key's last_used_at (per process, and in the database).
TOUCH_EVERY = 60.0
_touched: dict[int, float] = {}
_touched_lock = threading.Lock()


def api_key_secret_generate() -> tuple[str, str, str]:
    """A new raw key with its prefix and hash; only the hash is ever stored."""
    raw = "pk_" + secrets.token_urlsafe(32)
    return raw, raw[:10], hash_api_key(raw)


def clean_scopes(scopes: object) -> list[str]:
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ValidationError("scopes must be a list of strings.", field="scopes")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationError(f"Unknown scopes: {', '.join(unknown)}.", field="scopes")
    return [s for s in SCOPES if s in scopes]  # canonical order, no duplicates


def clean_rate(rate: str) -> str:
    try:
        Limit.parse("rate", rate)
    except ValueError as exc:
        raise ValidationError(str(exc), field="rate_limit") from exc
    try:
        validate_rate_not_zero(rate)  # the model's own check: admin and the API say the same
    except DjangoValidationError as exc:
        raise ValidationError(exc.messages[0], field="rate_limit") from exc
    return rate.strip()


def _clean_daily(fields: dict) -> None:
    # The model's own bounds (0 would mean none: chat.api.throttles), as admin checks them.
    for name in ("daily_requests", "daily_bytes"):
        if fields.get(name) is None:
            continue
        try:
            ApiKey._meta.get_field(name).run_validators(fields[name])
        except DjangoValidationError as exc:
            raise ValidationError(f"{name}: {exc.messages[0]}", field=name) from exc


def api_key_create(
    *,
    name: str,
    site: Site | None = None,
    scopes: list[str] | None = None,
    owner: AbstractBaseUser | None = None,
    expires_at: datetime | None = None,
    rate_limit: str = "",
    daily_requests: int | None = None,
    daily_bytes: int | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; the raw value is returned once and never stored. No scopes given: all
    of them (the keys made before scopes existed could do everything)."""
    _check_expiry(expires_at)
    _clean_daily({"daily_requests": daily_requests, "daily_bytes": daily_bytes})
    raw, prefix, key_hash = api_key_secret_generate()
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        site=site,
        scopes=list(SCOPES) if scopes is None else clean_scopes(scopes),
        owner=owner,
        expires_at=expires_at,
        rate_limit=clean_rate(rate_limit),
        daily_requests=daily_requests,
        daily_bytes=daily_bytes,
    )
    return key, raw


def _check_expiry(expires_at: datetime | None) -> None:
    """A key that would be dead on arrival is a mistake (a date typed in the past), not a key."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError("expires_at must be in the future.", field="expires_at")


def api_key_update(*, key: ApiKey, **fields) -> ApiKey:
    """Change a key's name, scopes, expiry, owner or limits (never its secret)."""
    allowed = {
        "name",
        "scopes",
        "expires_at",
        "owner",
        "rate_limit",
        "daily_requests",
        "daily_bytes",
        "site",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))}.")
    if "expires_at" in fields:
        _check_expiry(fields["expires_at"])
    if "scopes" in fields:
        fields["scopes"] = clean_scopes(fields["scopes"])
    if "rate_limit" in fields:
        fields["rate_limit"] = clean_rate(fields["rate_limit"] or "")
    _clean_daily(fields)
    for name, value in fields.items():
        setattr(key, name, value)
    key.save(update_fields=[*fields])
    return key


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    """Revoke for good: the key stops working at once; the row stays for the record."""
    if key.revoked_at is None:
        key.is_active = False
        key.revoked_at = timezone.now()
        key.save(update_fields=["is_active", "revoked_at"])
    return key


def api_key_touch(*, key: ApiKey) -> bool:
    """Note that the key was used. Coalesced: at most one UPDATE per key per TOUCH_EVERY
    seconds from each process, and none when another process stored a recent time already.
    Returns whether it wrote."""
    now = time.monotonic()
    with _touched_lock:
        last = _touched.get(key.pk)
        if last is not None and now - last < TOUCH_EVERY:
            return False
        _touched[key.pk] = now
    at = timezone.now()
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=at - timedelta(seconds=TOUCH_EVERY))
    written = bool(ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=at))
    if written:
        key.last_used_at = at  # the request's copy too: GET /me/ shows this very use
    return written


def forget_touches() -> None:
    """Tests: ids repeat across test databases."""
    with _touched_lock:
        _touched.clear()
