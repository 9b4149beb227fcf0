"""Attachments over REST: the upload (multipart) and the file itself.

A file is served only to those who may see it (chat/attachment_selectors.py) or to the
bearer of a signed, unexpired link (chat/attachment_links.py), and always so that no
browser can run it from Parley's origin: its sniffed type (never text/html), nosniff, a
sandboxing Content-Security-Policy, and ``Content-Disposition: attachment`` for anything
but an image.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import FileResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from chat import attachment_links
from chat.api import serializers as s
from chat.api.authentication import actor_for_request
from chat.api.base import ApiView
from chat.attachment_selectors import attachment_get, attachment_get_for_actor
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.services import attachments as attachment_service

ERRORS = {
    400: s.ErrorOut,
    401: s.ErrorOut,
    403: s.ErrorOut,
    404: s.ErrorOut,
    413: s.ErrorOut,
    415: s.ErrorOut,
}
# The multipart envelope around the file (boundaries, headers, the conversation field).
ENVELOPE_BYTES = 64 * 1024
SANDBOX = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _conversation_field(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 0 < number < 2**31:
        raise ValidationError("conversation must be a conversation id.", field="conversation")
    return number


class AttachmentUploadView(ApiView):
    """Upload one file; send its id in a message's ``attachments`` within the TTL of the
    upload (an unsent upload is kept, readable by its uploader only)."""

    scope_resource = "messages"
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": s.AttachmentFileRequest},
        responses={201: s.AttachmentOut, **ERRORS},
        tags=["messages"],
        summary="Upload an attachment (customers, agents, API keys)",
        description="Multipart field `file`, to the conversation in the path. The type is "
        "sniffed from the bytes and checked against the site's allow-list, size and count "
        "limits (docs/api.md, Attachments).",
        operation_id="attachments_upload",
    )
    def post(self, request, conversation_id: int | None = None):
        actor = actor_for_request(request)
        # Refused before the body is read: a huge upload is never spooled to disk.
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        ceiling = settings.PARLEY["ATTACHMENT_MAX_BYTES_CEILING"]
        if length > ceiling + ENVELOPE_BYTES:
            raise attachment_service.TooLarge(
                "The file is larger than this server accepts.", field="file"
            )
        named = _conversation_field(request.data.get("conversation"))
        if conversation_id is None:
            conversation_id = named
        elif named is not None and named != conversation_id:
            raise ValidationError(
                "conversation is the path's; leave it out of the body.", field="conversation"
            )
        attachment = attachment_service.attachment_upload(
            actor=actor, upload=request.FILES.get("file"), conversation_id=conversation_id
        )
        payload = attachment_links.attachment_payload(
            attachment_service.attachments_snapshot([attachment])[0]
        )
        return Response(payload, status=status.HTTP_201_CREATED)


class WidgetAttachmentUploadView(AttachmentUploadView):
    """The widget's door to the same upload (the visitor token; no conversation needed)."""

    @extend_schema(
        request={"multipart/form-data": s.AttachmentUploadRequest},
        responses={201: s.AttachmentOut, **ERRORS},
        tags=["widget"],
        summary="Upload an attachment from the widget (visitor token)",
        operation_id="widget_attachments_upload",
    )
    def post(self, request, conversation_id: int | None = None):
        if actor_for_request(request).kind != "customer":
            raise PermissionDenied(
                "This upload is the widget's (a visitor token); agents and API keys upload "
                "to /api/v1/conversations/{id}/attachments/."
            )
        return super().post(request, conversation_id)


class AttachmentFileView(ApiView):
    """The file or its thumbnail."""

    permission_classes = [AllowAny]  # a signed link is enough; else the caller's access
    throttle_classes: list = []  # a conversation's images load at once

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "variant",
                OpenApiTypes.STR,
                location=OpenApiParameter.PATH,
                enum=list(attachment_links.VARIANTS),
                description="The file itself or its thumbnail (images).",
            ),
            OpenApiParameter("s", OpenApiTypes.STR, description="The link's signature."),
        ],
        # The file's own sniffed type (image/png, application/pdf, text/plain…; a thumbnail
        # is image/webp): any of the types a site may accept, so a range.
        responses={(200, "*/*"): OpenApiTypes.BINARY, **ERRORS},
        tags=["messages"],
        summary="Download an attachment or its thumbnail (signed link or access)",
        operation_id="attachments_file",
    )
    def get(self, request, attachment_id: uuid.UUID, variant: str):
        if variant not in attachment_links.VARIANTS:
            raise NotFound("No such attachment.", code="attachment_not_found")
        problem = attachment_links.link_check(
            str(attachment_id), variant, request.query_params.get("s")
        )
        if problem is None:
            attachment = attachment_get(attachment_id=attachment_id)
        elif request.auth is not None or request.user.is_authenticated:
            attachment = attachment_get_for_actor(
                actor=actor_for_request(request), attachment_id=attachment_id
            )
        elif problem == "attachment_link_expired":
            raise PermissionDenied("This link has expired; reload the conversation.", code=problem)
        else:
            raise PermissionDenied("This link is not valid.", code=problem)
        return _serve(attachment, variant)


def _serve(attachment, variant: str) -> FileResponse:
    if variant == "thumbnail":
        if not attachment.thumbnail:
            raise NotFound("This attachment has no thumbnail.", code="attachment_not_found")
        handle, content_type, inline = attachment.thumbnail, "image/webp", True
        filename = attachment.name.rsplit(".", 1)[0] + ".webp"
    else:
        handle, content_type = attachment.file, attachment.content_type
        inline = attachment.kind == "image"
        filename = attachment.name
    if content_type == "text/plain":
        content_type = "text/plain; charset=utf-8"
    response = FileResponse(handle.open("rb"), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(not inline, filename)
    response["X-Content-Type-Options"] = "nosniff"
    # Set here, so the site-wide policy (django-csp) leaves it alone.
    response["Content-Security-Policy"] = SANDBOX
    response["Cache-Control"] = "private, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "same-site"
    return response
