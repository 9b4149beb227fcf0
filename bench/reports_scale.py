"""The reports at a million messages: generate 100K conversations and 1M messages on
PostgreSQL with generate_series (seconds, not hours), build the rollups, then time each
report as the reports page and its CSV export run it.

Run it against a database of its own (it empties the conversation tables first, and
refuses a database whose name does not start with ``parley_``):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_super REDIS_URL=redis://127.0.0.1:6379/13 \\
    REDIS_KEY_PREFIX=super SECRET_KEY=bench PARLEY_DATA_DIR=/tmp/super-bench \\
    .venv/bin/python bench/reports_scale.py --conversations 100000 --messages-per-conversation 10

It prints the time to generate, to roll up every day (the backfill; beat's incremental
run is one day of it), and for each report the first call and the median of ``--repeat``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUEUES, AGENTS = 5, 50


def django_setup() -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def generate(cursor, *, conversations: int, per: int, days: int) -> None:
    """Every row in a handful of INSERT ... SELECT over generate_series. Conversation i:
    created ``i % days`` days ago; queue ``(i / days) % 5`` and agent ``(i / days) % 50``
    (every agent and queue on every day); 10% kept by the bot
    (resolved without a queue), 8% abandoned in the queue, the rest assigned and resolved;
    ``per`` messages alternating customer and agent; a bot session for every third, with
    a variant of node ``greet``; a CSAT score for every fifth."""

    def q(sql: str, params=()) -> None:
        cursor.execute(sql, params)  # always formatted: every literal % is written %%

    q("""TRUNCATE chat_message, chat_participant, chat_conversationevent, routing_reservation,
         routing_queueentry, bots_botsession, chat_conversation, chat_customer, chat_site,
         supervision_reportday, supervision_variantday RESTART IDENTITY CASCADE""")
    q("DELETE FROM routing_queue WHERE name LIKE 'bench-q%%'")
    q("DELETE FROM auth_user WHERE username LIKE 'bench-ag%%'")
    q("""DELETE FROM bots_flowversion WHERE flow_id IN
         (SELECT id FROM bots_flow WHERE slug = 'bench-flow')""")
    q("DELETE FROM bots_flow WHERE slug = 'bench-flow'")
    q(
        """INSERT INTO routing_queue (name, priority, is_active, required_skills, language,
         sla_seconds, offer_timeout_seconds, limit_mode, max_waiting, business_hours, timezone,
         agent_lost_grace_seconds, moderation_policy, created_at)
         SELECT 'bench-q' || g, 0, true, '[]', '', 60, 20, 'none', 50, '{}', 'UTC', 120, '', now()
         FROM generate_series(1, %s) g""",
        [QUEUES],
    )
    q(
        """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
         is_staff, is_active, date_joined)
         SELECT '!', false, 'bench-ag' || g, 'Agent', g::text, '', false, true, now()
         FROM generate_series(1, %s) g""",
        [AGENTS],
    )
    q("""INSERT INTO chat_site (name, key, allowed_origins, identity_secret, require_identity,
         moderation_policy, moderate_agent_messages, created_at)
         VALUES ('bench', 'bench-reports', '[]', 'x', false, 'mask', false, now())""")
    q("""INSERT INTO bots_flow (name, slug, description, goal, draft, created_at, updated_at)
         VALUES ('Bench flow', 'bench-flow', '', 'lead_captured', '{}', now(), now())""")
    q("""INSERT INTO bots_flowversion (flow_id, number, graph, published_by, created_at)
         SELECT id, 1, '{}', '', now() FROM bots_flow WHERE slug = 'bench-flow'""")
    q("""CREATE TEMP TABLE ids AS SELECT
           (SELECT min(id) FROM routing_queue WHERE name LIKE 'bench-q%%') AS q0,
           (SELECT min(id) FROM auth_user WHERE username LIKE 'bench-ag%%') AS a0,
           (SELECT id FROM chat_site WHERE key = 'bench-reports') AS site,
           (SELECT v.id FROM bots_flowversion v JOIN bots_flow f ON f.id = v.flow_id
             WHERE f.slug = 'bench-flow') AS version""")
    q(
        """INSERT INTO chat_customer (id, site_id, external_id, identity_verified, name, email,
         locale, attributes, created_at)
         SELECT g, ids.site, NULL, false, 'c' || g, '', '', '{}', now() FROM ids,
         generate_series(1, %s) g""",
        [conversations],
    )
    # The conversation's clock: created, +30 s queued, +(i % 120) s assigned, +5-15 min resolved.
    q(
        """INSERT INTO chat_conversation (id, site_id, customer_id, status, language, priority,
         subject, last_seq, rev, created_at, updated_at, queued_at, assigned_at, resolved_at,
         last_message_at, assignee_id, queue_id)
         SELECT g, ids.site, g,
           CASE WHEN g %% 10 <> 0 AND g %% 12 = 0 THEN 'abandoned' ELSE 'resolved' END,
           '', 0, '', %(per)s, 1, t, t,
           CASE WHEN g %% 10 = 0 THEN NULL ELSE t + interval '30 s' END,
           CASE WHEN g %% 10 = 0 OR g %% 12 = 0 THEN NULL
                ELSE t + interval '30 s' + (g %% 120) * interval '1 s' END,
           CASE WHEN g %% 10 <> 0 AND g %% 12 = 0 THEN NULL
                ELSE t + interval '330 s' + (g %% 600) * interval '1 s' END,
           t,
           CASE WHEN g %% 10 = 0 OR g %% 12 = 0 THEN NULL ELSE ids.a0 + (g / %(days)s) %% %(agents)s END,
           CASE WHEN g %% 10 = 0 THEN NULL ELSE ids.q0 + (g / %(days)s) %% %(queues)s END
         FROM ids, generate_series(1, %(n)s) g,
         LATERAL (SELECT now() - (g %% %(days)s) * interval '1 day'
                  - (g %% 80000) * interval '1 s' AS t) clock""",
        {"per": per, "agents": AGENTS, "queues": QUEUES, "n": conversations, "days": days},
    )
    q("""INSERT INTO chat_participant (id, conversation_id, role, customer_id, user_id,
         delivered_seq, read_seq, language, joined_at)
         SELECT id, id, 'customer', customer_id, NULL, 0, 0, '', created_at FROM chat_conversation""")
    for table in ("chat_customer", "chat_conversation", "chat_participant"):
        q(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    q("""INSERT INTO chat_participant (conversation_id, role, customer_id, user_id,
         delivered_seq, read_seq, language, joined_at)
         SELECT id, 'agent', NULL, assignee_id, 0, 0, '', assigned_at FROM chat_conversation
         WHERE assignee_id IS NOT NULL""")
    # Messages: odd seqs from the customer, even ones from the agent (when there is one).
    q(
        """INSERT INTO chat_message (conversation_id, seq, sender_id, kind, body, body_moderated,
         moderation, moderation_flags, language, language_source, pipeline, data, created_at)
         SELECT c.id, s,
           CASE WHEN s %% 2 = 0 AND a.id IS NOT NULL THEN a.id ELSE c.id END,
           'text', 'message ' || s, '', 'skipped', '[]', '', '', 'done', '{}',
           coalesce(c.assigned_at, c.created_at) + s * interval '20 s'
         FROM chat_conversation c
         LEFT JOIN chat_participant a ON a.conversation_id = c.id AND a.role = 'agent',
         generate_series(1, %s) s""",
        [per],
    )
    q("""INSERT INTO routing_queueentry (conversation_id, queue_id, state, mode, mode_reason,
         priority, queue_priority, skills, language, reason, note, enqueued_at, sla_due_at,
         offers, assigned_at, assigned_agent_id, via, last_nobody_reason, closed_at)
         SELECT id, queue_id, CASE WHEN assignee_id IS NULL THEN 'abandoned' ELSE 'assigned' END,
           'live', '', 0, 0, '[]', '', '', '', queued_at, queued_at + interval '60 s', 1,
           assigned_at, assignee_id, CASE WHEN assignee_id IS NULL THEN '' ELSE 'offer' END, '',
           coalesce(resolved_at, queued_at + interval '300 s')
         FROM chat_conversation WHERE queue_id IS NOT NULL""")
    q("""INSERT INTO bots_botsession (conversation_id, version_id, node, awaiting, retries, state,
         attributes, tags, intent, variants, path, steps, goal_reached_at, created_at, updated_at)
         SELECT c.id, ids.version, 'end', '', 0,
           CASE WHEN c.queue_id IS NULL THEN 'ended' ELSE 'handed_off' END, '{}', '[]', '',
           jsonb_build_object('greet', CASE WHEN c.id %% 2 = 0 THEN 'a' ELSE 'b' END), '[]', 3,
           CASE WHEN c.id %% 7 = 0 THEN c.created_at + interval '1 min' END,
           c.created_at, c.created_at
         FROM chat_conversation c, ids WHERE c.id %% 3 = 0 OR c.queue_id IS NULL""")
    q("""INSERT INTO chat_conversationevent (conversation_id, type, from_status, to_status,
         reason, actor, data, created_at)
         SELECT id, 'csat.submitted', '', '', '', 'bot', jsonb_build_object('score', 1 + (id / 5) %% 5),
           coalesce(resolved_at, created_at)
         FROM chat_conversation WHERE id %% 5 = 0""")
    q("DROP TABLE ids")


def timed(fn, repeat: int) -> tuple[float, float]:
    first = None
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        took = time.perf_counter() - started
        first = took if first is None else first
        samples.append(took)
    return first, statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages-per-conversation", type=int, default=10)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-generate", action="store_true", help="Reuse the data set.")
    args = parser.parse_args()
    django_setup()

    from django.db import connection
    from django.test import RequestFactory

    from supervision import rollups, selectors, views

    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or not str(name).startswith("parley_"):
        raise SystemExit(f"refusing: {name} is not a PostgreSQL database named parley_*")
    if not args.skip_generate:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            generate(cursor, conversations=args.conversations,
                     per=args.messages_per_conversation, days=args.days)  # fmt: skip
            # As production's autovacuum would have (DESIGN.md: a bench without it measures
            # bloat and stale statistics, not the code).
            cursor.execute("VACUUM ANALYZE")
        print(f"generated in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        for table in ("chat_conversation", "chat_message", "routing_queueentry",
                      "bots_botsession", "chat_conversationevent"):  # fmt: skip
            cursor.execute(f"SELECT count(*) FROM {table}")
            print(f"  {table}: {cursor.fetchone()[0]:,} rows")

    today = dt.datetime.now(dt.UTC).date()
    first = today - dt.timedelta(days=args.days)
    started = time.perf_counter()
    rows, day = 0, first
    while day <= today:
        end = min(today, day + dt.timedelta(days=6))
        rows += rollups.rollup_days(first=day, last=end)
        day = end + dt.timedelta(days=1)
    backfill = time.perf_counter() - started
    print(f"rollup backfill, {args.days + 1} days: {backfill:.1f} s ({rows:,} rollup rows)")
    one_day = timed(lambda: rollups.rollup_recent(days=1), 3)
    two_days = timed(lambda: rollups.rollup_recent(days=2), 3)
    print(f"beat's incremental run: today {one_day[1]*1000:.0f} ms, "
          f"today+yesterday {two_days[1]*1000:.0f} ms (median of 3)")  # fmt: skip

    from django.contrib.auth import get_user_model

    staff, _ = get_user_model().objects.get_or_create(
        username="bench-boss", defaults={"is_staff": True, "is_superuser": True}
    )

    def csv_export(group: str) -> None:
        request = RequestFactory().get(
            "/supervision/reports/",
            {"group": group, "from": str(first), "to": str(today), "format": "csv"},
        )
        request.user = staff
        response = views.reports(request)
        assert response.status_code == 200
        b"".join(response.streaming_content)

    cases = [
        (
            f"per {g}, {span} days",
            lambda g=g, f=f: selectors.report_rows(group=g, first=f, last=today),
        )
        for g in ("queue", "agent", "day")
        for span, f in ((args.days, first), (7, today - dt.timedelta(days=6)))
    ]
    cases.append((f"variants, {args.days} days",
                  lambda: selectors.variant_rows(first=first, last=today)))  # fmt: skip
    cases += [
        (f"CSV per {g}, {args.days} days", lambda g=g: csv_export(g)) for g in ("agent", "day")
    ]
    print(f"{'report':<28} {'first ms':>9} {'median ms':>10}")
    for label, fn in cases:
        first_s, median_s = timed(fn, args.repeat)
        print(f"{label:<28} {first_s * 1000:>9.1f} {median_s * 1000:>10.1f}")
    from supervision.floor import floor_snapshot

    first_s, median_s = timed(floor_snapshot, args.repeat)
    print(f"{'floor snapshot':<28} {first_s * 1000:>9.1f} {median_s * 1000:>10.1f}")


if __name__ == "__main__":
    main()
