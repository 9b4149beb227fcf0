"""Telling an owner once that a quota was reached: one notice in admin and one email per
owner, limit and window, however many callers are refused meanwhile."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from chat.models import QuotaNotice
from chat.quotas import Limit

log = logging.getLogger(__name__)

# Windows this process already knows were told: a flood of refusals costs one insert.
_told: dict[tuple, float] = {}
_told_lock = threading.Lock()


def window_start(window: float, now: float | None = None) -> datetime:
    """The start of the fixed window ``now`` falls in (one notice per window)."""
    now = time.time() if now is None else now
    span = max(1.0, window)
    return datetime.fromtimestamp((now // span) * span, tz=UTC)


def owner_notify_once(
    *,
    kind: str,
    owner_id: object,
    limit: Limit,
    message: str,
    recipients: list[str] | None = None,
    window: float | None = None,
    now: float | None = None,
) -> bool:
    """Record a notice and email the owner, unless this (owner, limit, window) was told
    already. Returns whether this call told them. ``window`` (seconds, default the limit's)
    sets how often at most: a per-minute rate need not mail every minute. Safe under
    concurrent callers: the notice's unique constraint lets one insert win."""
    start = window_start(window or limit.window, now)
    memo = (settings.REDIS_KEY_PREFIX, kind, str(owner_id), limit.name, start)
    with _told_lock:
        if memo in _told:
            return False
        if len(_told) > 10_000:
            _told.clear()
        _told[memo] = start.timestamp()
    to = [r for r in (recipients or []) if r] or list(settings.PARLEY["QUOTA_NOTIFY_EMAILS"])
    try:
        with transaction.atomic():
            QuotaNotice.objects.create(
                kind=kind,
                owner_id=str(owner_id),
                limit=limit.name,
                window_start=start,
                message=message,
                emailed_to=to,
            )
    except IntegrityError:
        return False  # another process told them in this window
    if to:
        subject = f"[Parley] {kind} {owner_id} reached its {limit.name} limit"
        transaction.on_commit(lambda: _send(subject, message, to), robust=True)
    return True


def _send(subject: str, message: str, to: list[str]) -> None:
    try:
        send_mail(subject, message, None, to)
    except Exception:  # the notice in admin stands; mail servers fail
        log.exception("could not email the quota notice to %s", to)


def forget_told() -> None:
    """Drop this process's memo (tests: ids and windows repeat across test databases)."""
    with _told_lock:
        _told.clear()
