"""Supervision's HTTP entry points: health, metrics, the status page, reports and the floor
dashboard's page. Thin: each calls a selector or service and renders."""

from __future__ import annotations

import csv
import datetime as dt

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.db import InterfaceError, OperationalError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.http import require_safe

from chat.exceptions import ValidationError
from chat.models import Site
from supervision import health, selectors, status
from supervision import metrics as scrape
from supervision.models import Incident
from supervision.selectors import user_can_supervise


async def _is_staff(request: HttpRequest) -> bool:
    user = await request.auser()
    return bool(user.is_authenticated and user.is_staff)


@require_safe
async def healthz(request: HttpRequest) -> HttpResponse:
    """django-health-check's checks. A balancer (anyone not staff) gets a plain ``up`` or
    ``degraded`` (200) or ``down`` (503); staff get each component's state and message."""
    components = await health.run_checks()
    state = health.overall(components)
    health.note_state(state, components)
    code = 503 if state == "down" else 200
    if await _is_staff(request):
        response: HttpResponse = JsonResponse(
            {"status": state, "components": components}, status=code
        )
    else:
        response = HttpResponse(state + "\n", content_type="text/plain", status=code)
    add_never_cache_headers(response)
    # health.note_state logged the change; Django would log every probe's 503 again.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if not scrape.scrape_allowed(
        authorization=request.headers.get("Authorization", ""),
        peer=request.META.get("REMOTE_ADDR"),
    ):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(
        scrape.exposition(), content_type="text/plain; version=0.0.4; charset=utf-8"
    )


# --- reports --------------------------------------------------------------------------------
class _Echo:
    """csv.writer writes into this and gets the line back, for a streamed response."""

    def write(self, value: str) -> str:
        return value


def _report_range(request: HttpRequest) -> tuple[dt.date, dt.date]:
    try:
        last = dt.date.fromisoformat(request.GET["to"]) if request.GET.get("to") else None
        first = dt.date.fromisoformat(request.GET["from"]) if request.GET.get("from") else None
    except ValueError as exc:
        raise ValidationError("from and to are dates: YYYY-MM-DD.", field="from") from exc
    return selectors.report_range(first=first, last=last)


def _bad_request(exc: ValidationError) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": exc.code, "message": exc.message, "field": exc.field}}, status=400
    )


def _prefers_html(request: HttpRequest) -> bool:
    """A browser (its Accept puts text/html first) rather than an API client (JSON, or
    ``*/*`` / no Accept at all: those keep the JSON error they always had)."""
    return request.get_preferred_type(["application/json", "text/html"]) == "text/html"


