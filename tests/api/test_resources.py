"""The integration resources over REST with an API key: conversations (filters, ordering,
cursor pages, create for a customer, transfer, resolve, reopen), messages (by seq; posted
as system, bot or agent), customers (lookup, update, GDPR export and erase), queues with
live figures, agents with presence."""

from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.utils import timezone

from actions import conversations as conversation_actions
from chat.models import Conversation, ConversationEvent, Customer, Message
from routing.models import Queue
from routing.services import conversation_assign
from tests.api.conftest import key_client
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db


def start(customer) -> Conversation:
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    return conversation


def walk(client, url: str) -> list[int]:
    """Follow next links to the end; the ids in order."""
    ids: list[int] = []
    while url:
        page = client.get(url).json()
        ids += [row["id"] for row in page["results"]]
        url = page["next"]
    return ids


def test_conversations_come_in_cursor_pages_without_gaps_or_repeats():
    site = make_site()
    made = [start(make_customer(site=site)).pk for _ in range(7)]
    client, _ = key_client()
    assert walk(client, "/api/v1/conversations/?limit=2") == sorted(made, reverse=True)
    assert walk(client, "/api/v1/conversations/?limit=3&ordering=id") == sorted(made)
    page = client.get("/api/v1/conversations/?limit=2").json()
    assert len(page["results"]) == 2 and page["previous"] is None and page["next"]
    second = client.get(page["next"]).json()
    assert client.get(second["previous"]).json()["results"] == page["results"]


def test_conversation_filters():
    site, other_site = make_site(), make_site()
    first = make_customer(site=site)
    a = start(first)
    b = start(make_customer(site=other_site))
    conversation_actions.conversation_resolve(actor=customer_actor(first), conversation_id=a.pk)
    client, _ = key_client()

    def ids(**params) -> list[int]:
        response = client.get(f"/api/v1/conversations/?{urlencode(params, doseq=True)}")
        assert response.status_code == 200, response.content
        return [c["id"] for c in response.json()["results"]]

    assert ids(status="resolved") == [a.pk]
    assert ids(status=["resolved", "bot", "queued"]) == [b.pk, a.pk]
    assert ids(site=other_site.pk) == [b.pk]
    assert ids(customer=first.pk) == [a.pk]
    future = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    assert ids(created_after=future) == []
    assert ids(created_before=future) == [b.pk, a.pk]
    # A key limited to one site sees that site only, whatever it asks.
    limited, _ = key_client(site=site)
    assert [c["id"] for c in limited.get("/api/v1/conversations/").json()["results"]] == [a.pk]
    assert limited.get(f"/api/v1/conversations/{b.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ordering": "name"}, "ordering"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"queue": "x"}, "queue"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": base64.b64encode(b"p=abc").decode()}, "cursor"),  # forged position
        ({"cursor": base64.b64encode(b"p=1\x00").decode()}, "cursor"),
        ({"cursor": "Zm9v"}, "cursor"),  # base64 of "foo": decodable, never handed out
        ({"cursor": base64.b64encode(b"p=2026-01-01").decode()}, "cursor"),  # unsigned
    ],
)
def test_bad_list_parameters_are_400_with_the_field(params, field):
    client, _ = key_client()
    response = client.get(f"/api/v1/conversations/?{urlencode(params)}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"].startswith(field)


