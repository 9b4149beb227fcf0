"""Pages: the agent console, the demo page carrying the widget (health: supervision)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_safe

from chat.model_checks import SITE_KEY_RE
from chat.models import Site
from chat.names import user_name
from chat.selectors import user_is_agent
from chat.widget_frame import LANG_RE


@require_safe
def home(request):
    return redirect("console" if request.user.is_authenticated else "demo-default")


@require_safe
@login_required
def console(request):
    if not user_is_agent(request.user):
        return HttpResponseForbidden("This account is not an agent.")
    user = request.user
    name = user_name(user)
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


@require_safe
def demo_default(request):
    # The first site whose key can be in a URL: a row saved before keys were checked
    # (SITE_KEY_RE) may hold "a b/c", and reversing that was a 500 here.
    sites = Site.objects.order_by("id").values_list("key", flat=True)
    key = next((k for k in sites.iterator() if SITE_KEY_RE.fullmatch(k)), None)
    if key is None:
        raise Http404("No site yet: run `manage.py loaddemo` or add one in admin.")
    return redirect("demo", site_key=key)


@require_safe
def demo_page(request, site_key: str):
    site = Site.objects.filter(key=site_key).first()
    if site is None:
        raise Http404("No such site.")
    # ?lang=fr plays a French page (the widget follows the page's <html lang>).
    lang = request.GET.get("lang", "en")
    return render(
        request, "demo.html", {"site": site, "page_lang": lang if LANG_RE.fullmatch(lang) else "en"}
    )
