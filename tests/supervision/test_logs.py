"""Structured logs: JSON lines carrying the ids bound for the request or the frame, and
never a client-supplied address."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from chat import logcontext


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logcontext.json_formatter())
    logger = logging.getLogger("parley.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_a_request_s_lines_carry_its_id_and_no_forwarded_address(log_lines):
    def view(request):
        logging.getLogger("parley.test").info("handled %s", "it")
        return HttpResponse("ok")

    middleware = logcontext.RequestLogContextMiddleware(view)
    request = RequestFactory().get(
        "/x", HTTP_X_FORWARDED_FOR="6.6.6.6", HTTP_X_REQUEST_ID="proxy-id-12345"
    )
    response = middleware(request)
    spoofed = RequestFactory().get("/x", HTTP_X_REQUEST_ID="bad id\nwith newline")
    second = middleware(spoofed)
    first_line, second_line = log_lines()
    assert first_line["event"] == "handled it"
    assert first_line["level"] == "info" and first_line["logger"] == "parley.test"
    assert first_line["request_id"] == "proxy-id-12345" == response["X-Request-ID"]
    assert "6.6.6.6" not in json.dumps(first_line)
    # An id of the wrong shape is replaced, not logged.
    assert second_line["request_id"] == second["X-Request-ID"] != "bad id\nwith newline"
    assert len(second_line["request_id"]) == 32
    # Nothing stays bound after the request.
    logging.getLogger("parley.test").info("later")
    assert "request_id" not in log_lines()[-1]


def test_a_frame_s_ids_are_bound_while_it_is_handled(log_lines):
    with logcontext.bound(socket="agent", agent=7, conversation=42):
        logging.getLogger("parley.test").warning("frame failed")
    line = log_lines()[0]
    assert (line["socket"], line["agent"], line["conversation"]) == ("agent", 7, 42)
    assert line["level"] == "warning" and "timestamp" in line


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.supervision.log_urls")
def test_a_url_s_conversation_and_the_session_s_user_are_bound(log_lines, client):
    """Through the real middleware stack: a view's line names the conversation and user."""
    user = get_user_model().objects.create_user("ann", password="p")
    client.force_login(user)
    response = client.get("/c/4242/", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert response.status_code == 200
    line = log_lines()[0]
    assert (line["conversation"], line["user"]) == (4242, user.pk)
    assert line["request_id"] == response["X-Request-ID"]
    assert "6.6.6.6" not in json.dumps(line)
    client.logout()
    client.get("/c/7/")
    anonymous = log_lines()[1]
    assert anonymous["conversation"] == 7 and "user" not in anonymous
