"""The widget's frame: the page the one-tag loader (static/parley/widget.js) puts in an
iframe on the host page. It runs on Parley's origin, so the visitor token lives in this
origin's storage where the host page's scripts cannot read it.

The loader names the host page's origin (``origin``); the page may be framed by that origin
only (CSP ``frame-ancestors``), so a page that claims another origin is not rendered by the
browser, and the frame talks to its parent by postMessage to that origin only. Whether the
origin may embed the site's widget at all is the visitor session's check (the frame sends
the origin as ``host_origin``), which says why in the panel when it may not.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.utils import translation
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_safe

from chat.models import Site
from chat.prechat import form_fields
from chat.services.attachments import site_limits
from chat.widget_texts import TEXTS, widget_texts

ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]{1,250}$")
LANG_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")


def frame_language(requested: str) -> str:
    """The supported language closest to the page's or browser's (``fr-CA`` reads ``fr``),
    else the default."""
    if requested and LANG_RE.fullmatch(requested):
        try:
            return translation.get_supported_language_variant(requested.replace("_", "-").lower())
        except LookupError:
            pass
    return translation.get_supported_language_variant("en")


def prechat_config(site: Site, language: str) -> list[dict]:
    """The site's pre-chat fields with their labels in ``language`` (a built-in field
    without its own label gets the catalog's)."""
    out = []
    for field in form_fields(site.prechat_form):
        label = field.get("label")
        if isinstance(label, dict):
            label = label.get(language) or label.get("en") or next(iter(label.values()))
        if not label:
            label = str(TEXTS["prechat_" + field["name"]])
        out.append({
            "name": field["name"], "type": field["type"], "label": label,
            "required": field["required"], "options": field.get("options", []),
        })  # fmt: skip
    return out


@require_safe
@gzip_page  # the texts are most of the page; it carries no secret (BREACH has nothing to find)
@xframe_options_exempt  # framing is governed by the CSP frame-ancestors below
def widget_frame(request):
    site = get_object_or_404(Site, key=request.GET.get("site", "")[:64])
    host_origin = request.GET.get("origin", "")
    if not ORIGIN_RE.fullmatch(host_origin):
        return HttpResponseBadRequest("origin must be the embedding page's origin.")
    language = frame_language(request.GET.get("lang", ""))
    with translation.override(language):
        config = {
            "site": site.key,
            "hostOrigin": host_origin,
            "language": language,
            "bot": site.default_flow_id is not None,
            "title": request.GET.get("title", "")[:80],
            "texts": widget_texts(),
            "prechat": prechat_config(site, language),
            # The widget refuses a pick of more files than this before uploading any.
            "attachmentMaxCount": site_limits(site).max_count,
            # One socket for all of the site's tabs (static/parley/client/tabs.js).
            "sharedWorkerUrl": static("parley/client/sharedworker.js"),
        }
        response = render(
            request,
            "widget/frame.html",
            {"config": config, "language": language, "bidi": translation.get_language_bidi()},
        )
    # The site-wide policy (django-csp) with this page's one difference: the embedding
    # origin may frame it. Setting the header here instead dropped every other directive
    # (script-src, object-src…) from the one page that shows untrusted chat text.
    response._csp_replace = response._csp_replace_ro = {"frame-ancestors": [host_origin]}
    if not getattr(settings, "CONTENT_SECURITY_POLICY", None):  # CSP off: framing still
        response["Content-Security-Policy"] = f"frame-ancestors {host_origin}"
    response["Cache-Control"] = "private, max-age=0"
    response["Referrer-Policy"] = "no-referrer"
    return response
