"""What a pick found, and the words for why: shared by both ways of picking (the Python
statements in decision._pick and parley_route_pick's answer)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from routing.services import language

CANDIDATES = 5  # ranked candidates recorded with each decision


def candidate_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "agent": row["user_id"],
        "name": row.get("display_name") or f"agent {row['user_id']}",
        "load": row["load"],
        "capacity": row["capacity"],
        "idle_since": row["idle_since"].isoformat() if row.get("idle_since") else None,
    }


def offer_why(winner: dict[str, Any], rows: list[dict[str, Any]], sticky: bool) -> str:
    """Why this agent, in words: the reason on the timeline for both ways of picking."""
    load = f"{winner['load']}/{winner['capacity']} chats"
    if sticky:
        return f"previous agent of this conversation (sticky routing), {load}"
    others = [r for r in rows if r["user_id"] != winner["user_id"]]
    # The ranking stops at the first CANDIDATES rows: past that, "at least".
    eligible = f"{len(rows)}+" if len(rows) >= CANDIDATES else str(len(rows))
    if not others:
        return f"the only eligible agent, {load}"
    runner = others[0]
    if winner["occupancy"] < runner["occupancy"]:
        why = "least occupied"
    elif winner["load"] < runner["load"]:
        why = "as occupied as the next but with fewer chats"
    elif (winner["idle_since"] or dt.datetime.min.replace(tzinfo=dt.UTC)) < (
        runner["idle_since"] or dt.datetime.max.replace(tzinfo=dt.UTC)
    ):
        why = "as occupied as the next, idle longest"
    else:
        why = "tied with the next; lowest agent id"
    return f"{why} of {eligible} eligible agents, {load}"


@dataclass
class Pick:
    """Who got the slot, from either way of picking."""

    rows: list[dict[str, Any]]  # the ranked candidates (sql.CANDIDATE_KEYS)
    agent_id: int | None  # whose chat slot was taken; None: nobody's
    sticky: bool  # the previous agent of the conversation
    excluded: set[int]
    tried: list[dict[str, Any]]
    rule: language.LanguageRule
    speaks: bool | None  # the last pass asked for speakers of the language (None: no rule)


def pick_result(
    rows: list[dict[str, Any]], picked: int | None, sticky: bool, excluded: set[int], *,
    sticky_skipped: int | None, rule: language.LanguageRule, speaks: bool | None,
) -> Pick:  # fmt: skip
    """The pick with what was tried first: the previous agent if not eligible now, and the
    better ranked candidates whose last slot another router held or had just filled."""
    tried: list[dict[str, Any]] = []
    if sticky_skipped:
        tried.append({"agent": sticky_skipped, "skipped": "sticky agent not eligible now"})
    if not sticky:
        for row in rows:
            if row["user_id"] == picked:
                break
            tried.append({**candidate_row(row), "skipped": "slot taken by a parallel decision"})
    return Pick(rows, picked, sticky, excluded, tried, rule, speaks)


def speaks_of(rule: language.LanguageRule, phase_filter: str | None, sticky: bool) -> bool | None:
    """Whether the pass that ended the pick asked for speakers of the language; None when
    no rule applied, or the previous agent was picked without one (sticky routing)."""
    if rule.rule == "none" or (sticky and not phase_filter):
        return None
    return bool(phase_filter)
