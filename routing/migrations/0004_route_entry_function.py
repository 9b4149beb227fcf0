"""The router's decision as one PostgreSQL function (routing/services/router.py).

On PostgreSQL a decision that ends in an offer is one statement: this function locks the
conversation, re-checks the entry, checks business hours, works out who is excluded,
tries the sticky agent, ranks the candidates, takes one chat slot, writes the offer and
its two timeline events, and returns what the caller needs to publish. Anything else
(nobody eligible, a slot race lost on every candidate, a time zone PostgreSQL does not
know) returns {"outcome": "python"} having written nothing, and the Python decision runs
instead; SQLite always runs the Python decision.

It mirrors routing/services/router.py's _decide/_offer/_why statement for statement;
tests/routing/test_router.py runs every rule both ways (ROUTING_SERVER_DECISIONS on and
off). A change to the decision changes both, and this SQL in a new migration
(CREATE OR REPLACE).
"""

from django.conf import settings
from django.db import migrations

ISO = r"""
CREATE OR REPLACE FUNCTION parley_iso(ts timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  -- datetime.isoformat() of an aware UTC datetime: no fraction when it is zero.
  SELECT CASE
    WHEN ts IS NULL THEN NULL
    WHEN extract(microseconds FROM ts)::bigint % 1000000 = 0
      THEN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')
    ELSE to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
  END
$$;

CREATE OR REPLACE FUNCTION parley_queue_open(hours jsonb, tz text, at timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $$
  -- routing.models.Queue.is_open: {"mon": [["09:00", "17:30"]], ...}; {} is 24/7.
  SELECT hours IS NULL OR hours = '{}'::jsonb OR EXISTS (
    SELECT 1
    FROM (SELECT (at AT TIME ZONE tz) AS local) l,
         jsonb_array_elements(coalesce(hours -> ((ARRAY['mon','tue','wed','thu','fri','sat','sun'])
             [extract(isodow FROM l.local)::int]), '[]'::jsonb)) span
    WHERE extract(hour FROM l.local)::int * 60 + extract(minute FROM l.local)::int
          >= split_part(span ->> 0, ':', 1)::int * 60 + split_part(span ->> 0, ':', 2)::int
      AND extract(hour FROM l.local)::int * 60 + extract(minute FROM l.local)::int
          < split_part(span ->> 1, ':', 1)::int * 60 + split_part(span ->> 1, ':', 2)::int
  )
$$;
"""

