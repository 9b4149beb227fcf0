"""GET /conversations/?q=: an integration finds conversations by text: the customer's name,
email or external id, the subject, or what was written; within what the caller may see."""

from __future__ import annotations

import pytest

from actions import conversations as conversation_actions
from chat.flows import flows
from chat.models import Conversation
from tests.api.conftest import key_client
from tests.factories import customer_actor, make_customer, make_site

pytestmark = pytest.mark.django_db
URL = "/api/v1/conversations/"


def _chat(site, text, **customer):
    person = make_customer(site=site, **customer)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(person))
    flows.message_send(actor=customer_actor(person), conversation_id=conversation.pk,
                       body=text, client_msg_id="c1")  # fmt: skip
    return conversation.pk


def ids(answer) -> list[int]:
    assert answer.status_code == 200, answer.content
    return sorted(c["id"] for c in answer.json()["results"])


def test_q_finds_by_customer_subject_and_text_within_the_key_s_site():
    site, other = make_site(), make_site(name="Other shop")
    zoe = _chat(site, "My drill DIY-1234567 is broken", name="Zoé Martin", email="zoe@example.com",
                external_id="u-881")  # fmt: skip
    max_ = _chat(site, "Where is my parcel?", name="Max")
    elsewhere = _chat(other, "My drill DIY-1234567 too", name="Zoé Other")
    api, _ = key_client(site=site)
    assert ids(api.get(URL, {"q": "diy-1234567"})) == [zoe]
    assert ids(api.get(URL, {"q": "zoé MAR"})) == [zoe]  # SQLite folds ASCII case only
    assert ids(api.get(URL, {"q": "zoe@EXAMPLE"})) == [zoe]
    assert ids(api.get(URL, {"q": "u-881"})) == [zoe]
    assert ids(api.get(URL, {"q": "parcel", "status": ["queued"]})) == [max_]
    assert ids(api.get(URL, {"q": "nothing like it"})) == []
    Conversation.objects.filter(pk=max_).update(subject="Refund for order 7781")
    assert ids(api.get(URL, {"q": "ORDER 7781"})) == [max_]
    everywhere, _ = key_client()
    assert ids(everywhere.get(URL, {"q": "diy-1234567"})) == sorted([zoe, elsewhere])


@pytest.mark.parametrize("q", ["x", "y" * 101, "a\x00b"])
def test_a_bad_q_is_a_400_naming_it(q):
    api, _ = key_client()
    answer = api.get(URL, {"q": q})
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "q"
