-- A customer's or an agent's message.send on PostgreSQL, in one call.
--
-- chat/services/send_server.py runs it (SERVER_SENDS, on by default) in place of the
-- statements of lifecycle.message_post's ORM path (the lock, the participants, the
-- client_msg_id check, the insert, the conversation's and the sender's updates), which
-- SQLite always runs, and which PostgreSQL runs for a send with attachments, a body the
-- word lists match, and every case answered here with "fallback". Everything after the
-- insert (the frames, the pipeline's queue, the hooks, the bot's step) is Python, the same
-- code for both. tests/chat/test_send_server.py runs the same sends both ways and compares
-- every stored field, the returned values and the frames.
--
-- Installed, idempotently, by chat/dbfunctions.py: after every `manage.py migrate` and by
-- `manage.py install_chat_sql`. {user_table}, {profile_table} and {queue_table} are filled
-- in from the models when it is installed. Never copy this into a migration: change it here.
--
-- Arguments: the conversation; the actor (p_customer for a customer, p_user for an agent,
-- exactly one of them); the cleaned client_msg_id, body and data; p_moderate: whether
-- moderation runs at all (the pipeline is on) for a body the caller found no word-list
-- match in; p_pipeline: the message's initial pipeline state; p_now: its created_at.
--
-- Returns {"outcome": "fallback"} when the ORM path must answer (no such conversation for
-- this actor, the actor writes as nobody in it, or it is closed: the errors and the reopen
-- stay Python's, raised or done there on the same locked row), else the locked rows:
--   "existing": a retry of a stored client_msg_id: "message" and "conversation" (nothing
--   written);
--   "created": the message inserted with the next seq, the conversation's last_seq,
--   last_message_at and awaiting_since set, the sender's cursors moved to it: "message",
--   "conversation" (after the update) with its "site", "customer", "queue", "assignee",
--   "sender" (the participant's id) and "participants": the active ones as the send read
--   them before its own update, each with its customer, user (no password) and profile.
CREATE OR REPLACE FUNCTION parley_message_send(
    p_conversation bigint, p_customer bigint, p_user bigint, p_client_msg_id text,
    p_body text, p_data jsonb, p_moderate boolean, p_pipeline text, p_now timestamptz
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  c chat_conversation%ROWTYPE;
  s chat_participant%ROWTYPE;
  m chat_message%ROWTYPE;
  v_site jsonb;
  v_participants jsonb;
  v_moderation text := 'skipped';
BEGIN
  -- The row lock serialises the senders of one conversation (seq order is commit order,
  -- and two retries of one client_msg_id cannot both insert). A customer locks only their
  -- own conversation (chat.services.conversation_lock's customer_id).
  SELECT * INTO c FROM chat_conversation
  WHERE id = p_conversation AND (p_customer IS NULL OR customer_id = p_customer)
  FOR UPDATE;
  IF NOT FOUND THEN
    RETURN '{"outcome": "fallback"}'::jsonb;
  END IF;
  -- The participant the actor writes as (chat.selectors.participant_pick_for_actor): a
  -- customer their own, an agent an agent participant; active ones only. An active agent
  -- participant also makes the conversation visible to that agent
  -- (chat.selectors._visible_conversations), so no other check is needed for them.
  SELECT * INTO s FROM chat_participant
  WHERE conversation_id = c.id AND left_at IS NULL
    AND CASE WHEN p_customer IS NOT NULL THEN customer_id = p_customer
             ELSE user_id = p_user AND role = 'agent' END
  ORDER BY id LIMIT 1;
  IF NOT FOUND THEN
    RETURN '{"outcome": "fallback"}'::jsonb;
  END IF;
  SELECT * INTO m FROM chat_message
  WHERE conversation_id = c.id AND sender_id = s.id AND client_msg_id = p_client_msg_id;
  IF FOUND THEN
    RETURN jsonb_build_object('outcome', 'existing', 'message', to_jsonb(m),
                              'conversation', to_jsonb(c));
  END IF;
  -- lifecycle.CLOSED: a customer's message reopens it, an agent's is refused (Python).
  IF c.status IN ('resolved', 'abandoned') THEN
    RETURN '{"outcome": "fallback"}'::jsonb;
  END IF;

  SELECT to_jsonb(x) INTO v_site FROM chat_site x WHERE x.id = c.site_id;
  -- chat.services.moderation._moderated, for a text: a customer's always, an agent's when
  -- the site says so. The caller found nothing the lists match: "clean" when moderated.
  IF p_moderate AND (s.role = 'customer'
                     OR (s.role = 'agent' AND (v_site ->> 'moderate_agent_messages')::boolean)) THEN
    v_moderation := 'clean';
  END IF;
  -- chat.services.fanout.viewers' read: the active participants (the audience), before
  -- the sender's cursors move below; only people (the bot and system participants have no
  -- socket group: viewers drops them).
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'p', to_jsonb(p), 'customer', to_jsonb(cu), 'user', to_jsonb(u) - 'password',
           'profile', to_jsonb(ap)) ORDER BY p.id), '[]'::jsonb)
    INTO v_participants
  FROM chat_participant p
  LEFT JOIN chat_customer cu ON cu.id = p.customer_id
  LEFT JOIN {user_table} u ON u.id = p.user_id
  LEFT JOIN {profile_table} ap ON ap.user_id = p.user_id
  WHERE p.conversation_id = c.id AND p.left_at IS NULL
    AND (p.customer_id IS NOT NULL OR p.user_id IS NOT NULL);

  -- chat.services.messages.message_create's insert (a text: no moderated copy, no flags).
  INSERT INTO chat_message (conversation_id, seq, sender_id, kind, body, body_moderated,
      moderation, moderation_flags, language, language_confidence, language_source,
      pipeline, pipeline_queued_at, pipeline_done_at, data, client_msg_id, created_at)
  VALUES (c.id, c.last_seq + 1, s.id, 'text', p_body, '', v_moderation, '[]'::jsonb, '',
      NULL, '', p_pipeline, CASE WHEN p_pipeline = 'pending' THEN p_now END, NULL, p_data,
      p_client_msg_id, p_now)
  RETURNING * INTO m;
  -- messages._awaiting_since: a customer's text starts the clock if it is not running,
  -- an agent's text stops it.
  UPDATE chat_conversation
  SET last_seq = m.seq, last_message_at = p_now,
      awaiting_since = CASE s.role WHEN 'customer' THEN coalesce(awaiting_since, p_now)
                                   WHEN 'agent' THEN NULL ELSE awaiting_since END
  WHERE id = c.id
  RETURNING * INTO c;
  -- The sender has seen their own message.
  UPDATE chat_participant SET read_seq = m.seq, delivered_seq = m.seq
  WHERE id = s.id AND read_seq < m.seq;

  RETURN jsonb_build_object(
    'outcome', 'created',
    'message', to_jsonb(m),
    'conversation', to_jsonb(c),
    'site', v_site,
    'customer', (SELECT to_jsonb(x) FROM chat_customer x WHERE x.id = c.customer_id),
    'queue', (SELECT to_jsonb(x) FROM {queue_table} x WHERE x.id = c.queue_id),
    'assignee', (SELECT to_jsonb(x) - 'password' FROM {user_table} x WHERE x.id = c.assignee_id),
    'sender', s.id,
    'participants', v_participants);
END
$$;
