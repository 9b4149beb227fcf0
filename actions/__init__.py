"""The top layer: flows that cross apps (a customer's send that advances the bot, a start
that greets or enqueues, a resolve that frees the agent's slot, a console's presence that
wakes the router). No app imports this package: the apps' entry points (consumers, REST
views, admin actions) call these flows through ``chat.flows``, which ``ActionsConfig.ready``
binds at start-up (see .importlinter)."""
