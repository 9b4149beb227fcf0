"""Variants that learn: the Thompson sampler converges, and the engine counts."""

from __future__ import annotations

import random

import pytest

from bots.models import Flow, VariantStat
from bots.services import thompson_choose, variant_pick, variants_convert
from tests.bots.conftest import Chat, make_flow


def test_the_sampler_converges_on_the_best_variant_of_a_simulated_population():
    """Three wordings with known conversion rates; the sampler only sees outcomes."""
    rates = {"a": 0.04, "b": 0.10, "c": 0.16}
    rng = random.Random(20261122)
    population = random.Random(7)
    counts = {v: [0, 0] for v in rates}
    picks = []
    for _ in range(4000):
        chosen = thompson_choose({v: tuple(c) for v, c in counts.items()}, rng=rng)
        counts[chosen][0] += 1
        if population.random() < rates[chosen]:
            counts[chosen][1] += 1
        picks.append(chosen)
    late = picks[-1000:]
    share = late.count("c") / len(late)
    print(f"\nThompson: share of the best variant in the last 1000 picks {share:.2f}; "
          f"counts {counts}")  # fmt: skip
    assert share >= 0.8
    # The worst variant was tried, but abandoned early.
    assert 10 <= counts["a"][0] <= 400
    # The estimate of the best variant's rate is close to the truth.
    shown, converted = counts["c"]
    assert abs(converted / shown - rates["c"]) < 0.03


def test_the_sampler_explores_while_it_knows_nothing():
    rng = random.Random(1)
    picks = [thompson_choose({"x": (0, 0), "y": (0, 0)}, rng=rng) for _ in range(400)]
    assert 150 <= picks.count("x") <= 250
    with pytest.raises(ValueError):
        thompson_choose({}, rng=rng)


VARIANT_GRAPH = {
    "start": "ask",
    "nodes": {
        "ask": {
            "type": "input",
            "attribute": "email",
            "validator": {"type": "email"},
            "text": "Your email?",
            "next": "out",
            "variants": [
                {"id": "plain"},
                {"id": "why", "text": "Your email, so we can write back if we get cut off?"},
            ],
        },
        "out": {"type": "handoff"},
    },
}


@pytest.mark.django_db
def test_db_counts_follow_the_picks_and_conversions():
    flow = make_flow(VARIANT_GRAPH)
    rng = random.Random(3)
    picked = [
        variant_pick(flow=flow, node_id="ask", variant_ids=["plain", "why"], rng=rng)
        for _ in range(20)
    ]
    variants_convert(flow=flow, picks=[("ask", picked[0])])
    stats = {s.variant: s for s in VariantStat.objects.filter(flow=flow)}
    assert stats["plain"].shown + stats["why"].shown == 20
    assert stats["plain"].shown == picked.count("plain")
    assert stats[picked[0]].converted == 1
    assert stats[picked[0]].conversion_rate == pytest.approx(1 / stats[picked[0]].shown)


@pytest.mark.django_db
def test_the_engine_shows_one_variant_per_session_and_converts_on_the_goal():
    flow = make_flow(VARIANT_GRAPH, goal=Flow.Goal.LEAD_CAPTURED)
    chat = Chat(flow)
    picked = chat.session.variants["ask"]
    question = chat.last_bot().body
    assert question == ("Your email?" if picked == "plain" else VARIANT_GRAPH["nodes"]["ask"][
        "variants"][1]["text"])  # fmt: skip
    chat.send("not an email")  # the re-ask keeps the session's variant
    assert chat.session.variants == {"ask": picked}
    assert VariantStat.objects.get(flow=flow, variant=picked).shown == 1
    chat.send("zoe@example.com")
    stat = VariantStat.objects.get(flow=flow, variant=picked)
    assert (stat.shown, stat.converted) == (1, 1)
    assert chat.session.goal_reached_at is not None
    # Only the lead goal converts here: a second conversation that gives no email does not.
    other = Chat(flow)
    other.send("no")
    other.send("no")
    other.send("no")  # handed off without an email
    total = sum(s.converted for s in VariantStat.objects.filter(flow=flow))
    assert total == 1 and sum(s.shown for s in VariantStat.objects.filter(flow=flow)) == 2


@pytest.mark.django_db
def test_a_resolved_goal_converts_only_when_the_bot_resolves():
    graph = {
        "start": "hi",
        "nodes": {
            "hi": {
                "type": "choice",
                "text": "Solved?",
                "buttons": [
                    {"id": "y", "label": "Yes", "next": "bye"},
                    {"id": "n", "label": "No", "next": "out"},
                ],
                "variants": [{"id": "one"}, {"id": "two", "text": "Did that help?"}],
            },
            "bye": {"type": "end", "text": "Bye"},
            "out": {"type": "handoff"},
        },
    }
    flow = make_flow(graph, goal=Flow.Goal.RESOLVED)
    Chat(flow).click("y")
    Chat(flow).click("n")
    stats = VariantStat.objects.filter(flow=flow)
    assert sum(s.shown for s in stats) == 2
    assert sum(s.converted for s in stats) == 1
