"""Builders for pipeline tests: a customer and an agent in one conversation."""

from __future__ import annotations

from dataclasses import dataclass

from actions import conversations as conversation_actions
from chat import recipients
from chat.models import Conversation, Participant
from routing.services import conversation_assign
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site


@dataclass
class Chat:
    conversation: Conversation
    customer: object
    agent: object | None
    customer_participant: Participant
    agent_participant: Participant | None

    @property
    def customer_group(self) -> str:
        return recipients.customer_group(self.customer.pk)

    @property
    def agent_group(self) -> str:
        return recipients.user_group(self.agent.pk)

    def refresh(self) -> None:
        self.conversation.refresh_from_db()

    def customer_says(self, body: str, cid: str):
        message, _ = conversation_actions.message_send(
            actor=customer_actor(self.customer),
            conversation_id=self.conversation.pk,
            body=body,
            client_msg_id=cid,
        )
        return message

    def agent_says(self, body: str, cid: str):
        message, _ = conversation_actions.message_send(
            actor=agent_actor(self.agent),
            conversation_id=self.conversation.pk,
            body=body,
            client_msg_id=cid,
        )
        return message


def make_chat(
    *,
    locale: str = "fr",
    agent_languages: list[str] | None = None,
    with_agent: bool = True,
    **site_fields,
) -> Chat:
    site = make_site(**site_fields)
    customer = make_customer(site=site, locale=locale)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    agent = None
    agent_participant = None
    if with_agent:
        agent = make_agent(languages=agent_languages if agent_languages is not None else ["en"])
        conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
        agent_participant = Participant.objects.get(conversation=conversation, user=agent)
    conversation.refresh_from_db()
    return Chat(
        conversation,
        customer,
        agent,
        Participant.objects.get(conversation=conversation, customer=customer),
        agent_participant,
    )
