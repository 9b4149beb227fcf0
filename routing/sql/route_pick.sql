-- The router's pick on PostgreSQL: who gets a waiting conversation, in one call.
--
-- routing/services/decision.py runs it (ROUTING_SERVER_DECISIONS, on by default) in place of
-- the statements of its Python pick (sql.lock_for_decision, selectors.excluded_agents and
-- sql.candidates_and_pick), which SQLite always runs. Everything after the pick (the offer's
-- rows, the reason, the timeline, the frames, or why nobody) is Python, the same code for
-- both. tests/routing/test_router.py runs every rule both ways and
-- tests/routing/test_server_decision.py compares the two on one floor.
--
-- Installed, idempotently, by routing/dbfunctions.py: after every `manage.py migrate` and by
-- `manage.py install_routing_sql`. {username} and {user_table} are filled in from the user
-- model when it is installed. Never copy this into a migration: change it here.

-- Earlier versions: the whole decision and its ISO text helper (routing migration 0004),
-- and the pick before the language rule (five arguments).
DROP FUNCTION IF EXISTS parley_route_entry(bigint, timestamptz, timestamptz, boolean,
    double precision, integer, text);
DROP FUNCTION IF EXISTS parley_iso(timestamptz);
DROP FUNCTION IF EXISTS parley_route_pick(bigint, timestamptz, boolean, double precision,
    integer);

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

