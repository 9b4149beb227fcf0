"""Canned replies' services: personal ones for every agent, shared ones for supervisors,
clear errors for bad input (the console's canned.* frames call these)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from agents.canned import canned_delete, canned_list, canned_save
from agents.models import CannedReply
from chat.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db


def test_personal_and_shared_replies_and_who_may_change_them():
    alice, bob, boss = make_agent("alice_c"), make_agent("bob_c"), make_agent("boss_c")
    boss.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    boss = type(boss).objects.get(pk=boss.pk)  # drop the permission cache
    site = make_site()
    mine = canned_save(actor=agent_actor(alice), shortcut="hi", body="Hi {{customer.name}}")
    assert mine.owner_id == alice.pk
    with pytest.raises(PermissionDenied):
        canned_save(actor=agent_actor(alice), shortcut="team", body="x", shared=True)
    shared = canned_save(
        actor=agent_actor(boss), shortcut="team", body="x", shared=True, site_id=site.pk
    )
    assert shared.owner_id is None and shared.site_id == site.pk
    assert {r["shortcut"] for r in canned_list(actor=agent_actor(bob))} == {"team"}
    assert {r["shortcut"] for r in canned_list(actor=agent_actor(alice))} == {"hi", "team"}
    # Bob may neither edit nor delete Alice's, nor the shared one; the same answer as for
    # a missing id.
    with pytest.raises(NotFound):
        canned_save(actor=agent_actor(bob), reply_id=mine.pk, shortcut="hi", body="mine now")
    with pytest.raises(NotFound):
        canned_delete(actor=agent_actor(bob), reply_id=shared.pk)
    with pytest.raises(Conflict):
        canned_save(actor=agent_actor(alice), shortcut="hi", body="again")
    # The same shortcut is fine for another agent.
    canned_save(actor=agent_actor(bob), shortcut="hi", body="Bob's")
    canned_delete(actor=agent_actor(alice), reply_id=mine.pk)
    assert not CannedReply.objects.filter(pk=mine.pk).exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"shortcut": "has space", "body": "x"}, "shortcut"),
        ({"shortcut": "", "body": "x"}, "shortcut"),
        ({"shortcut": 7, "body": "x"}, "shortcut"),
        ({"shortcut": "ok", "body": "  "}, "body"),
        ({"shortcut": "ok", "body": "x" * 5000}, "body"),
        ({"shortcut": "ok", "body": "x", "title": 3}, "title"),
    ],
)
def test_bad_input_names_its_field(fields, field):
    with pytest.raises(ValidationError) as exc:
        canned_save(actor=agent_actor(make_agent()), **fields)
    assert exc.value.field == field


def test_customers_have_no_canned_replies():
    with pytest.raises(PermissionDenied):
        canned_list(actor=customer_actor(make_customer()))
