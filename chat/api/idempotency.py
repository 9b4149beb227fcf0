"""``Idempotency-Key`` on every POST: the response to the first request with a key is kept
24 h (IDEMPOTENCY_TTL); a retry with the same key and the same request gets it back
(``Idempotent-Replayed: true``); the same key with another request gets 409
``idempotency_key_reused``; a retry while the first is still running gets 409
``idempotency_in_flight``. Keys belong to their caller (an API key, a visitor, an agent).

The first request claims the key by inserting its row (a unique constraint: of two
concurrent requests, one inserts, the other sees the claim). A server error drops the claim,
so the retry runs again.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http.request import RawPostDataException
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from chat.actors import Actor
from chat.exceptions import Conflict, ValidationError
from chat.models import IdempotencyRecord

HEADER = "Idempotency-Key"


class Replay(Exception):
    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        self.record = record


def principal(request) -> str | None:
    actor = request.auth if isinstance(request.auth, Actor) else None
    if actor is not None and actor.kind == "service":
        return f"api_key:{actor.api_key.pk}"
    if actor is not None and actor.kind == "customer":
        return f"customer:{actor.customer.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and getattr(user, "pk", None):
        return f"user:{user.pk}"
    return None


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.get_full_path().encode() + b"\n")
    try:
        digest.update(request._request.body)  # read here, so DRF parses it from this copy
    except RawPostDataException:
        # A session's CSRF check read a multipart body as a stream before this (Django keeps
        # no copy then): fingerprint what it parsed, the fields and each file's bytes.
        raw = request._request
        for name, values in sorted(raw.POST.lists()):
            digest.update(f"{name}={values!r}\n".encode())
        for name, upload in sorted(raw.FILES.items()):
            digest.update(f"{name}:{upload.name}:{upload.size}\n".encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def _clean_key(raw: str) -> str:
    if not 1 <= len(raw) <= 255 or not raw.isascii() or not raw.isprintable():
        raise ValidationError(
            "Idempotency-Key must be 1-255 printable ASCII characters.", field=HEADER
        )
    return raw


def claim(request) -> IdempotencyRecord | None:
    """Claim the request's key, or raise Replay / Conflict. None without a key."""
    raw = request.headers.get(HEADER)
    who = principal(request)
    if raw is None or who is None:
        return None
    key = _clean_key(raw)
    fingerprint = _fingerprint(request)
    ttl = timedelta(seconds=settings.PARLEY["IDEMPOTENCY_TTL"])
    IdempotencyRecord.objects.filter(
        principal=who, key=key, created_at__lt=timezone.now() - ttl
    ).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(principal=who, key=key, fingerprint=fingerprint)
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.filter(principal=who, key=key).first()
    if record is None:  # expired and purged between the two statements: a fresh start
        return claim(request)
    if record.fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used for another request.", code="idempotency_key_reused"
        )
    if record.status == 0:
        raise Conflict(
            "A request with this Idempotency-Key is still running; retry shortly.",
            code="idempotency_in_flight",
        )
    raise Replay(record)


def store(record: IdempotencyRecord, response, redact: tuple[str, ...] = ()) -> None:
    """Keep the response for retries; a server error frees the key instead. ``redact``:
    top-level fields never stored (an API key's secret: a replay answers null for it)."""
    if response.status_code >= 500:
        IdempotencyRecord.objects.filter(pk=record.pk, status=0).delete()
        return
    # As the renderer will send it: views may answer with datetimes and the like.
    body = json.loads(json.dumps(response.data, cls=JSONEncoder))
    if redact and isinstance(body, dict):
        body.update({name: None for name in redact if name in body})
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status=response.status_code, response=body
    )


def release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, status=0).delete()


def replayed(record: IdempotencyRecord) -> Response:
    response = Response(record.response, status=record.status)
    response["Idempotent-Replayed"] = "true"
    return response


def purge(*, now=None) -> int:
    """Drop the records past their TTL (a beat task)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.PARLEY["IDEMPOTENCY_TTL"])
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
