"""The demo data: loaddemo installs the DIY marketplace flow, idempotently."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from agents.models import AgentProfile
from bots.models import Flow, FlowVersion
from chat.models import Site
from routing.models import Queue
from tests.bots.conftest import Chat

pytestmark = pytest.mark.django_db


def test_loaddemo_installs_the_flow_once_and_staffs_its_queues():
    call_command("loaddemo")
    call_command("loaddemo")
    flow = Flow.objects.get(slug="diy-marketplace")
    assert FlowVersion.objects.filter(flow=flow).count() == 1
    site = Site.objects.get(key="demo-diy-shop")
    assert site.default_flow == flow
    assert set(Queue.objects.values_list("name", flat=True)) >= {
        "General", "Orders", "Returns", "Product advice",
    }  # fmt: skip
    alice = AgentProfile.objects.get(user__username="alice")
    assert {"orders", "returns", "products", "technical"} <= set(alice.skills)
    assert set(alice.queues.values_list("name", flat=True)) >= {"Orders", "Returns"}


def test_loaddemo_leaves_an_edited_flow_alone():
    call_command("loaddemo")
    flow = Flow.objects.get(slug="diy-marketplace")
    flow.draft["nodes"]["greet"]["text"]["en"] = "Edited"
    flow.save()
    call_command("loaddemo")
    flow.refresh_from_db()
    assert flow.draft["nodes"]["greet"]["text"]["en"] == "Edited"


@pytest.mark.parametrize(
    ("steps", "queue", "collected"),
    [
        (
            [("A product", "product"), ("Plumbing", "plumbing"), ("bo@example.com", None),
             ("which pipe fits my sink, can you advise me", None)],
            "Product advice",
            {"product_category": "plumbing", "intent": "product_advice"},
        ),
        (
            [("Something else", "other"), ("bo@example.com", None),
             ("I want to return the sander and get a refund", None)],
            "Returns",
            {"intent": "return_refund"},
        ),
        (
            [("Something else", "other"), ("skip", None), ("no", None), ("nope", None),
             ("blue elephants", None), ("purple giraffes", None)],
            "General",
            {"intent": None},
        ),
    ],
)  # fmt: skip
def test_demo_branches_reach_their_queue(demo_flow, steps, queue, collected):
    chat = Chat(demo_flow)
    for body, choice in steps:
        chat.send(body, choice=choice)
    assert chat.conversation.status == "queued", [m.body for m in chat.bot_messages()]
    assert chat.conversation.queue.name == queue
    for key, value in collected.items():
        assert chat.session.attributes[key] == value


def test_demo_self_service_answer_ends_with_csat(demo_flow):
    chat = Chat(demo_flow, language="de")
    chat.send("Etwas anderes", choice="other")
    chat.send("kim@example.de")
    replies = chat.send("was kostet der Versand nach Österreich")
    assert replies[-1].data["buttons"][0]["label"] == "Ja, danke"
    chat.send("Ja, danke", choice="yes")
    chat.send("5", choice="5")
    assert chat.conversation.status == "resolved"
    assert chat.session.attributes["csat"] == 5
