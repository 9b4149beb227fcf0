import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models (as get_asgi_application does).
django.setup(set_prefix=False)

from config.deadline import ResponseDeadline  # noqa: E402
from config.http_body import BodyLengthASGIHandler  # noqa: E402

# A stalled database must not hold a request forever: config/deadline.py.
django_asgi_app = ResponseDeadline(BodyLengthASGIHandler())

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from bots.intents import warm_up_in_background  # noqa: E402
from config import gc_tuning, malloc_trim  # noqa: E402
from config.proxies import TrustedProxyMiddleware, parse_networks  # noqa: E402
from config.ws_urls import websocket_urlpatterns  # noqa: E402

# The bots' sentence encoder loads in about a second: not on the first customer's step.
warm_up = warm_up_in_background()
# Thousands of idle sockets make full collections long: config/gc_tuning.py.
gc_tuning.tune()
gc_tuning.freeze_after(warm_up)
# The heap's high-water marks, given back: config/malloc_trim.py.
malloc_trim.start(settings.PARLEY["MALLOC_TRIM_INTERVAL"])

# Outermost, so that everything inside sees the client as the trusted proxies report it.
application = TrustedProxyMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": URLRouter(websocket_urlpatterns),
        }
    ),
    parse_networks(settings.TRUSTED_PROXIES),
)
