"""GDPR erasure from admin (Customers → action): a confirmation page, then the same erase
as the API's; deleting (refused for a customer who wrote anything) is not offered."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from actions import conversations as conversation_actions
from chat.models import Customer, Message
from tests.factories import customer_actor, make_customer

pytestmark = pytest.mark.django_db


def test_a_supervisor_erases_customers_from_admin_after_confirming(client):
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    customer = make_customer(name="Zoé Martin", email="zoe@example.com", external_id="u-9")
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    conversation_actions.message_send(
        actor=customer_actor(customer), conversation_id=conversation.pk,
        body="My address is 1 rue X", client_msg_id="c1",
    )  # fmt: skip
    client.force_login(boss)
    listing = client.get("/admin/chat/customer/")
    assert b'value="erase"' in listing.content
    assert b'value="delete_selected"' not in listing.content
    picked = {"action": "erase", "_selected_action": [customer.pk]}
    confirm = client.post("/admin/chat/customer/", picked)
    assert confirm.status_code == 200 and b"cannot be undone" in confirm.content
    assert Customer.objects.get(pk=customer.pk).email == "zoe@example.com"  # not yet
    done = client.post("/admin/chat/customer/", {**picked, "apply": "1"}, follow=True)
    assert b"1 customer(s) erased" in done.content
    customer.refresh_from_db()
    assert (customer.name, customer.email, customer.external_id) == ("", "", None)
    assert Message.objects.get(conversation=conversation, seq=1).body == "[erased]"
