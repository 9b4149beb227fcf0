"""Pages: the agent console, the demo page carrying the widget, health."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from chat.models import Site
from chat.selectors import user_is_agent
from chat.tasks import WORKER_HEARTBEAT_KEY


def home(request):
    return redirect("console" if request.user.is_authenticated else "demo-default")


@login_required
def console(request):
    if not user_is_agent(request.user):
        return HttpResponseForbidden("This account is not an agent.")
    user = request.user
    name = user.get_full_name() or user.get_username()
    return render(
        request,
        "console.html",
        {
            "heartbeat_interval": settings.PARLEY["HEARTBEAT_INTERVAL"],
            "agent_name": name,
            # Read by static/console/console.js (json_script): who "me" is in payloads.
            "console_config": {
                "userId": user.pk,
                "userName": name,
                "heartbeatInterval": settings.PARLEY["HEARTBEAT_INTERVAL"],
                "wsPath": "/ws/agent/",
                "loginUrl": settings.LOGIN_URL,
                # One socket for all of the agent's tabs (static/parley/client/hub.js).
                "sharedWorkerUrl": static("parley/client/sharedworker.js"),
            },
        },
    )


def demo_default(request):
    site = Site.objects.order_by("id").first()
    if site is None:
        raise Http404("No site yet: run `manage.py loaddemo` or add one in admin.")
    return redirect("demo", site_key=site.key)


def demo_page(request, site_key: str):
    site = Site.objects.filter(key=site_key).first()
    if site is None:
        raise Http404("No such site.")
    return render(request, "demo.html", {"site": site})


def healthz(request):
    """Liveness of the parts: database, Redis, and how fresh the worker heartbeat is."""
    report: dict = {}
    ok = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = "ok"
    except Exception as exc:  # report, don't raise: this page exists for bad days
        report["database"] = f"error: {exc.__class__.__name__}"
        ok = False
    try:
        beat = cache.get(WORKER_HEARTBEAT_KEY)
        report["redis"] = "ok"
        age = None if beat is None else round(time.time() - beat, 1)
        report["worker_heartbeat_age_s"] = age
        report["workers"] = "ok" if age is not None and age < 30 else "stale"
    except Exception as exc:
        report["redis"] = f"error: {exc.__class__.__name__}"
        ok = False
    report["status"] = "ok" if ok else "degraded"
    return JsonResponse(report, status=200 if ok else 503)
