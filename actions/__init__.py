"""The top layer: flows that cross apps (a customer's send that advances the bot, a start
that greets or enqueues, a resolve that frees the agent's slot, a console's presence that
wakes the router). Nothing imports this package but entry points: views, consumers,
admin actions, tasks and management commands (see .importlinter)."""
