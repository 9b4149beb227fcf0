"""PostgreSQL functions kept in ``.sql`` files: installing them, for any app.

A hot path that moves into one server-side call (routing's pick, a message's send) keeps
its SQL in a file of its app, not in a migration: the functions read the latest schema of
several apps, so an old migration would install an old copy, or fail on a fresh database.
Each file is installed after every ``migrate`` that leaves the database fully migrated (a
post_migrate receiver in its app's ``ready``) and by its app's management command.
Installing is idempotent (CREATE OR REPLACE) and cheap when nothing changed: the installed
copy carries the digest of the file it came from, in the comment of one of its functions.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.migrations.executor import MigrationExecutor


@dataclass(frozen=True)
class SqlFile:
    path: Path
    signature: str  # the function whose comment carries the digest: "name(argtypes)"
    mark: str  # the comment's prefix: "parley routing sql "
    label: str  # for messages: "routing SQL"
    command: str  # the management command that installs it

    def rendered(self) -> tuple[str, str]:
        """The file's SQL for this project's models, and its digest. Placeholders:
        {username} and {user_table} (the user model); the tables of apps above the core,
        reached through the core's relations, so that the core imports none of them:
        {profile_table} (the user's ``agent_profile``), {queue_table} (a conversation's
        ``queue``)."""
        User = get_user_model()
        text = (
            self.path.read_text()
            .replace("{username}", User._meta.get_field(User.USERNAME_FIELD).column)
            .replace("{user_table}", User._meta.db_table)
        )
        if "{profile_table}" in text:
            profile = User._meta.get_field("agent_profile").related_model
            text = text.replace("{profile_table}", profile._meta.db_table)
        if "{queue_table}" in text:
            # By name: the apps' ready() import this module before the models load.
            conversation = apps.get_model("chat", "Conversation")
            queue = conversation._meta.get_field("queue").related_model
            text = text.replace("{queue_table}", queue._meta.db_table)
        return text, hashlib.sha256(text.encode()).hexdigest()[:16]

    def installed_digest(self, *, using: str = "default") -> str | None:
        """The digest of the installed copy; None when it is missing (or not ours)."""
        with connections[using].cursor() as cursor:
            cursor.execute(
                "SELECT obj_description(to_regprocedure(%s), 'pg_proc')", [self.signature]
            )
            comment = cursor.fetchone()[0] or ""
        return comment.removeprefix(self.mark) if comment.startswith(self.mark) else None

    def is_current(self, *, using: str = "default") -> bool:
        return self.installed_digest(using=using) == self.rendered()[1]

    def install(self, *, using: str = "default", force: bool = False) -> bool:
        """Install the file's functions unless the installed copy is already this file (or
        always, with ``force``). Returns whether it installed. PostgreSQL only."""
        connection = connections[using]
        if connection.vendor != "postgresql":
            return False
        text, digest = self.rendered()
        with transaction.atomic(using=using), connection.cursor() as cursor:
            # Two processes migrating at once (two containers starting): one installs, the
            # other waits here, then finds the copy current.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [self.mark.strip()])
            if not force and self.installed_digest(using=using) == digest:
                return False
            # No parameters: the SQL goes as written (its LIKE patterns hold % signs).
            cursor.execute(text)
            cursor.execute(f"COMMENT ON FUNCTION {self.signature} IS '{self.mark}{digest}'")
        return True

    def install_after_migrate(
        self, sender, *, using: str, plan=None, verbosity: int = 1, **kwargs
    ) -> None:
        """post_migrate: install once the database is fully migrated.

        A flush (plan None: the test suite's, between tests) changes no schema. A partial or
        backward ``migrate`` leaves the schema the functions read incomplete: they are left
        alone until the database is fully migrated again."""
        connection = connections[using]
        if plan is None or connection.vendor != "postgresql":
            return
        out = kwargs.get("stdout") or sys.stdout
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            if verbosity >= 1:
                out.write(
                    f"  The {self.label} is not installed: unapplied migrations remain "
                    f"(migrate fully, or run {self.command}).\n"
                )
            return
        if self.install(using=using) and verbosity >= 1:
            out.write(f"  Installed the {self.label} ({self.path.name}).\n")


# The core's own: a customer's or an agent's send in one call (chat/services/send_server.py).
SEND_SQL = SqlFile(
    path=Path(__file__).resolve().parent / "sql" / "message_send.sql",
    signature=(
        "parley_message_send(bigint, bigint, bigint, text, text, jsonb, boolean, text, timestamptz)"
    ),
    mark="parley chat sql ",
    label="chat SQL",
    command="install_chat_sql",
)
