from django.apps import AppConfig


class ActionsConfig(AppConfig):
    name = "actions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        # The entry points of the apps below call these through chat.flows (they may not
        # import this package). Here, not at the top: the flows import services and models.
        from actions import agents, conversations, customers, rules, tasks, widget
        from agents.models import AgentProfile
        from chat.flows import flows
        from supervision import status

        flows.bind(
            conversation_start=conversations.conversation_start,
            conversation_start_with_message=conversations.conversation_start_with_message,
            message_send=conversations.message_send,
            conversation_resolve=conversations.conversation_resolve,
            conversation_reopen=conversations.conversation_reopen,
            conversation_unresolve=conversations.conversation_unresolve,
            conversation_update=conversations.conversation_update,
            conversation_handoff=conversations.conversation_handoff,
            queue_positions=widget.queue_positions,
            queue_position=widget.queue_position,
            console_snapshot=agents.console_snapshot,
            agent_console_connect=agents.agent_console_connect,
            agent_console_disconnect=agents.agent_console_disconnect,
            agent_heartbeat_soon=agents.agent_heartbeat_soon,
            agent_presence_set=agents.agent_presence_set,
            conversation_take=agents.conversation_take,
            conversation_transfer=agents.conversation_transfer,
            transfer_targets=agents.transfer_targets,
            customer_nudge=agents.customer_nudge,
            conversation_invite=agents.conversation_invite,
            conversation_leave=agents.conversation_leave,
            reservation_accept=agents.reservation_accept,
            reservation_decline=agents.reservation_decline,
            rules_run=rules.rules_run,
            customer_erase=customers.customer_erase,
            service_notice=status.widget_notice,
        )
        # An agent made inactive keeps no console, offer or chat (actions.agents).
        post_save.connect(agents.user_saved, sender=get_user_model(), dispatch_uid="parley-user")
        post_delete.connect(
            agents.profile_deleted, sender=AgentProfile, dispatch_uid="parley-agent-profile"
        )
        del tasks  # imported to register the Celery tasks in every process
        if flows.missing():
            raise RuntimeError(f"flows left unbound: {flows.missing()}")
