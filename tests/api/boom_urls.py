"""The project's URLs plus one API view that fails, to test the 500 handler."""

from django.urls import path
from rest_framework.views import APIView

from chat.api.base import ApiView
from config.urls import handler400, handler404, handler500, urlpatterns  # noqa: F401


class Boom(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request):
        raise RuntimeError("boom")


urlpatterns = [path("api/v1/boom/", Boom.as_view()), *urlpatterns]


class BoomPost(APIView):
    """A POST that fails after the Idempotency-Key was claimed."""

    def post(self, request):
        raise RuntimeError("boom")


class BoomPostView(ApiView, BoomPost):
    scope_resource = "conversations"


urlpatterns = [path("api/v1/boom-post/", BoomPostView.as_view()), *urlpatterns]
