"""A URL for tests/supervision/test_logs.py: a view that logs, under the real middleware."""

import logging

from django.http import HttpResponse
from django.urls import path


def logs_a_line(request, conversation_id: int):
    logging.getLogger("parley.test").info("looked at a conversation")
    return HttpResponse("ok")


urlpatterns = [path("c/<int:conversation_id>/", logs_a_line)]
