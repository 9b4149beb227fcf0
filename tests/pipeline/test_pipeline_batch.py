"""The batched pipeline (one task per burst) against the one-by-one path: the same burst
in two identical conversations gives the same stored messages, the same conversation and
the same frames, whichever path each message took."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import Message
from chat.services.pipeline import message_pipeline_process
from chat.services.pipeline_batch import message_pipeline_process_many
from tests.pipeline.helpers import make_chat

pytestmark = pytest.mark.django_db

# Who says what: detected, too short to detect (the sender's locale), profane (the second
# moderation pass masks it), and the customer's first lines (they settle the language).
BURST = [
    ("customer", "Bonjour, je voudrais savoir où en est ma commande"),
    ("agent", "Hello, your order ships tomorrow morning from our warehouse"),
    ("agent", "ok"),
    ("customer", "Bonjour connard, où est ma commande ?"),
    ("customer", "Merci beaucoup pour votre aide, bonne journée à vous"),
    ("agent", "Thank you for waiting, I am checking it with the carrier now"),
]
FIELDS = (
    "seq",
    "language",
    "language_confidence",
    "language_source",
    "pipeline",
    "moderation",
    "body_moderated",
    "moderation_flags",
)


# A customer who writes nothing a detector can be sure of: the conversation's language
# cannot settle on these (settling counts confident detections alone).
UNCLEAR = [
    ("customer", "ok"),
    ("customer", "bench c2a #3 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("customer", "DIY-1234567"),
    ("agent", "Thank you for waiting, I am checking it with the carrier now"),
]


def _say(chat, n: int, tag: str, burst=BURST):
    return [
        (chat.customer_says if who == "customer" else chat.agent_says)(body, f"{tag}{n}.{i}")
        for i, (who, body) in enumerate(burst)
    ]


def _frames(published, chat) -> list:
    out = []
    for group in (chat.customer_group, chat.agent_group):
        for frame in published.frames(group):
            payload = frame.get("message") or {}
            out.append((frame["type"], payload.get("seq"), tuple(frame.get("changed") or ())))
    return out


def _run(published, on_commit, batched: bool, burst=BURST):
    chat = make_chat(locale="fr", agent_languages=["en"])
    published.listen(chat.customer_group, chat.agent_group)
    states, statements = [], []
    # Two bursts: in the first the conversation's language is not settled yet (the
    # customer's lines go one by one), in the second it is (everything may be batched).
    for n in range(2):
        with on_commit(execute=False):
            sent = _say(chat, n, "batch" if batched else "single", burst)
        _frames(published, chat)  # the sends' own frames are not the pipeline's
        ids = [m.pk for m in sent]
        with CaptureQueriesContext(connection) as queries:
            if batched:
                assert message_pipeline_process_many(message_ids=ids) == []
            else:
                for message_id in ids:
                    message_pipeline_process(message_id=message_id)
        statements.append(len(queries))
        chat.refresh()
        stored = Message.objects.filter(pk__in=ids).order_by("seq")
        states.append(
            {
                "messages": [tuple(getattr(m, f) for f in FIELDS) for m in stored],
                "conversation": (
                    chat.conversation.language,
                    bool(chat.conversation.language_settled_at),
                ),
                "frames": _frames(published, chat),
            }
        )
    return states, statements


@pytest.mark.parametrize("engine", ["off"])
def test_a_burst_batched_ends_as_it_does_one_by_one(
    published, on_commit, pipeline_settings, engine
):
    pipeline_settings(TRANSLATION_ENGINE=engine)
    single, single_statements = _run(published, on_commit, batched=False)
    batched, batched_statements = _run(published, on_commit, batched=True)
    assert batched == single
    # ... and the settled burst took the batched path: a load and one UPDATE for the
    # quiet messages instead of seven statements each (the masked one goes alone).
    assert batched_statements[1] < single_statements[1] / 2
    # The bursts exercised both paths: a detected, a fallback and a masked message, and
    # a language settled by the first burst.
    first, second = single
    assert {m[3] for m in second["messages"]} >= {"detected", "fallback"}
    assert "masked" in {m[5] for m in second["messages"]}
    assert first["conversation"] == ("fr", True)
    assert all(m[4] == "done" for state in single for m in state["messages"])


def test_a_batch_leaves_a_message_another_run_finished(published, on_commit, pipeline_settings):
    pipeline_settings(TRANSLATION_ENGINE="off")
    chat = make_chat(locale="fr", agent_languages=["en"])
    with on_commit(execute=False):
        message = chat.agent_says("Hello, your order ships tomorrow morning", "x1")
    message_pipeline_process(message_id=message.pk)
    Message.objects.filter(pk=message.pk).update(language="de")  # an operator's fix since
    assert message_pipeline_process_many(message_ids=[message.pk]) == []
    message.refresh_from_db()
    assert (message.language, message.pipeline) == ("de", "done")


def test_unclear_lines_in_an_unsettled_conversation_are_batched(
    published, on_commit, pipeline_settings
):
    """A customer's lines that no detector is sure of cannot settle the language, so they
    take the batched path too (they went one by one, seven statements each, for as long
    as the customer wrote nothing clearer), and end as they do one by one."""
    pipeline_settings(TRANSLATION_ENGINE="off")
    single, single_statements = _run(published, on_commit, batched=False, burst=UNCLEAR)
    batched, batched_statements = _run(published, on_commit, batched=True, burst=UNCLEAR)
    assert batched == single
    assert all(state["conversation"] == ("fr", False) for state in single)  # never settled
    for state in single:  # the customer's three lines fell back to the widget's locale
        assert [m[3] for m in state["messages"]] == ["fallback"] * 3 + ["detected"]
    assert all(b < s / 2 for b, s in zip(batched_statements, single_statements, strict=True))