def test_a_key_creates_a_conversation_for_a_customer_of_its_site():
    site = make_site()
    customer = make_customer(site=site)
    client, key = key_client(site=site)
    created = client.post(
        "/api/v1/conversations/", {"customer": customer.pk, "subject": "Order 7"}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["customer"]["id"] == customer.pk and body["subject"] == "Order 7"
    # The timeline names the key that started it, not the customer (docs/api.md).
    created_event = ConversationEvent.objects.get(conversation_id=body["id"], type="created")
    assert (created_event.actor, created_event.reason) == (f"service:{key.name}", "api")
    again = client.post("/api/v1/conversations/", {"customer": customer.pk}, format="json")
    assert (again.status_code, again.json()["id"]) == (200, body["id"])  # the open one
    stranger = make_customer(site=make_site())
    response = client.post("/api/v1/conversations/", {"customer": stranger.pk}, format="json")
    assert response.status_code == 404
    assert client.post("/api/v1/conversations/", {}, format="json").status_code == 400


def test_a_key_transfers_resolves_and_reopens():
    customer = make_customer()
    agent = make_agent()
    conversation = start(customer)
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    other_queue = Queue.objects.create(name="Billing")
    client, _ = key_client(name="crm")
    url = f"/api/v1/conversations/{conversation.pk}"
    bad = client.post(
        f"{url}/transfer/", {"to_queue": other_queue.pk, "to_agent": agent.pk}, format="json"
    )
    assert bad.status_code == 400
    moved = client.post(
        f"{url}/transfer/", {"to_queue": other_queue.pk, "note": "VIP"}, format="json"
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["queue"]["name"] == "Billing" and moved.json()["status"] != "assigned"
    event = ConversationEvent.objects.filter(
        conversation=conversation, type="routing.transfer"
    ).get()
    assert event.actor == "service:crm" and event.data["note"] == "VIP"
    again = client.post(f"{url}/transfer/", {"to_queue": other_queue.pk}, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_assigned")
    resolved = client.post(f"{url}/resolve/", {"reason": "done in CRM"}, format="json")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    reopened = client.post(f"{url}/reopen/")
    assert reopened.status_code == 200 and reopened.json()["status"] in ("queued", "reopened")
    assert client.post(f"{url}/reopen/").status_code == 409


def test_a_key_posts_as_system_bot_or_a_taking_part_agent_and_lists_by_seq():
    customer = make_customer()
    agent = make_agent()
    conversation = start(customer)
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    client, _ = key_client(name="erp")
    url = f"/api/v1/conversations/{conversation.pk}/messages/"
    sent = {}
    for role, extra in (("system", {}), ("bot", {}), ("agent", {"agent": agent.pk})):
        response = client.post(
            url, {"client_msg_id": role, "body": f"from {role}", "as": role, **extra}, format="json"
        )
        assert response.status_code == 201, response.content
        sent[role] = response.json()["message"]
    assert sent["system"]["kind"] == "system" and sent["bot"]["kind"] == "bot"
    assert sent["agent"]["sender"]["role"] == "agent" and sent["agent"]["kind"] == "text"
    stranger = make_agent()
    response = client.post(
        url,
        {"client_msg_id": "x", "body": "hi", "as": "agent", "agent": stranger.pk},
        format="json",
    )
    assert (response.status_code, response.json()["error"]["field"]) == (400, "agent")
    retry = client.post(
        url, {"client_msg_id": "bot", "body": "from bot", "as": "bot"}, format="json"
    )
    assert retry.status_code == 200 and retry.json()["duplicate"] is True
    page = client.get(url, {"after_seq": sent["system"]["seq"]}).json()
    seqs = [m["seq"] for m in page["messages"]]
    assert seqs == sorted(seqs) and sent["system"]["seq"] not in seqs
    assert {sent["bot"]["seq"], sent["agent"]["seq"]} <= set(seqs)


def test_a_key_sending_a_choice_is_told_only_customers_click_bot_buttons():
    conversation = start(make_customer())
    client, _ = key_client(name="erp")
    url = f"/api/v1/conversations/{conversation.pk}/messages/"
    for n, choice in enumerate((5, "", "x" * 65, "order")):
        response = client.post(
            url, {"client_msg_id": f"c{n}", "body": "x", "choice": choice}, format="json"
        )
        error = response.json()["error"]
        assert (response.status_code, error["code"], error["field"]) == (
            400, "invalid_field", "choice"
        ), choice  # fmt: skip
    assert not Message.objects.filter(conversation=conversation, client_msg_id__startswith="c")


def test_customers_lookup_get_update():
    site = make_site()
    alice = make_customer(site=site, external_id="crm-1", email="a@example.com")
    make_customer(site=site, external_id="crm-2")
    client, _ = key_client(site=site)
    found = client.get("/api/v1/customers/?external_id=crm-1").json()["results"]
    assert [c["id"] for c in found] == [alice.pk]
    assert client.get("/api/v1/customers/?external_id=nobody").json()["results"] == []
    assert client.get(f"/api/v1/customers/{alice.pk}/").json()["email"] == "a@example.com"
    updated = client.patch(
        f"/api/v1/customers/{alice.pk}/",
        {"name": "Alice", "attributes": {"plan": "pro"}},
        format="json",
    )
    assert updated.status_code == 200 and updated.json()["attributes"] == {"plan": "pro"}
    bad = client.patch(f"/api/v1/customers/{alice.pk}/", {"email": "not-an-email"}, format="json")
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "email")
    taken = client.patch(f"/api/v1/customers/{alice.pk}/", {"external_id": "crm-2"}, format="json")
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "external_id_taken")
    elsewhere = make_customer(site=make_site())
    assert client.get(f"/api/v1/customers/{elsewhere.pk}/").status_code == 404


def test_gdpr_export_and_erase():
    site = make_site()
    customer = make_customer(site=site, external_id="crm-9", name="Zoé", email="z@example.com")
    conversation = start(customer)
    conversation_actions.message_send(
        actor=customer_actor(customer),
        conversation_id=conversation.pk,
        body="my card is 4111",
        client_msg_id="m1",
    )
    client, _ = key_client(site=site)
    export = client.get(f"/api/v1/customers/{customer.pk}/export/").json()
    assert export["customer"]["email"] == "z@example.com"
    bodies = [m["body"] for c in export["conversations"] for m in c["messages"]]
    assert "my card is 4111" in bodies
    erased = client.post(f"/api/v1/customers/{customer.pk}/erase/")
    assert erased.status_code == 200 and erased.json()["messages"] >= 1
    customer.refresh_from_db()
    assert (customer.name, customer.email, customer.external_id) == ("", "", None)
    assert not Message.objects.filter(body__contains="4111").exists()
    assert ConversationEvent.objects.filter(
        conversation=conversation, type="customer.erased"
    ).exists()
    again = client.post(f"/api/v1/customers/{customer.pk}/erase/")
    assert again.status_code == 200 and again.json()["messages"] == 0  # idempotent
    after = client.get(f"/api/v1/customers/{customer.pk}/export/").json()
    assert "my card is 4111" not in str(after)


def test_customers_are_not_for_visitors_or_plain_agents(client):
    customer = make_customer()
    from tests.api.conftest import visitor_client

    assert visitor_client(customer).get("/api/v1/customers/").status_code == 403
    client.force_login(make_agent())
    assert client.get("/api/v1/customers/").status_code == 403


def test_queues_show_live_figures():
    customer = make_customer()
    conversation = start(customer)
    conversation.refresh_from_db()
    client, _ = key_client(scopes=["queues:read"])
    rows = client.get("/api/v1/queues/").json()["results"]
    general = next(q for q in rows if q["name"] == "General")
    figures = general["figures"]
    waiting_before = figures["waiting"] + figures["offered"]
    assert set(figures["agents"]) == {"subscribed", "online", "live", "free", "capacity"}
    # No bot on this site: the conversation was queued at once, and waits there.
    assert conversation.status == Conversation.Status.QUEUED
    assert waiting_before == 1 and figures["oldest_wait_seconds"] is not None
    detail = client.get(f"/api/v1/queues/{general['id']}/").json()
    assert detail["figures"]["sla_seconds"] == Queue.objects.get(pk=general["id"]).sla_seconds
    assert client.get("/api/v1/queues/999999/").status_code == 404
    assert client.get("/api/v1/queues/?active=maybe").status_code == 400


def test_agents_show_presence():
    from actions.agents import agent_presence_set

    ana = make_agent("ana")
    bob = make_agent("bob")
    agent_presence_set(actor=agent_actor(ana), status="online")
    client, _ = key_client(scopes=["agents:read"])
    rows = {a["id"]: a for a in client.get("/api/v1/agents/").json()["results"]}
    assert rows[ana.pk]["presence"]["status"] == "online"
    assert rows[bob.pk]["presence"]["status"] == "offline"
    online = client.get("/api/v1/agents/?status=online").json()["results"]
    assert [a["id"] for a in online] == [ana.pk]
    assert client.get(f"/api/v1/agents/{bob.pk}/").json()["name"] == "Bob"
    assert client.get("/api/v1/agents/?status=dancing").status_code == 400


def test_next_links_keep_the_filters():
    site = make_site()
    for _ in range(3):
        start(make_customer(site=site))
    client, _ = key_client()
    page = client.get(
        f"/api/v1/conversations/?limit=1&site={site.pk}&status=bot&status=queued"
    ).json()
    query = parse_qs(urlparse(page["next"]).query)
    assert query["site"] == [str(site.pk)] and query["status"] == ["bot", "queued"]
    assert Customer.objects.filter(site=site).count() == 3


def test_tags_are_added_removed_and_filtered_on():
    site = make_site()
    a = start(make_customer(site=site))
    b = start(make_customer(site=site))
    client, _ = key_client(name="crm")
    tagged = client.post(f"/api/v1/conversations/{a.pk}/tags/", {"add": ["refund", "vip"]})
    assert tagged.status_code == 200 and tagged.json()["tags"] == ["refund", "vip"]
    client.post(f"/api/v1/conversations/{b.pk}/tags/", {"add": ["refund"]})

    def ids(*tags) -> list[int]:
        query = urlencode({"tag": list(tags)}, doseq=True)
        return [c["id"] for c in client.get(f"/api/v1/conversations/?{query}").json()["results"]]

    assert ids("refund") == [b.pk, a.pk]
    assert ids("refund", "vip") == [a.pk]
    assert ids("Refund") == [] and ids("ref") == []  # exact tags, not text search
    changed = client.post(
        f"/api/v1/conversations/{a.pk}/tags/", {"remove": ["vip"], "add": ["paid"]}
    )
    assert changed.json()["tags"] == ["refund", "paid"]
    assert client.get(f"/api/v1/conversations/{a.pk}/").json()["tags"] == ["refund", "paid"]
    event = ConversationEvent.objects.filter(conversation=a, type="tags.changed").last()
    assert event.data == {"added": ["paid"], "removed": ["vip"]} and event.actor == "service:crm"
    for bad in ({"add": ["x" * 41]}, {"add": [""]}, {"add": "refund"}, {"add": [7]}):
        assert client.post(f"/api/v1/conversations/{a.pk}/tags/", bad).status_code == 400, bad
    from tests.api.conftest import visitor_client

    customer = Conversation.objects.get(pk=a.pk).customer
    assert (
        visitor_client(customer)
        .post(f"/api/v1/conversations/{a.pk}/tags/", {"add": ["x"]})
        .status_code
        == 403
    )


def test_a_key_starting_a_conversation_without_its_customer_gets_a_400():
    client, _ = key_client()
    response = client.post("/api/v1/conversations/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "customer"
