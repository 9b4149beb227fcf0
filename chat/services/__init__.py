"""The only code that changes conversation state or publishes conversation events.

Every service is keyword-only, typed and atomic. Events leave through chat.realtime after
commit, with payloads built here. The core knows no other app: flows that also move a bot
or a queue (a customer's send, a start, a resolve) are in actions/, which calls these.
"""

from chat.services.api_keys import (
    api_key_create,
    api_key_revoke,
    api_key_secret_generate,
    api_key_touch,
    api_key_update,
)
from chat.services.conversations import (
    conversation_lock,
    conversation_open,
    conversation_publish,
    conversation_rev_bump,
    conversation_transition,
    event_record,
)
from chat.services.feedback import csat_submit, transcript_email_send
from chat.services.identity import (
    customer_seen,
    embedding_origin,
    identity_hash,
    is_own_origin,
    visitor_session_create,
    visitor_token_issue,
)
from chat.services.lifecycle import (
    Posted,
    actor_name,
    conversation_reopen,
    conversation_reopen_locked,
    conversation_resolve,
    conversation_unresolve,
    message_post,
)
from chat.services.messages import (
    event_message_post,
    message_create,
    system_message_post,
    system_participant,
)
from chat.services.notes import note_add, note_create
from chat.services.prechat import offline_contact_leave, prechat_submit
from chat.services.receipts import receipt_update, typing_frame, typing_target
from chat.services.validation import (
    clean_body,
    clean_choice,
    clean_client_msg_id,
    clean_locale,
    clean_visit,
)

__all__ = [
    "Posted",
    "actor_name",
    "api_key_create",
    "api_key_revoke",
    "api_key_secret_generate",
    "api_key_touch",
    "api_key_update",
    "clean_body",
    "clean_choice",
    "clean_client_msg_id",
    "clean_locale",
    "clean_visit",
    "conversation_lock",
    "conversation_open",
    "conversation_publish",
    "conversation_reopen",
    "conversation_reopen_locked",
    "conversation_resolve",
    "conversation_rev_bump",
    "conversation_transition",
    "conversation_unresolve",
    "csat_submit",
    "customer_seen",
    "embedding_origin",
    "event_message_post",
    "event_record",
    "identity_hash",
    "is_own_origin",
    "message_create",
    "message_post",
    "note_add",
    "note_create",
    "offline_contact_leave",
    "prechat_submit",
    "receipt_update",
    "system_message_post",
    "system_participant",
    "transcript_email_send",
    "typing_frame",
    "typing_target",
    "visitor_session_create",
    "visitor_token_issue",
]
