from channels.auth import AuthMiddlewareStack
from django.urls import path

from agents.consumers import AgentConsumer
from chat.origins import SameOriginValidator
from chat.widget_consumer import WidgetConsumer
from supervision.consumers import FloorConsumer

websocket_urlpatterns = [
    # The widget runs on customers' sites: its origin is checked against the Site.
    path("ws/widget/", WidgetConsumer.as_asgi()),
    # The console is same-origin and cookie-authenticated: refuse any other origin, scheme
    # and port included (CSWSH; chat/origins.py).
    path("ws/agent/", SameOriginValidator(AuthMiddlewareStack(AgentConsumer.as_asgi()))),
    # The staff's floor dashboard: same-origin and cookie-authenticated, like the console.
    path("ws/floor/", SameOriginValidator(AuthMiddlewareStack(FloorConsumer.as_asgi()))),
]