def _report_refused(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Bad report parameters: JSON for an API client (or ?format=csv/json), the reports'
    own page with the reason and the form to fix it for a browser (it was a raw JSON
    page)."""
    if request.GET.get("format", "html") != "html" or not _prefers_html(request):
        return _bad_request(exc)
    return render(
        request,
        "supervision/reports_refused.html",
        {
            **admin.site.each_context(request),
            "title": "Reports",
            "message": exc.message,
            "group": request.GET.get("group", "queue"),
            "groups": list(selectors.GROUPS),
            "first": request.GET.get("from", ""),
            "last": request.GET.get("to", ""),
        },
        status=400,
    )


def _csv_response(filename: str, columns: tuple[str, ...], rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(columns)
        for row in rows:
            yield writer.writerow(["" if row[c] is None else row[c] for c in columns])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_safe
@staff_member_required
def reports(request: HttpRequest) -> HttpResponse:
    """Per queue, agent or day (?group=), over ?from= to ?to=; ?format=csv streams it."""
    group = request.GET.get("group", "queue")
    if group not in selectors.GROUPS:
        return _report_refused(
            request, ValidationError("group is queue, agent or day.", field="group")
        )
    try:
        first, last = _report_range(request)
    except ValidationError as exc:
        return _report_refused(request, exc)
    fmt = request.GET.get("format", "html")
    if fmt == "csv":
        rows = selectors.report_rows(group=group, first=first, last=last)
        return _csv_response(f"parley-{group}-{first}-{last}.csv", selectors.COLUMNS, rows)
    rows = selectors.report_rows(group=group, first=first, last=last)
    variants = selectors.variant_rows(first=first, last=last)
    if fmt == "json":
        return JsonResponse({"group": group, "from": str(first), "to": str(last), "rows": rows,
                             "variants": variants})  # fmt: skip
    if fmt != "html":
        return _bad_request(ValidationError("format is html, csv or json.", field="format"))
    return render(
        request,
        "supervision/reports.html",
        {
            **admin.site.each_context(request),
            "title": "Reports",
            "group": group,
            "groups": list(selectors.GROUPS),
            "first": first,
            "last": last,
            "columns": [selectors.LABELS[c] for c in selectors.COLUMNS[1:]],
            "rows": rows,
            "variant_columns": [selectors.VARIANT_LABELS[c] for c in selectors.VARIANT_COLUMNS],
            "variants": variants,
        },
    )


@require_safe
@staff_member_required
def reports_variants_csv(request: HttpRequest) -> HttpResponse:
    try:
        first, last = _report_range(request)
    except ValidationError as exc:
        return _bad_request(exc)  # a CSV download: its client is not reading a page
    rows = selectors.variant_rows(first=first, last=last)
    return _csv_response(f"parley-variants-{first}-{last}.csv", selectors.VARIANT_COLUMNS, rows)


# --- the favicon ----------------------------------------------------------------------------
@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for on any page without a <link rel=icon> (admin,
    an API's JSON, an error page): the icon in static, never a 404 in the console."""
    response = HttpResponsePermanentRedirect(static("favicon.svg"))
    patch_cache_control(response, public=True, max_age=86400)
    return response


# --- the floor dashboard ------------------------------------------------------------------
@require_safe
@staff_member_required
def floor_page(request: HttpRequest) -> HttpResponse:
    """The live floor (static/floor/): everything arrives over /ws/floor/, nothing polls."""
    if not user_can_supervise(request.user):
        return HttpResponse("The floor is for supervisors.", status=403)
    return render(
        request,
        "supervision/floor.html",
        {
            **admin.site.each_context(request),
            "title": "Floor",
            "floor_config": {
                "wsPath": "/ws/floor/",
                "heartbeatInterval": settings.PARLEY["HEARTBEAT_INTERVAL"],
                "loginUrl": settings.LOGIN_URL,
                "adminConversationUrl": "/admin/routing/routedconversation/",
            },
        },
    )


# --- the public status page -----------------------------------------------------------------
def _incident_shown(incident: dict) -> dict:
    """An incident as the HTML page says it: its status's label and its start as a
    datetime (shown in UTC, then in the reader's own zone by static/status/localtime.js;
    the ISO value stays in the <time datetime> attribute and in ?format=json)."""
    try:
        label = Incident.Status(incident["status"]).label
    except ValueError:
        label = str(incident["status"]).capitalize()
    started = dt.datetime.fromisoformat(incident["started_at"]).astimezone(dt.UTC)
    return {**incident, "status_label": label, "started": started}


@require_safe
async def status_page(request: HttpRequest, site_key: str | None = None) -> HttpResponse:
    """Public: each component up, degraded or down, and the open incidents (?format=json)."""
    site = None
    if site_key is not None:
        try:
            site = await Site.objects.filter(key=site_key).afirst()
        except (OperationalError, InterfaceError):  # the database is down: the whole page
            site_key = None
        if site is None and site_key is not None:
            if request.GET.get("format") != "json" and _prefers_html(request):
                # A reader's browser (a mistyped link): a page, not raw JSON.
                return await sync_to_async(render)(
                    request, "supervision/status_not_found.html", {"site_key": site_key},
                    status=404,
                )  # fmt: skip
            return JsonResponse(
                {"error": {"code": "not_found", "message": "No such site.", "field": None}},
                status=404,
            )
    page = await status.status_page(site=site)
    if request.GET.get("format") == "json":
        response: HttpResponse = JsonResponse(page)
    else:
        shown = {**page, "incidents": [_incident_shown(i) for i in page["incidents"]]}
        response = await sync_to_async(render)(request, "supervision/status.html", {"page": shown})
    add_never_cache_headers(response)
    return response
