"""Variants that learn: Thompson sampling on the flow's goal.

Each variant of a node keeps two counts per flow: how many sessions were shown it and how
many of those reached the goal. To pick, draw once from each variant's Beta(1 + converted,
1 + shown - converted) posterior and show the highest draw: a variant is chosen as often as
it is likely to be the best, so exploration fades by itself as the evidence grows.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from django.db.models import F

from bots.models import Flow, VariantStat

_rng = random.Random()


def thompson_choose(counts: dict[str, tuple[int, int]], *, rng: random.Random | None = None) -> str:
    """The variant id with the highest posterior draw; counts are {id: (shown, converted)}."""
    rng = rng or _rng
    best, best_draw = None, -1.0
    for variant_id, (shown, converted) in counts.items():
        converted = min(converted, shown)
        draw = rng.betavariate(1 + converted, 1 + shown - converted)
        if draw > best_draw:
            best, best_draw = variant_id, draw
    if best is None:
        raise ValueError("No variants to choose from.")
    return best


def variant_pick(
    *, flow: Flow, node_id: str, variant_ids: list[str], rng: random.Random | None = None
) -> str:
    """Choose a variant for one session and count it as shown."""

    def read() -> dict[str, tuple[int, int]]:
        rows = VariantStat.objects.filter(flow=flow, node=node_id, variant__in=variant_ids)
        return {v: (shown, converted) for v, shown, converted in
                rows.values_list("variant", "shown", "converted")}  # fmt: skip

    counts = read()
    if len(counts) < len(variant_ids):
        VariantStat.objects.bulk_create(
            [VariantStat(flow=flow, node=node_id, variant=v) for v in variant_ids
             if v not in counts],
            ignore_conflicts=True,  # first use of a variant: concurrent sessions may race
        )  # fmt: skip
        counts = read()
    chosen = thompson_choose({v: counts.get(v, (0, 0)) for v in variant_ids}, rng=rng)
    # F() increments: concurrent sessions on other conversations never lose a count.
    VariantStat.objects.filter(flow=flow, node=node_id, variant=chosen).update(shown=F("shown") + 1)
    return chosen


def variants_convert(*, flow: Flow, picks: Iterable[tuple[str, str]]) -> int:
    """Count a conversion for each (node, variant) a session was shown. The caller makes
    sure this runs once per session (BotSession.goal_reached_at)."""
    updated = 0
    for node_id, variant_id in picks:
        updated += VariantStat.objects.filter(flow=flow, node=node_id, variant=variant_id).update(
            converted=F("converted") + 1
        )
    return updated
