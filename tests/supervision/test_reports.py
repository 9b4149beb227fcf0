"""Reports: exact figures on a small fixed data set, the rollups idempotent, CSV streamed."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from bots.models import BotSession, Flow, FlowVersion
from chat.models import Conversation, ConversationEvent, Message, Participant
from routing.models import Queue, QueueEntry
from supervision import rollups, selectors
from supervision.models import ReportDay
from tests.factories import make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db

D = dt.date(2026, 11, 2)
D2 = dt.date(2026, 11, 3)


def at(day: dt.date, hhmmss: str) -> dt.datetime:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return dt.datetime.combine(day, dt.time(h, m, s), tzinfo=dt.UTC)


class World:
    def __init__(self) -> None:
        self.qa = Queue.objects.create(name="A", sla_seconds=60)
        self.qb = Queue.objects.create(name="B", sla_seconds=120)
        self.ann = make_agent("ann")
        self.bob = make_agent("bob")
        self.site = make_site(default_queue=self.qa)
        flow = Flow.objects.create(name="Greeter", slug="greeter")
        self.version = FlowVersion.objects.create(flow=flow, number=1, graph={})
        self.flow = flow

    def conversation(self, day, *, queue=None, agent=None, status, queued=None, assigned=None,
                     first_reply=None, resolved=None, entry=None, bot=None, csat=None):  # fmt: skip
        customer = make_customer(site=self.site)
        created = at(day, "08:00:00")
        c = Conversation.objects.create(
            site=self.site,
            customer=customer,
            status=status,
            queue=queue,
            assignee=agent,
            queued_at=queued and at(day, queued),
            assigned_at=assigned and at(day, assigned),
            resolved_at=resolved and at(day, resolved),
        )
        Conversation.objects.filter(pk=c.pk).update(created_at=created)
        cust = Participant.objects.create(conversation=c, role="customer", customer=customer)
        seq = 1
        Message.objects.create(conversation=c, seq=seq, sender=cust, body="hi")
        if first_reply:
            part = Participant.objects.create(conversation=c, role="agent", user=agent)
            for offset in (0, 30):  # a second reply later: only the first counts
                seq += 1
                m = Message.objects.create(conversation=c, seq=seq, sender=part, body="hello")
                Message.objects.filter(pk=m.pk).update(
                    created_at=at(day, first_reply) + dt.timedelta(seconds=offset)
                )
        if entry:
            state, _due = entry
            QueueEntry.objects.create(
                conversation=c,
                queue=queue,
                state=state,
                enqueued_at=at(day, queued),
                sla_due_at=at(day, queued) + dt.timedelta(seconds=queue.sla_seconds),
                assigned_at=assigned and at(day, assigned),
                assigned_agent=agent if state == "assigned" else None,
            )
        if bot:
            state, variant, goal = bot
            s = BotSession.objects.create(
                conversation=c,
                version=self.version,
                node="end",
                state=state,
                variants={"greet": variant},
                goal_reached_at=at(day, "08:01:00") if goal else None,
            )
            BotSession.objects.filter(pk=s.pk).update(created_at=created)
        if csat:
            ConversationEvent.objects.create(
                conversation=c, type="csat.submitted", data={"score": csat, "source": "bot"}
            )
        return c


@pytest.fixture
def world() -> World:
    w = World()
    A, B = w.qa, w.qb
    w.conversation(D, queue=A, agent=w.ann, status="resolved", queued="10:00:00",
                   assigned="10:00:30", first_reply="10:00:40", resolved="10:10:30",
                   entry=("assigned", None), csat=5)  # fmt: skip
    w.conversation(D, queue=A, agent=w.ann, status="resolved", queued="11:00:00",
                   assigned="11:02:00", first_reply="11:02:20", resolved="11:07:00",
                   entry=("assigned", None), csat=3)  # fmt: skip
    w.conversation(D, queue=A, status="abandoned", queued="11:30:00", entry=("abandoned", None))
    w.conversation(D, queue=B, agent=w.bob, status="assigned", queued="12:00:00",
                   assigned="12:01:00", first_reply="12:01:30", entry=("assigned", None))  # fmt: skip
    w.conversation(D, status="resolved", resolved="08:02:00", bot=("ended", "a", True))
    w.conversation(D, queue=A, agent=w.ann, status="resolved", queued="13:00:00",
                   assigned="13:00:10", first_reply="13:00:20", resolved="13:05:10",
                   entry=("assigned", None), bot=("handed_off", "b", False))  # fmt: skip
    w.conversation(D2, queue=B, agent=w.bob, status="resolved", queued="09:00:00",
                   assigned="09:00:05", first_reply="09:00:15", resolved="09:01:05",
                   entry=("assigned", None), csat=4)  # fmt: skip
    # A customer who left the queue: not in the SLA figures.
    w.conversation(D2, queue=B, status="resolved", queued="10:00:00", entry=("cancelled", None))
    rollups.rollup_days(first=D, last=D2)
    return w


def report_api_rows(agent, queue) -> list[dict]:
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client = Client()
    client.force_login(user)
    url = f"/api/v1/reports/agents/?queue={queue.pk}&from={D}&to={D}"
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["rows"]


def by_name(rows):
    return {row["name"]: row for row in rows}


def test_per_queue(world):
    rows = by_name(selectors.report_rows(group="queue", first=D, last=D2))
    assert rows["A"] | {"key": 0} == {
        "key": 0, "name": "A", "conversations": 4, "resolved": 3, "abandoned": 1,
        "resolution_rate": 0.75, "first_response_avg_s": 66.7, "handle_avg_s": 400.0,
        "sla_attainment": 0.5, "sla_count": 4, "bot_containment": 0.0, "csat_avg": 4.0, "csat_count": 2,
    }  # fmt: skip
    assert rows["B"] | {"key": 0} == {
        "key": 0, "name": "B", "conversations": 3, "resolved": 2, "abandoned": 0,
        "resolution_rate": 0.6667, "first_response_avg_s": 52.5, "handle_avg_s": 60.0,
        "sla_attainment": 1.0, "sla_count": 2, "bot_containment": None, "csat_avg": 4.0, "csat_count": 1,
    }  # fmt: skip
    assert rows["(no queue)"] == {
        "key": 0, "name": "(no queue)", "conversations": 1, "resolved": 1, "abandoned": 0,
        "resolution_rate": 1.0, "first_response_avg_s": None, "handle_avg_s": None,
        "sla_attainment": None, "sla_count": 0, "bot_containment": 1.0, "csat_avg": None, "csat_count": 0,
    }  # fmt: skip


def test_per_agent_and_per_day(world):
    agents = by_name(selectors.report_rows(group="agent", first=D, last=D2))
    ann, bob, nobody = agents["Ann"], agents["Bob"], agents["(unassigned)"]
    assert (ann["conversations"], ann["resolved"], ann["first_response_avg_s"]) == (3, 3, 66.7)
    assert (ann["handle_avg_s"], ann["sla_attainment"], ann["csat_avg"]) == (400.0, 0.6667, 4.0)
    assert (bob["conversations"], bob["resolved"], bob["first_response_avg_s"]) == (2, 1, 52.5)
    assert (bob["sla_attainment"], bob["csat_avg"], bob["csat_count"]) == (1.0, 4.0, 1)
    assert (nobody["conversations"], nobody["abandoned"], nobody["sla_attainment"]) == (3, 1, 0.0)
    assert nobody["bot_containment"] == 1.0
    days = by_name(selectors.report_rows(group="day", first=D, last=D2))
    assert days[D.isoformat()]["conversations"] == 6
    assert days[D2.isoformat()]["conversations"] == 2
    assert days[D.isoformat()]["sla_attainment"] == round(3 / 5, 4)
    # A range is a range: the second day alone.
    only = selectors.report_rows(group="queue", first=D2, last=D2)
    assert [(r["name"], r["conversations"]) for r in only] == [("B", 2)]


def test_variants(world):
    rows = selectors.variant_rows(first=D, last=D2)
    assert rows == [
        {"flow": "Greeter", "node": "greet", "variant": "a", "sessions": 1, "converted": 1,
         "conversion_rate": 1.0},
        {"flow": "Greeter", "node": "greet", "variant": "b", "sessions": 1, "converted": 0,
         "conversion_rate": 0.0},
    ]  # fmt: skip


def test_rollup_is_idempotent_and_incremental(world):
    snapshot = sorted(ReportDay.objects.values_list("day", "queue_id", "agent_id", "conversations"))
    rollups.rollup_days(first=D, last=D2)
    rollups.rollup_days(first=D2, last=D2)
    again = sorted(ReportDay.objects.values_list("day", "queue_id", "agent_id", "conversations"))
    assert again == snapshot
    world.conversation(D2, queue=world.qb, status="abandoned", queued="11:00:00",
                       entry=("abandoned", None))  # fmt: skip
    rollups.rollup_days(first=D2, last=D2)  # only that day is rebuilt
    rows = by_name(selectors.report_rows(group="queue", first=D, last=D2))
    assert (rows["B"]["conversations"], rows["B"]["abandoned"]) == (4, 1)
    assert rows["A"]["conversations"] == 4


def test_csv_is_streamed_and_staff_only(world, client):
    url = f"/supervision/reports/?group=queue&from={D}&to={D2}&format=csv"
    assert client.get(url).status_code == 302  # to the admin login
    client.force_login(get_user_model().objects.create_user("boss", password="p", is_staff=True))
    response = client.get(url)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["name"] for row in table] == ["(no queue)", "A", "B"]
    assert table[1]["first_response_avg_s"] == "66.7" and table[0]["sla_attainment"] == ""
    page = client.get(f"/supervision/reports/?group=agent&from={D}&to={D2}")
    assert page.status_code == 200 and b"Ann" in page.content
    variants = client.get(f"/supervision/reports/variants.csv?from={D}&to={D2}")
    assert b"greet,a,1,1,1.0" in b"".join(variants.streaming_content)


@pytest.mark.parametrize(
    "query",
    ["group=nope", "from=2026-13-01", "from=2026-11-05&to=2026-11-01", "format=xml"],
)
def test_bad_report_input_is_a_clear_400(client, query):
    client.force_login(get_user_model().objects.create_user("boss", password="p", is_staff=True))
    response = client.get(f"/supervision/reports/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_field"


def test_a_row_s_sla_is_over_its_entries_which_it_counts(world):
    """The probe's row: cat answered an entry in queue A in time, then the conversation went
    on to queue B and bob. Filtered to queue A, cat's row has no conversation (it counts in
    B, with bob) but one entry answered in time: 1.0 over one entry, not 0/0, and the row
    says so."""
    cat = make_agent("cat")
    c = world.conversation(D, queue=world.qb, agent=world.bob, status="assigned",
                           queued="14:00:00", assigned="14:00:20", entry=("assigned", None))  # fmt: skip
    QueueEntry.objects.create(
        conversation=c, queue=world.qa, state="assigned", enqueued_at=at(D, "13:30:00"),
        sla_due_at=at(D, "13:31:00"), assigned_at=at(D, "13:30:30"), assigned_agent=cat,
    )  # fmt: skip
    rollups.rollup_days(first=D, last=D)
    rows = by_name(selectors.report_rows(group="agent", first=D, last=D, queue_id=world.qa.pk))
    row = rows["Cat"]
    assert (row["conversations"], row["resolution_rate"], row["handle_avg_s"]) == (0, None, None)
    assert (row["sla_attainment"], row["sla_count"]) == (1.0, 1)
    totals = selectors.report_totals(first=D, last=D, queue_id=world.qa.pk)
    assert totals["sla_count"] == sum(r["sla_count"] for r in rows.values()) == 5
    # Over the API too, where the schema declares it.
    api_row = next(r for r in report_api_rows(cat, world.qa) if r["name"] == "Cat")
    assert api_row == row
