"""The floor's Close and Open, and what admin says about a supervisor's actions (a probe):
Open puts back the limit Close replaced; deleting a queue with history, sending back a
conversation that is with the bot or already waiting, each says what is the matter."""

from __future__ import annotations

import pytest

from chat.exceptions import Conflict
from routing.models import Queue
from routing.services.supervise import conversation_requeue, queue_close
from tests.factories import agent_actor, make_agent, make_customer, make_site
from tests.routing.conftest import entry_of, make_queue, waiting

pytestmark = pytest.mark.django_db

Mode = Queue.LimitMode


@pytest.fixture
def boss(django_user_model):
    user = make_agent()
    user.is_superuser = user.is_staff = True
    user.save()
    return user


@pytest.fixture
def admin(client, boss):
    client.force_login(boss)
    return client


def limit(queue: Queue) -> tuple[str, int]:
    queue.refresh_from_db()
    return queue.limit_mode, queue.max_waiting


@pytest.mark.parametrize(
    ("mode", "max_waiting"), [(Mode.NONE, 30), (Mode.FIXED, 30), (Mode.DYNAMIC, 50)]
)
def test_open_restores_exactly_the_limit_close_replaced(boss, mode, max_waiting):
    queue = make_queue(limit_mode=mode, max_waiting=max_waiting)
    queue_close(actor=agent_actor(boss), queue_id=queue.pk)
    assert limit(queue) == (Mode.FIXED, 0) and queue.closed_to_new
    queue_close(actor=agent_actor(boss), queue_id=queue.pk)  # twice: still the first one kept
    queue_close(actor=agent_actor(boss), queue_id=queue.pk, closed=False)
    assert limit(queue) == (mode, max_waiting) and not queue.closed_to_new
    assert (queue.reopen_limit_mode, queue.reopen_max_waiting) == ("", None)
    queue_close(actor=agent_actor(boss), queue_id=queue.pk, closed=False)  # open: no change
    assert limit(queue) == (mode, max_waiting)


def test_a_queue_configured_fixed_at_zero_reads_closed_and_open_makes_it_dynamic(boss):
    """README, the floor's Queues: a limit fixed at 0 is what Close sets, and is closed
    whoever set it; Open, with nothing kept, gives the dynamic limit."""
    queue = make_queue(limit_mode=Mode.FIXED, max_waiting=0)
    assert queue.closed_to_new
    from django.utils import timezone

    from supervision.floor import queue_rows

    assert next(r for r in queue_rows(timezone.now()) if r["id"] == queue.pk)["closed"]
    queue_close(actor=agent_actor(boss), queue_id=queue.pk)
    assert (limit(queue), queue.reopen_limit_mode) == ((Mode.FIXED, 0), "")
    queue_close(actor=agent_actor(boss), queue_id=queue.pk, closed=False)
    assert limit(queue)[0] == Mode.DYNAMIC


def test_a_limit_saved_in_admin_while_closed_stays_when_the_floor_opens(boss, admin):
    from tests.chat.admin_page import form_data

    queue = make_queue(limit_mode=Mode.NONE)
    queue_close(actor=agent_actor(boss), queue_id=queue.pk)
    url = f"/admin/routing/queue/{queue.pk}/change/"
    page = admin.get(url).content.decode()
    assert "the floor&#x27;s Open restores No limit" in page
    fields = form_data(page)
    fields.update(limit_mode=["fixed"], max_waiting=["12"])
    assert admin.post(url, fields).status_code == 302
    queue_close(actor=agent_actor(boss), queue_id=queue.pk, closed=False)
    assert limit(queue) == (Mode.FIXED, 12)


def test_deleting_queues_with_history_says_so_and_deletes_nothing(admin):
    used, unused = make_queue(name="Used"), make_queue(name="Unused")
    waiting(used)
    response = admin.post(
        "/admin/routing/queue/",
        {"action": "delete_selected", "_selected_action": [used.pk, unused.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "Queues with history cannot be deleted (Used)" in page
    assert "Deactivate them instead" in page
    assert "permission to delete" not in page
    # Confirming anyway deletes nothing.
    admin.post(
        "/admin/routing/queue/",
        {"action": "delete_selected", "_selected_action": [used.pk, unused.pk], "post": "yes"},
    )
    assert Queue.objects.filter(pk__in=[used.pk, unused.pk]).count() == 2


def test_sending_back_says_with_the_bot_and_counts_only_real_changes(boss, admin):
    queue = make_queue()
    queued = waiting(queue)  # nobody online: it waits
    before = entry_of(queued)
    customer = make_customer(site=make_site(default_queue=queue))
    from chat.models import Conversation

    with_bot = Conversation.objects.create(site=customer.site, customer=customer)  # status bot
    with pytest.raises(Conflict, match="with the bot"):
        conversation_requeue(actor=agent_actor(boss), conversation_id=with_bot.pk)
    with pytest.raises(Conflict, match="already waiting"):
        conversation_requeue(actor=agent_actor(boss), conversation_id=queued.pk)
    assert entry_of(queued) == before  # its place in line kept
    response = admin.post(
        "/admin/routing/routedconversation/",
        {"action": "requeue", "_selected_action": [with_bot.pk, queued.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert f"#{with_bot.pk}: It is with the bot" in page
    assert f"#{queued.pk}: It is already waiting in the queue." in page
    assert "sent back to the queue." not in page
    assert "Only an open conversation" not in page
