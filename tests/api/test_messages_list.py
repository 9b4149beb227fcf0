"""GET /conversations/{id}/messages/: filters (seq range, sender type, created time),
seq ordering both ways and cursor pages like the other lists; bad values are 400s."""

from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.utils import timezone

from actions import conversations as conversation_actions
from chat.flows import flows
from chat.models import Message
from tests.api.conftest import key_client, visitor_client
from tests.factories import customer_actor, make_customer, make_site

pytestmark = pytest.mark.django_db


def _world():
    customer = make_customer(site=make_site())
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    client, _ = key_client()
    url = f"/api/v1/conversations/{conversation.pk}/messages/"
    for n in range(3):
        flows.message_send(
            actor=customer_actor(customer),
            conversation_id=conversation.pk,
            body=f"customer {n}",
            client_msg_id=f"c{n}",
        )
        for role in ("system", "bot"):
            posted = client.post(
                url, {"body": f"{role} {n}", "client_msg_id": f"{role}{n}", "as": role},
                format="json",
            )  # fmt: skip
            assert posted.status_code == 201, posted.content
    return customer, conversation, client, url


def _seqs(client, url: str, **params) -> list[int]:
    response = client.get(f"{url}?{urlencode(params, doseq=True)}")
    assert response.status_code == 200, response.content
    return [m["seq"] for m in response.json()["messages"]]


def _walk(client, url: str) -> list[int]:
    seqs: list[int] = []
    while url:
        page = client.get(url).json()
        seqs += [m["seq"] for m in page["messages"]]
        assert page["has_more"] == (page["next"] is not None)
        url = page["next"]
    return seqs


def test_filters_pick_the_messages_the_database_holds():
    _, conversation, client, url = _world()
    rows = list(Message.objects.filter(conversation=conversation).order_by("seq"))
    every = [m.seq for m in rows]
    assert _seqs(client, url) == every
    assert _seqs(client, url, after_seq=every[2]) == every[3:]
    assert _seqs(client, url, before_seq=every[4]) == every[:4]
    assert _seqs(client, url, after_seq=every[1], before_seq=every[5]) == every[2:5]
    by_role = {role: [m.seq for m in rows if m.sender.role == role] for role in
               ("customer", "bot", "system", "agent")}  # fmt: skip
    assert len(by_role["customer"]) == 3 and len(by_role["system"]) == 3
    assert _seqs(client, url, sender_type="customer") == by_role["customer"]
    assert _seqs(client, url, sender_type=["system", "bot"]) == sorted(
        by_role["system"] + by_role["bot"]
    )
    assert _seqs(client, url, sender_type="agent") == []
    # Created time: move the first three back an hour.
    Message.objects.filter(pk__in=[m.pk for m in rows[:3]]).update(
        created_at=timezone.now() - dt.timedelta(hours=1)
    )
    cut = (timezone.now() - dt.timedelta(minutes=30)).isoformat()
    assert _seqs(client, url, until=cut) == every[:3]
    assert _seqs(client, url, since=cut) == every[3:]
    late_customers = [seq for seq in by_role["customer"] if seq in every[3:]]
    assert _seqs(client, url, since=cut, sender_type="customer") == late_customers


def test_cursor_pages_both_orderings_without_gaps_or_repeats():
    _, conversation, client, url = _world()
    every = list(
        Message.objects.filter(conversation=conversation)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert len(every) >= 9
    assert _walk(client, f"{url}?limit=2") == every
    assert _walk(client, f"{url}?limit=4&ordering=-seq") == every[::-1]
    assert _walk(client, f"{url}?limit=2&sender_type=system") == [
        m.seq for m in Message.objects.filter(conversation=conversation, sender__role="system")
    ]
    first = client.get(f"{url}?limit=3").json()
    assert first["previous"] is None and first["has_more"] is True
    second = client.get(first["next"]).json()
    assert client.get(second["previous"]).json()["messages"] == first["messages"]
    # The old resume call keeps its shape: after a seq, in order, has_more at the end.
    tail = client.get(f"{url}?after_seq={every[-2]}").json()
    assert [m["seq"] for m in tail["messages"]] == every[-1:] and tail["has_more"] is False
    assert tail["conversation"]["id"] == conversation.pk


def test_a_customer_lists_only_their_own_conversation():
    customer, conversation, _, url = _world()
    own = visitor_client(customer).get(f"{url}?sender_type=customer&ordering=-seq")
    assert own.status_code == 200
    assert [m["body"] for m in own.json()["messages"]] == [
        "customer 2", "customer 1", "customer 0"
    ]  # fmt: skip
    stranger = visitor_client(make_customer(site=conversation.site))
    assert stranger.get(url).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sender_type": "robot"}, "sender_type"),
        ({"sender_type": "customer\x00"}, "sender_type"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-01-01T00:00:00\x00"}, "until"),
        ({"since": "9999-12-31T23:59:59-14:00"}, "since"),
        ({"before_seq": "0"}, "before_seq"),
        ({"before_seq": str(2**63)}, "before_seq"),
        ({"after_seq": "-1"}, "after_seq"),
        ({"after_seq": "1.5"}, "after_seq"),
        ({"ordering": "created_at"}, "ordering"),
        ({"ordering": "seq\x00"}, "ordering"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": base64.b64encode(b"p=abc").decode()}, "cursor"),
        ({"cursor": base64.b64encode(b"p=1\x00").decode()}, "cursor"),
    ],
)
def test_bad_message_list_parameters_are_400_with_the_field(params, field):
    _, _, client, url = _world()
    response = client.get(f"{url}?{urlencode(params)}")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"].startswith(field), error


def test_a_cursor_from_one_conversation_is_refused_on_another():
    _, _conversation, client, url = _world()
    _, _other, _, other_url = _world()
    page = client.get(f"{url}?limit=2").json()
    cursor = parse_qs(urlsplit(page["next"]).query)["cursor"][0]
    assert client.get(f"{url}?limit=2&cursor={cursor}").status_code == 200
    refused = client.get(f"{other_url}?limit=2&cursor={cursor}")
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "cursor"


def test_one_message_by_its_seq_as_the_list_shows_it():
    customer, conversation, client, url = _world()
    listed = client.get(url).json()["messages"]
    second = listed[1]
    one = client.get(f"{url}{second['seq']}/")
    assert one.status_code == 200, one.content
    assert one.json() == second
    missing = client.get(f"{url}999/")
    assert missing.status_code == 404 and "No message 999" in missing.json()["error"]["message"]
    # The customer reads their own conversation's messages, and no one else's.
    mine = visitor_client(customer).get(f"{url}{second['seq']}/")
    assert mine.status_code == 200 and mine.json()["body"] == second["body"]
    stranger = visitor_client(make_customer(site=conversation.site))
    assert stranger.get(f"{url}{second['seq']}/").status_code == 404
    scoped, _ = key_client(scopes=["conversations:read"])
    assert scoped.get(f"{url}{second['seq']}/").status_code == 403
