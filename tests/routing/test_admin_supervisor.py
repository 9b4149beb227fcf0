"""Admin for routing: the queue's silence settings, every business-hours problem at once,
and the reassign action offering only the agents who could take the chat (and saying why
one cannot)."""

from __future__ import annotations

import re

import pytest

from agents.models import AgentPresence
from routing.models import Queue
from tests.chat.admin_page import form_data
from tests.factories import make_agent

from .conftest import make_queue, online_agent, waiting

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/routing/routedconversation/"


@pytest.fixture
def admin(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def test_the_queue_page_shows_and_saves_the_silence_delays(admin):
    queue = make_queue(name="Support")
    url = f"/admin/routing/queue/{queue.pk}/change/"
    page = admin.get(url)
    text = page.content.decode()
    assert 'name="silence_nudge_seconds"' in text and 'name="silence_close_seconds"' in text
    assert "Are you still there?" in text  # the help text
    fields = form_data(text)
    fields.update(silence_nudge_seconds=["45"], silence_close_seconds=[""])
    response = admin.post(url, fields)
    assert response.status_code == 302, response.content.decode()[:3000]
    queue.refresh_from_db()
    assert (queue.silence_nudge_seconds, queue.silence_close_seconds) == (45, None)


def test_business_hours_list_every_problem(admin):
    queue = make_queue(name="Support")
    url = f"/admin/routing/queue/{queue.pk}/change/"
    fields = form_data(admin.get(url).content.decode())
    fields["business_hours"] = ['{"mon": [["18:00", "09:00"]], "funday": [], "tue": [["9", "x"]]}']
    page = admin.post(url, fields).content.decode()
    assert "mon: 18:00 is not before 09:00." in page
    assert "Unknown day &#x27;funday&#x27;" in page
    assert "tue: each span is" in page
    assert Queue.objects.get(pk=queue.pk).business_hours == queue.business_hours


@pytest.fixture
def floor():
    queue = make_queue(name="Billing", required_skills=["billing"])
    ok = online_agent(queue, skills=["billing"])
    offline = make_agent("offline", skills=["billing"])
    unskilled = online_agent(queue)
    full = online_agent(queue, skills=["billing"], capacity=1)
    AgentPresence.objects.filter(user=full).update(load=1)
    conversation = waiting(queue)
    return conversation, {"ok": ok, "offline": offline, "unskilled": unskilled, "full": full}


def choices(page: str) -> set[str]:
    select = re.search(r'<select name="agent".*?</select>', page, re.S).group(0)
    return {v for v in re.findall(r'<option value="(\d+)"', select)}


def test_reassign_offers_only_eligible_agents_and_says_why_not(admin, floor):
    conversation, agents = floor
    form = {"action": "reassign", "_selected_action": [conversation.pk]}
    page = admin.post(CHANGELIST, form).content.decode()
    assert choices(page) == {str(agents["ok"].pk)}

    reasons = {
        "offline": "is offline or away",
        "unskilled": "lacks the queue&#x27;s skills (billing)",
        "full": "has no free chat slot",
    }
    for who, reason in reasons.items():
        sent = admin.post(CHANGELIST, {**form, "apply": "1", "agent": agents[who].pk})
        assert reason in sent.content.decode(), who
    AgentPresence.objects.filter(user=agents["ok"]).update(live_until=None)
    sent = admin.post(CHANGELIST, {**form, "apply": "1", "agent": agents["ok"].pk})
    assert "has no console open" in sent.content.decode()
    conversation.refresh_from_db()
    assert conversation.assignee_id is None

    AgentPresence.objects.filter(user=agents["ok"]).update(live_until="2999-01-01T00:00Z")
    done = admin.post(CHANGELIST, {**form, "apply": "1", "agent": agents["ok"].pk}, follow=True)
    assert "1 conversation(s) reassigned." in done.content.decode()
    conversation.refresh_from_db()
    assert conversation.assignee_id == agents["ok"].pk
