from channels.auth import AuthMiddlewareStack
from django.urls import path, re_path

from agents.consumers import AgentConsumer
from chat.origins import SameOriginValidator
from chat.widget_consumer import WidgetConsumer
from supervision.consumers import FloorConsumer


async def no_such_socket(scope, receive, send) -> None:
    """A close before the accept refuses the handshake: daphne answers HTTP 403, as for
    every other refused handshake (an unknown origin, a socket over its cap)."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close"})


websocket_urlpatterns = [
    # The widget runs on customers' sites: its origin is checked against the Site.
    path("ws/widget/", WidgetConsumer.as_asgi()),
    # The console is same-origin and cookie-authenticated: refuse any other origin, scheme
    # and port included (CSWSH; chat/origins.py).
    path("ws/agent/", SameOriginValidator(AuthMiddlewareStack(AgentConsumer.as_asgi()))),
    # The staff's floor dashboard: same-origin and cookie-authenticated, like the console.
    path("ws/floor/", SameOriginValidator(AuthMiddlewareStack(FloorConsumer.as_asgi()))),
    # Any other path: refused at the handshake (HTTP 403). Channels' router raised for it
    # (HTTP 500, and a traceback in the error log for every scanner's probe).
    re_path(r"", no_such_socket),
]