# The slot's UPDATE (and the sticky agent's lookup) say "load - capacity < 0", not
# "load < capacity": with the latter its
# WHERE implies agents_presence_routing_idx's predicate, and the generic plan a function's
# statement settles on walked that whole partial index filtering on id (1,000 rows, 0.3 ms
# a decision, in bench/routing_sim.py's day) instead of looking the row up by primary key.
ROUTE = r"""
CREATE OR REPLACE FUNCTION parley_route_entry(
    p_entry bigint, p_now timestamptz, p_wall timestamptz, p_skip_locked boolean,
    p_retry_after double precision, p_candidates integer, p_actor text
) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  c chat_conversation%ROWTYPE;
  e routing_queueentry%ROWTYPE;
  q routing_queue%ROWTYPE;
  v_open boolean;
  v_excluded bigint[] := '{}';
  v_tried jsonb := '[]';
  v_skills text[];
  v_lang text;
  v_rows jsonb;
  v_picked bigint;
  v_sticky boolean := false;
  v_w jsonb;
  v_r jsonb;
  v_n integer;
  v_i integer;
  v_why text;
  v_load text;
  v_name text;
  v_res bigint;
  v_expires timestamptz;
  v_attempt integer;
  v_cands jsonb;
BEGIN
  -- The conversation's row lock guards its entry and offers (as in lock_for_decision).
  IF p_skip_locked THEN
    SELECT * INTO c FROM chat_conversation
    WHERE id = (SELECT conversation_id FROM routing_queueentry WHERE id = p_entry)
    FOR UPDATE SKIP LOCKED;
  ELSE
    SELECT * INTO c FROM chat_conversation
    WHERE id = (SELECT conversation_id FROM routing_queueentry WHERE id = p_entry)
    FOR UPDATE;
  END IF;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('outcome', 'skipped', 'code', 'busy_or_missing');
  END IF;
  -- Read after the lock: this statement's snapshot sees what the previous holder committed.
  SELECT * INTO e FROM routing_queueentry WHERE id = p_entry;
  IF NOT FOUND OR e.state <> 'waiting' OR c.status NOT IN ('queued', 'reopened') THEN
    RETURN jsonb_build_object('outcome', 'skipped', 'code', 'not_waiting:' || coalesce(e.state, ''));
  END IF;
  SELECT * INTO q FROM routing_queue WHERE id = e.queue_id;
  IF q.business_hours IS NOT NULL AND q.business_hours <> '{}'::jsonb THEN
    BEGIN
      v_open := parley_queue_open(q.business_hours, q.timezone, p_now);
    EXCEPTION WHEN others THEN
      v_open := NULL;  -- a zone PostgreSQL does not know: Python's zoneinfo decides
    END;
    IF v_open IS NOT TRUE THEN
      RETURN jsonb_build_object('outcome', 'python', 'code', 'queue_closed');
    END IF;
  END IF;

  -- selectors.excluded_agents
  IF e.excluded_agent_id IS NOT NULL THEN
    v_excluded := ARRAY[e.excluded_agent_id::bigint];
  END IF;
  IF e.offers > 0 THEN
    v_excluded := v_excluded || ARRAY(
      SELECT agent_id::bigint FROM routing_reservation
      WHERE entry_id = p_entry AND state IN ('declined', 'expired')
        AND decided_at >= p_now - make_interval(secs => p_retry_after));
  END IF;
  v_skills := ARRAY(
    SELECT '%,' || replace(replace(replace(s, '\', '\\'), '%', '\%'), '_', '\_') || ',%'
    FROM jsonb_array_elements_text(coalesce(e.skills, '[]'::jsonb)) s);
  IF coalesce(e.language, '') <> '' THEN
    v_lang := '%,' || replace(replace(replace(e.language, '\', '\\'), '%', '\%'), '_', '\_') || ',%';
  END IF;

  -- Sticky routing: the previous agent first, if eligible right now.
  IF e.sticky_agent_id IS NOT NULL AND NOT (e.sticky_agent_id = ANY (v_excluded)) THEN
    WITH cands AS (
      SELECT p.id, p.user_id, p.load, p.capacity, p.idle_since, p.display_name,
             CAST(p.load AS double precision) / p.capacity AS occupancy
      FROM agents_agentpresence p
      WHERE p.user_id = e.sticky_agent_id AND p.status = 'online' AND p.load - p.capacity < 0
        AND p.live_until > p_now
        AND EXISTS (SELECT 1 FROM agents_agentprofile_queues m
                    WHERE m.agentprofile_id = p.profile_id AND m.queue_id = q.id)
        AND p.skills_tag LIKE ALL (v_skills)
        AND (v_lang IS NULL OR p.languages_tag LIKE v_lang)
    ), pick AS (
      UPDATE agents_agentpresence SET load = load + 1, last_offer_at = p_now
      WHERE id = (SELECT p.id FROM agents_agentpresence p
                  WHERE p.id = ANY (ARRAY(SELECT id FROM cands)) AND p.load < p.capacity
                  LIMIT 1 FOR UPDATE OF p SKIP LOCKED)
        AND load - capacity < 0 AND status = 'online' AND live_until > p_now
      RETURNING user_id
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
             'user_id', cands.user_id, 'load', cands.load, 'capacity', cands.capacity,
             'idle_since', cands.idle_since, 'display_name', cands.display_name,
             'occupancy', cands.occupancy)), '[]'::jsonb),
           (SELECT user_id FROM pick)
    INTO v_rows, v_picked FROM cands;
    IF v_picked IS NOT NULL THEN
      v_sticky := true;
    ELSE
      v_tried := v_tried || jsonb_build_array(jsonb_build_object(
        'agent', e.sticky_agent_id, 'skipped', 'sticky agent not eligible now'));
      v_excluded := v_excluded || e.sticky_agent_id::bigint;
    END IF;
  END IF;

  IF v_picked IS NULL THEN
    -- sql.candidates_and_pick: walk agents_presence_routing_idx in rank order, take the
    -- first candidate no parallel router holds (SKIP LOCKED), re-checked on its latest row.
    WITH cands AS (
      SELECT p.id, p.user_id, p.load, p.capacity, p.idle_since, p.display_name,
             CAST(p.load AS double precision) / p.capacity AS occupancy
      FROM agents_agentpresence p
      WHERE p.status = 'online' AND p.load < p.capacity AND p.live_until > p_now
        AND EXISTS (SELECT 1 FROM agents_agentprofile_queues m
                    WHERE m.agentprofile_id = p.profile_id AND m.queue_id = q.id)
        AND p.skills_tag LIKE ALL (v_skills)
        AND (v_lang IS NULL OR p.languages_tag LIKE v_lang)
        AND p.user_id <> ALL (v_excluded)
      ORDER BY CAST(p.load AS double precision) / p.capacity, p.load,
               p.idle_since NULLS FIRST, p.user_id
      LIMIT p_candidates
    ), pick AS (
      UPDATE agents_agentpresence SET load = load + 1, last_offer_at = p_now
      WHERE id = (SELECT p.id FROM agents_agentpresence p
                  WHERE p.id = ANY (ARRAY(SELECT id FROM cands)) AND p.load < p.capacity
                  ORDER BY CAST(p.load AS double precision) / p.capacity, p.load,
                           p.idle_since NULLS FIRST, p.user_id
                  LIMIT 1 FOR UPDATE OF p SKIP LOCKED)
        AND load - capacity < 0 AND status = 'online' AND live_until > p_now
      RETURNING user_id
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
             'user_id', cands.user_id, 'load', cands.load, 'capacity', cands.capacity,
             'idle_since', cands.idle_since, 'display_name', cands.display_name,
             'occupancy', cands.occupancy)
             ORDER BY cands.occupancy, cands.load, cands.idle_since NULLS FIRST,
                      cands.user_id), '[]'::jsonb),
           (SELECT user_id FROM pick)
    INTO v_rows, v_picked FROM cands;
    IF v_picked IS NULL THEN
      -- Nobody, or every slot raced away: the Python decision records why (staffing,
      -- the queue's limit, the ETA), in its own transaction. Nothing was written here.
      RETURN jsonb_build_object('outcome', 'python', 'code', 'nobody');
    END IF;
  END IF;

  -- The candidates as the timeline shows them (router._candidate_row), and the better
  -- ranked ones whose slot a parallel decision held.
  v_n := jsonb_array_length(v_rows);
  v_cands := '[]';
  FOR v_i IN 0 .. v_n - 1 LOOP
    v_r := v_rows -> v_i;
    v_cands := v_cands || jsonb_build_array(jsonb_build_object(
      'agent', (v_r ->> 'user_id')::bigint,
      'name', coalesce(nullif(v_r ->> 'display_name', ''), 'agent ' || (v_r ->> 'user_id')),
      'load', (v_r ->> 'load')::int, 'capacity', (v_r ->> 'capacity')::int,
      'idle_since', parley_iso((v_r ->> 'idle_since')::timestamptz)));
    IF (v_r ->> 'user_id')::bigint = v_picked THEN
      v_w := v_r;
    ELSIF v_w IS NULL AND NOT v_sticky THEN
      v_tried := v_tried || jsonb_build_array(
        (v_cands -> v_i) || jsonb_build_object('skipped', 'slot taken by a parallel decision'));
    END IF;
  END LOOP;
  v_name := coalesce(nullif(v_w ->> 'display_name', ''), 'agent ' || v_picked);

  -- router._why
  v_load := (v_w ->> 'load') || '/' || (v_w ->> 'capacity') || ' chats';
  IF v_sticky THEN
    v_why := 'previous agent of this conversation (sticky routing), ' || v_load;
  ELSE
    v_r := NULL;
    FOR v_i IN 0 .. v_n - 1 LOOP
      IF (v_rows -> v_i ->> 'user_id')::bigint <> v_picked THEN
        v_r := v_rows -> v_i;
        EXIT;
      END IF;
    END LOOP;
    IF v_r IS NULL THEN
      v_why := 'the only eligible agent, ' || v_load;
    ELSE
      IF (v_w ->> 'occupancy')::double precision < (v_r ->> 'occupancy')::double precision THEN
        v_why := 'least occupied';
      ELSIF (v_w ->> 'load')::int < (v_r ->> 'load')::int THEN
        v_why := 'as occupied as the next but with fewer chats';
      ELSIF coalesce((v_w ->> 'idle_since')::timestamptz, '-infinity')
            < coalesce((v_r ->> 'idle_since')::timestamptz, 'infinity') THEN
        v_why := 'as occupied as the next, idle longest';
      ELSE
        v_why := 'tied with the next; lowest agent id';
      END IF;
      v_why := v_why || ' of '
        || CASE WHEN v_n >= p_candidates THEN v_n || '+' ELSE v_n::text END
        || ' eligible agents, ' || v_load;
    END IF;
  END IF;

  -- router._offer / sql.offer_write
  v_attempt := e.offers + 1;
  v_expires := p_now + make_interval(secs => q.offer_timeout_seconds);
  INSERT INTO routing_reservation (entry_id, conversation_id, queue_id, agent_id, state,
    attempt, sticky, offered_at, expires_at, decided_at, end_reason)
  VALUES (e.id, c.id, e.queue_id, v_picked, 'offered', v_attempt, v_sticky, p_now, v_expires,
    NULL, '')
  RETURNING id INTO v_res;
  UPDATE routing_queueentry SET state = 'offered', offers = v_attempt,
    first_offered_at = coalesce(e.first_offered_at, p_now), last_routed_at = p_now,
    last_nobody_reason = ''
  WHERE id = e.id;
  UPDATE chat_conversation SET status = 'offered', updated_at = p_wall WHERE id = c.id;
  INSERT INTO chat_conversationevent (conversation_id, type, from_status, to_status, reason,
    actor, data, created_at)
  VALUES
    (c.id, 'status_changed', c.status, 'offered', left('offered to ' || v_name, 200), p_actor,
     jsonb_build_object('agent', v_picked, 'reservation', v_res), p_wall),
    (c.id, 'routing.decision', '', '', left('offered to ' || v_name || ': ' || v_why, 200),
     p_actor, jsonb_build_object(
       'outcome', 'offered', 'queue', q.id, 'entry', e.id, 'attempt', v_attempt,
       'agent', v_picked, 'sticky', v_sticky, 'why', v_why, 'eligible', v_n,
       'eligible_at_least', v_n >= p_candidates, 'candidates', v_cands,
       'excluded', to_jsonb(ARRAY(SELECT DISTINCT x FROM unnest(v_excluded) x ORDER BY x)),
       'tried', v_tried,
       'order', jsonb_build_object('priority', e.priority, 'queue_priority', e.queue_priority,
         'sla_due_at', parley_iso(e.sla_due_at), 'enqueued_at', parley_iso(e.enqueued_at),
         'mode', e.mode),
       'expires_at', parley_iso(v_expires), 'reservation', v_res),
     p_wall);

  -- What the caller publishes: the conversation (as now), its participants with names.
  RETURN jsonb_build_object(
    'outcome', 'offered', 'agent', v_picked, 'reservation', v_res, 'sticky', v_sticky,
    'why', v_why, 'attempt', v_attempt, 'expires_at', v_expires, 'note', e.note,
    'candidates', v_rows,
    'queue', jsonb_build_object('id', q.id, 'name', q.name),
    'conversation_queue_name', CASE WHEN c.queue_id = q.id THEN q.name
      ELSE (SELECT name FROM routing_queue WHERE id = c.queue_id) END,
    'conversation', to_jsonb(c) || jsonb_build_object('status', 'offered', 'updated_at', p_wall),
    'participants', (
      SELECT coalesce(jsonb_agg(jsonb_build_array(
        pa.id, pa.role, pa.customer_id, pa.user_id, pa.delivered_seq, pa.read_seq,
        pa.language, pa.left_at, cu.name, cu.email, u.{username}, u.first_name, u.last_name)
        ORDER BY pa.id), '[]'::jsonb)
      FROM chat_participant pa
      LEFT JOIN chat_customer cu ON cu.id = pa.customer_id
      LEFT JOIN {user_table} u ON u.id = pa.user_id
      WHERE pa.conversation_id = c.id));
END
$fn$;
"""

DROP = """
DROP FUNCTION IF EXISTS parley_route_entry(bigint, timestamptz, timestamptz, boolean,
    double precision, integer, text);
DROP FUNCTION IF EXISTS parley_queue_open(jsonb, text, timestamptz);
DROP FUNCTION IF EXISTS parley_iso(timestamptz);
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    User = apps.get_model(settings.AUTH_USER_MODEL)
    username = User._meta.get_field(getattr(User, "USERNAME_FIELD", "username")).column
    # params=None: the SQL is sent as written (no %-interpolation of its LIKE patterns).
    schema_editor.execute(ISO, params=None)
    route = ROUTE.replace("{username}", username).replace("{user_table}", User._meta.db_table)
    schema_editor.execute(route, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0003_queue_moderation_policy"),
        ("agents", "0003_presence_routing_index"),
        ("chat", "0002_language_pipeline"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create, drop)]