-- Returns {"outcome": "skipped", "code"} (locked elsewhere with p_skip_locked, gone, not
-- waiting), else the locked rows the Python side goes on with (conversation, participants,
-- entry, queue) and one of:
--   "decide": the queue is closed (by its hours, or by a supervisor to what arrived since), or
--     its time zone is unknown here: Python decides;
--   "picked": "agent" got a chat slot (load + 1), "sticky" says whether as the previous agent;
--   "nobody": no slot taken (nobody eligible, or every free slot raced away).
-- with "rows" (the ranked candidates), "excluded" and "sticky_skipped" (the previous agent
-- was tried and was not eligible). It takes the slot and nothing else: the caller writes
-- the offer in the same transaction.
--
-- The language rule (routing/services/language.py, its one home in Python): with the
-- conversation's language settled, "prefer" (translation works: speakers first, then
-- anyone), "require" (it does not: speakers only) until the entry has waited
-- p_language_wait seconds, then "relaxed" (speakers first, then anyone). It answers
-- "language_rule", "language" and "language_phase" (the language filter of the pass that
-- ended the pick, null for "anyone").
--
-- The slot's UPDATE (and the sticky agent's lookup) say "load - capacity < 0", not
-- "load < capacity": with the latter its WHERE implies agents_presence_routing_idx's
-- predicate, and the generic plan a function's statement settles on walked that whole
-- partial index filtering on id (1,000 rows, 0.3 ms a decision, in bench/routing_sim.py's
-- day) instead of looking the row up by primary key.
CREATE OR REPLACE FUNCTION parley_route_pick(
    p_entry bigint, p_now timestamptz, p_skip_locked boolean,
    p_retry_after double precision, p_candidates integer,
    p_translation_ok boolean, p_language_wait double precision
) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  c chat_conversation%ROWTYPE;
  e routing_queueentry%ROWTYPE;
  q routing_queue%ROWTYPE;
  v_open boolean := true;
  v_excluded bigint[] := '{}';
  v_skills text[];
  v_lang text;
  v_rows jsonb := '[]';
  v_picked bigint;
  v_sticky boolean := false;
  v_sticky_skipped boolean := false;
  v_outcome text;
  v_pref text;
  v_rule text := 'none';
  v_phase int;
  v_phase_lang text;
  v_phase_like text;
  v_phase_used text;
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
  END IF;

  -- routing.models.Queue.closed_to_new, for an entry that arrived while it was closed
  -- (decision._arrived_while_closed): a new arrival (its first decision), or one kept as an
  -- offline message because its queue was closed, held until the queue opens; Python's
  -- _decide says no. What was waiting before the close is still served, and so is a
  -- conversation back in line after being served (routing_queueentry.returning).
  IF v_open IS NOT TRUE
     OR (q.limit_mode = 'fixed' AND q.max_waiting = 0
         AND ((e.mode = 'live' AND e.last_routed_at IS NULL AND NOT e.returning)
              OR (e.mode = 'offline' AND e.mode_reason = 'closed'))) THEN
    v_outcome := 'decide';
  ELSE
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
    -- sql._like: each tag as a LIKE pattern on the ",a,b," tag columns.
    v_skills := ARRAY(
      SELECT '%,' || replace(replace(replace(s, '\', '\\'), '%', '\%'), '_', '\_') || ',%'
      FROM jsonb_array_elements_text(coalesce(e.skills, '[]'::jsonb)) s);
    IF coalesce(e.language, '') <> '' THEN
      v_lang := '%,' || replace(replace(replace(e.language, '\', '\\'), '%', '\%'), '_', '\_') || ',%';
    END IF;
    -- language.rule_for: chat.pipeline.languages.base_language of the settled language.
    IF c.language_settled_at IS NOT NULL THEN
      v_pref := lower(split_part(replace(btrim(coalesce(c.language, '')), '_', '-'), '-', 1));
    END IF;
    IF coalesce(v_pref, '') <> '' THEN
      IF p_translation_ok THEN
        v_rule := 'prefer';
      ELSIF p_now < e.enqueued_at + make_interval(secs => p_language_wait) THEN
        v_rule := 'require';
      ELSE
        v_rule := 'relaxed';
      END IF;
    ELSE
      v_pref := NULL;
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
          AND (v_rule <> 'require' OR p.languages_tag LIKE
               '%,' || replace(replace(replace(v_pref, '\', '\\'), '%', '\%'), '_', '\_') || ',%')
      ), pick AS (
        UPDATE agents_agentpresence SET load = load + 1, last_offer_at = p_now
        WHERE id = (SELECT p.id FROM agents_agentpresence p
                    WHERE p.id = ANY (ARRAY(SELECT id FROM cands)) AND p.load < p.capacity
                    LIMIT 1 FOR UPDATE OF p SKIP LOCKED)
          AND load - capacity < 0 AND status = 'online' AND live_until > p_now
        RETURNING user_id
      )
      SELECT coalesce(jsonb_agg(jsonb_build_array(cands.id, cands.user_id, cands.load,
               cands.capacity, cands.idle_since, cands.display_name, cands.occupancy)),
               '[]'::jsonb),
             (SELECT user_id FROM pick)
      INTO v_rows, v_picked FROM cands;
      IF v_picked IS NOT NULL THEN
        v_sticky := true;
        v_phase_used := CASE WHEN v_rule = 'require' THEN v_pref END;
      ELSE
        v_sticky_skipped := true;
        v_excluded := v_excluded || e.sticky_agent_id::bigint;
      END IF;
    END IF;

    -- One pass per language filter of the rule (LanguageRule.phases): speakers, then anyone.
    v_phase := CASE WHEN v_rule = 'none' THEN 2 ELSE 1 END;
    WHILE v_picked IS NULL AND v_phase <= 2 LOOP
      v_phase_lang := CASE WHEN v_phase = 1 THEN v_pref END;
      v_phase_like := CASE WHEN v_phase = 1 THEN
        '%,' || replace(replace(replace(v_pref, '\', '\\'), '%', '\%'), '_', '\_') || ',%' END;
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
          AND (v_phase_like IS NULL OR p.languages_tag LIKE v_phase_like)
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
      SELECT coalesce(jsonb_agg(jsonb_build_array(cands.id, cands.user_id, cands.load,
               cands.capacity, cands.idle_since, cands.display_name, cands.occupancy)
               ORDER BY cands.occupancy, cands.load, cands.idle_since NULLS FIRST,
                        cands.user_id), '[]'::jsonb),
             (SELECT user_id FROM pick)
      INTO v_rows, v_picked FROM cands;
      v_phase_used := v_phase_lang;
      EXIT WHEN v_rule = 'require';
      v_phase := v_phase + 1;
    END LOOP;
    v_outcome := CASE WHEN v_picked IS NULL THEN 'nobody' ELSE 'picked' END;
  END IF;

  RETURN jsonb_build_object(
    'outcome', v_outcome, 'agent', v_picked, 'sticky', v_sticky,
    'sticky_skipped', v_sticky_skipped, 'rows', v_rows,
    'language_rule', v_rule, 'language', v_pref, 'language_phase', v_phase_used,
    'excluded', to_jsonb(ARRAY(SELECT DISTINCT x FROM unnest(v_excluded) x ORDER BY x)),
    'conversation', to_jsonb(c),
    'conversation_queue_name', CASE WHEN c.queue_id = q.id THEN q.name
      ELSE (SELECT name FROM routing_queue WHERE id = c.queue_id) END,
    'entry', to_jsonb(e),
    'queue', to_jsonb(q),
    -- sql.PARTICIPANT_KEYS, in order.
    'participants', (
      SELECT coalesce(jsonb_agg(jsonb_build_array(
        pa.id, pa.role, pa.customer_id, pa.user_id, pa.delivered_seq, pa.read_seq,
        pa.language, pa.left_at, cu.name, cu.email, u.{username}, u.first_name, u.last_name,
        ap.id, ap.display_name)
        ORDER BY pa.id), '[]'::jsonb)
      FROM chat_participant pa
      LEFT JOIN chat_customer cu ON cu.id = pa.customer_id
      LEFT JOIN {user_table} u ON u.id = pa.user_id
      LEFT JOIN agents_agentprofile ap ON ap.user_id = pa.user_id
      WHERE pa.conversation_id = c.id));
END
$fn$;
