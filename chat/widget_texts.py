"""Every text the customer widget shows, from Django's gettext catalogs.

The frame page (chat.widget_frame) renders these in the visitor's language and hands them to
the widget's modules as JSON, so the static files carry no language and stay cacheable
forever under their hashed names. ``%(name)s`` placeholders are filled by the widget.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

TEXTS = {
    "title": _("Chat with us"),
    "open_chat": _("Open chat"),
    "close_chat": _("Close chat"),
    "unread": _("%(count)s unread"),
    "empty_title": _("Hi there!"),
    "empty_body": _(
        "Ask us anything about products, orders or delivery. We usually reply in a few minutes."
    ),
    "conversation": _("Conversation"),
    "pending": _("Messages being sent"),
    "your_message": _("Your message"),
    "placeholder": _("Write a message…"),
    "send": _("Send message"),
    "powered": _("Powered by Parley"),
    "system": _("System"),
    "answers": _("Answers"),
    # The bot's "Talk to someone" button (id parley:person), redrawn in the widget's language
    # after Parley.setLocale(); the same words as bots/data/person_request.json's button_label.
    "button_person": _("Talk to someone"),
    "show_original": _("Show original"),
    "show_translation": _("Show translation"),
    "masked": _("Some words were hidden"),
    "status_idle": _("We usually reply in a few minutes"),
    "status_assigned": _("You are chatting with %(name)s"),
    "status_waiting": _("Waiting for an agent…"),
    "status_bot": _("Our assistant is here to help"),
    "status_closed": _("Conversation closed. Write to start a new one"),
    "unavailable": _("Chat unavailable: %(reason)s"),
    "not_available": _("The chat is not available."),
    "cannot_use": _("This chat cannot be used on this page."),
    "reconnecting": _("Connection lost. Reconnecting… your messages will be sent."),
    "typing_one": _("%(names)s is typing…"),
    "typing_many": _("%(names)s are typing…"),
    # The queue banner, from queue.position's fields (routing.selectors words it in English).
    "queue_next": _("You're next in line."),
    "queue_number": _("You're number %(position)s in line."),
    "queue_eta_one": _("Estimated wait: about 1 minute."),
    "queue_eta": _("Estimated wait: about %(minutes)s minutes."),
    "offline_closed": _(
        "We're closed right now. Leave your message here and we'll answer when we open; "
        "you'll see the reply when you come back."
    ),
    "offline_over_limit": _(
        "All our agents are busy. Leave your message here and we'll answer as soon as we can; "
        "you'll see the reply when you come back."
    ),
    "offline_no_agents": _(
        "No agent is available right now. Leave your message here and we'll answer as soon "
        "as we can; you'll see the reply when you come back."
    ),
    # The pre-chat form (static/parley/widget/prechat.js; fields from Site.prechat_form).
    "prechat_intro": _("Before we start, tell us a little about you."),
    "prechat_name": _("Your name"),
    "prechat_email": _("Your email"),
    "prechat_consent": _("I agree that my details are used to answer my request."),
    "prechat_start": _("Start the chat"),
    "optional": _("(optional)"),
    # An offline message (queue closed or over its limit): where to answer.
    "offline_email": _("Your email, so that we can answer you there too"),
    "offline_thanks": _("Thanks! We'll answer at %(email)s."),
    # After an agent's chat (static/parley/widget/feedback.js).
    "csat_question": _("How was your chat with %(name)s?"),
    "star_one": _("1 star"),
    "stars": _("%(count)s stars"),
    "csat_comment": _("Anything to add? (optional)"),
    "csat_send": _("Send rating"),
    "csat_thanks": _("Thank you for your rating!"),
    "transcript_label": _("Email me the transcript"),
    "transcript_send": _("Send"),
    "transcript_sent": _("The transcript is on its way to %(email)s."),
    # A rating, transcript or offline address that got no answer (offline, a server error).
    "feedback_failed": _("Not sent. Please try again."),
    "emoji": _("Emoji"),
    # Attachments (static/parley/widget/attach.js).
    "attach": _("Attach a file"),
    "attach_type": _("%(name)s: this type of file can't be sent here."),
    "attach_too_large": _("%(name)s is too large to send."),
    "attach_unsafe": _("%(name)s was refused: it could not be checked as safe."),
    "attach_empty": _("%(name)s is empty."),
    "attach_off": _("Files can't be sent in this chat."),
    "attach_too_many": _("Too many files in one message."),
    "attach_failed": _("%(name)s could not be sent. Please try again."),
    "tick_sending": _("Sending"),
    "tick_sent": _("Sent"),
    "tick_delivered": _("Delivered"),
    "tick_read": _("Read"),
    "tick_failed": _("Not sent"),
    # Why the server refused a message, by its error code (static/parley/widget/render.js).
    "failed_blocked": _("This message can't be sent: please rephrase it."),
    "failed_invalid": _("This message can't be sent as it is."),
    "failed_too_long": _("This message is too long. Shorten it and send it again."),
    "failed_rate_limited": _("Too many messages at once. Wait a moment and send it again."),
    "failed_attachment": _("A file of this message is no longer available. Attach it again."),
    "failed_gone": _("This conversation is no longer available. Send your message again."),
    "failed_dismiss": _("Remove this message"),
    # Timeline lines (a message of kind "event" whose data.line names one of these): said in
    # the customer's language; the stored body is the English the agents read.
    "line_joined": _("%(name)s joined the conversation."),
    "line_left": _("%(name)s left the conversation."),
    "line_transferred": _("Your conversation was transferred to %(to)s."),
    "line_transferred_team": _("Your conversation was transferred to another team."),
    "line_resolved": _("Conversation resolved by %(by)s."),
    "line_resolved_you": _("You closed the conversation."),
    "line_resolved_bot": _("Conversation closed by the assistant."),
    "line_resolved_plain": _("Conversation resolved."),
    "line_reopened": _("Conversation reopened."),
    "line_left_queue": _("You left the queue."),
    "line_agent_gone": _(
        "%(name)s is no longer available. We're finding someone else to help you."
    ),
    "line_closed_left": _("Conversation closed: you left."),
}


def widget_texts() -> dict[str, str]:
    """The texts in the active language."""
    return {key: str(value) for key, value in TEXTS.items()}
